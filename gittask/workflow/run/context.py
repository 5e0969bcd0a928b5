"""What every stage of one run shares: the request, the preflight, the signal guard, the logs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gittask.config import ProjectConfig, remote_of
from gittask.runner.credentials import CredentialFiles
from gittask.runner.logs import RunLogs, Scrubber
from gittask.store.sync import MAX_PUSH_ATTEMPTS
from gittask.workflow import claims, lease
from gittask.workflow.run.signals import SignalGuard

#: pushes of a worker's record and result before it gives up (other workers push too)
LEASED_PUSH_ATTEMPTS = 40

if TYPE_CHECKING:
    from gittask.model import TaskMetadata
    from gittask.store.database import TaskDatabase
    from gittask.workflow.run.handoffs import Preflight, RunRequest


@dataclass
class RunContext:
    db: TaskDatabase
    request: RunRequest
    pre: Preflight
    remote: str  # where the work branch is pushed (config ``remote``)
    sync_remote: str | None  # sync.auto: where the claim and the result are published
    scrub: Scrubber  # masks the credential values in everything written or shown
    guard: SignalGuard = field(default_factory=SignalGuard)

    # What the run holds now, for the failure paths and the cleanup. Set by the stages:
    task: TaskMetadata | None = None  # claim: the record; execute: as it says `running`
    run: int = 0  # claim: this run's number
    logs: RunLogs | None = None  # prepare: the run's log folder (until cleanup)
    credential_files: CredentialFiles | None = None  # prepare..execute: the agent's credentials
    recorded_running: bool = False  # execute..record: the record says `running` for us
    discard_logs: bool = False  # the claim was lost to another clone: this run never was

    @classmethod
    def open(cls, db: TaskDatabase, request: RunRequest, pre: Preflight) -> RunContext:
        return cls(
            db=db,
            request=request,
            pre=pre,
            remote=remote_of(pre.config),
            sync_remote=claims.sync_remote(db, pre.config),
            scrub=Scrubber(pre.credentials.values()),
        )

    @property
    def config(self) -> ProjectConfig:
        return self.pre.config

    def say(self, message: str) -> None:
        """A progress line, to the user and to execution.log."""
        message = self.scrub.text(message)
        if self.logs is not None:
            self.logs.event(message)
        self.request.say(message)

    def log(self, message: str) -> None:
        """A line in execution.log only."""
        if self.logs is not None:
            self.logs.event(message)

    def check_lease(self, task: TaskMetadata) -> None:
        """A worker's run writes its record only while its lease holds (else LeaseLost)."""
        lease.check(task, self.request.lease)

    def remote_guard(self) -> Callable[[], None] | None:
        """For the pushes of a worker's run: refuse when the remote's lease is another's."""
        if self.request.lease is None or self.sync_remote is None:
            return None
        return lease.remote_guard(self.db, self.sync_remote, self.request.lease)

    @property
    def push_attempts(self) -> int:
        """A worker's run shares the remote with other workers: it keeps trying longer."""
        return LEASED_PUSH_ATTEMPTS if self.request.lease is not None else MAX_PUSH_ATTEMPTS

    def git_env(self) -> dict[str, str] | None:
        """A detached run has no terminal: git must not ask for a password."""
        return {"GIT_TERMINAL_PROMPT": "0"} if self.request.detached else None
