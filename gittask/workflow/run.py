"""The run shared by ``task create``, ``task start`` and ``task continue``.

    preflight   agent settings and credentials, Docker engine, image   (record untouched)
    claim       live-run marker (under a file lock): one run per task at a time
    prepare     base branch, branch plan, worktree, prompt, container   (record untouched)
    running     record ``running`` with the container id; start; stream; timeouts
    harvest     objects, HEAD, commit leftovers (Task-Id trailer), notes, branch, push
    record      ``created``/``continued`` or ``failed`` with error_message
    cleanup     container removed, worktree removed, marker released: always

SIGINT/SIGTERM/SIGHUP stop the container, keep whatever the agent did on the
local branch, record ``failed`` ("interrupted"), clean up and exit 130. Once the
agent's output has ended, a signal is only remembered until its work is on the
local branch (and the push is done), and is checked after each such step.

Nothing the agent wrote is trusted: its worktree's git folder is reclaimed
before host git runs there (see ``runner/worktree.py``), new commits holding a
credential value are refused (the branch is not moved, nothing is pushed), and
credential values in files left in the agent's state folder are masked.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shlex
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, Literal

from gittask.config import ProjectConfig, load_config, remote_of
from gittask.errors import GittaskError
from gittask.model import TaskMetadata, TaskStatus
from gittask.model.clock import utcnow
from gittask.runner import live, naming
from gittask.runner import worktree as wt
from gittask.runner.agents import (
    DEFAULT_PROMPT_FILE,
    WORKDIR,
    Agent,
    AgentOutcome,
    AgentOutput,
    AgentRun,
    AgentSettings,
    credentials_for,
    get_agent,
)
from gittask.runner.container import RunInterrupted
from gittask.runner.logs import AGENT_LOG as AGENT_LOG_NAME
from gittask.runner.logs import EXECUTION_LOG as EXECUTION_LOG_NAME
from gittask.runner.logs import RunLogs, Scrubber, scrub_folder
from gittask.store.database import TaskDatabase
from gittask.workflow import claims, hooks, tasklogs

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.containers import Container

RunKind = Literal["create", "continue"]

#: The container's view of the run's scratch folder.
OBJECTS_IN_CONTAINER = "/run/gittask/objects"
#: Seconds a Claude run may keep running after its result event.
DEFAULT_RESULT_GRACE = 10.0
RESULT_GRACE_ENV = "GITTASK_RESULT_GRACE_SECONDS"


class RunFailed(GittaskError):
    """The run happened and failed; the record says failed with the same message."""

    def __init__(self, message: str, task: TaskMetadata | None = None) -> None:
        super().__init__(message)
        self.task = task


class RunAborted(GittaskError):
    """Interrupted by a signal (exit 130)."""

    exit_code = 130


@dataclass
class RunRequest:
    task_id: str
    kind: RunKind = "create"
    feedback_id: str | None = None
    show: Callable[[str], None] = lambda line: None  # the live view of the agent's output
    say: Callable[[str], None] = lambda line: None  # the tool's own progress lines
    detached: bool = False


@dataclass
class RunResult:
    task: TaskMetadata
    success: bool
    run: int
    error: str | None = None
    commits: list[str] = field(default_factory=list)
    pushed: bool = False
    notes: list[str] = field(default_factory=list)
    interrupted: bool = False


# -- signals ---------------------------------------------------------------------------


class SignalGuard:
    """Turns SIGINT/SIGTERM/SIGHUP into ``RunInterrupted`` in the main thread.

    Three modes: ``raise`` (the default) raises ``RunInterrupted`` wherever the
    main thread is; ``defer`` (:meth:`defer`, :meth:`deferred`) only remembers
    the signal in ``received``, which the caller checks when the step is done
    (:meth:`check` raises it then); ``ignore`` (final cleanup) only remembers.
    At most one ``RunInterrupted`` is ever raised.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def __init__(self) -> None:
        self.received: str | None = None
        self._mode = "raise"
        self._raised = False
        self._old: dict[int, Any] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        self.received = self.received or name
        if self._mode == "raise" and not self._raised:
            self._raised = True
            raise RunInterrupted(self.received)

    def check(self) -> None:
        """Raise ``RunInterrupted`` for a signal remembered and not raised yet."""
        if self.received is not None and not self._raised:
            self._raised = True
            raise RunInterrupted(self.received)

    def defer(self) -> None:
        """From now on a signal is only remembered (until :meth:`allow`)."""
        if self._mode != "ignore":
            self._mode = "defer"

    def allow(self) -> None:
        """Back to raising; a signal remembered meanwhile is raised now."""
        if self._mode != "ignore":
            self._mode = "raise"
            self.check()

    def install(self) -> None:
        import threading

        if threading.current_thread() is not threading.main_thread():
            return
        for sig in self.SIGNALS:
            with contextlib.suppress(ValueError, OSError):
                self._old[sig] = signal.signal(sig, self._handle)

    def restore(self) -> None:
        for sig, old in self._old.items():
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(sig, old)
        self._old.clear()

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        """Signals inside the block are only remembered (see ``received``)."""
        previous, self._mode = self._mode, "defer"
        try:
            yield
        finally:
            if self._mode == "defer":
                self._mode = previous

    def ignore(self) -> None:
        self._mode = "ignore"


# -- small helpers ---------------------------------------------------------------------


def agent_settings(config: ProjectConfig) -> AgentSettings:
    return AgentSettings(
        command=config["agent_command"],
        model=config["model"],
        max_turns=config["max_turns"],
        max_budget_usd=config["max_budget_usd"],
        max_retries=config["max_retries"],
        append_system_prompt=config["append_system_prompt"],
        pass_env=tuple(config["env"] or ()),
    )


def image_name(db: TaskDatabase, config: ProjectConfig) -> str:
    return str(config["image"] or naming.default_image_tag(db.repo))


def agent_state_dir(db: TaskDatabase, task_id: str) -> Path:
    """The per-task folder mounted at the agent's ``state_dir`` (Claude's transcripts)."""
    return db.repo.state_dir / "agent-state" / task_id


def _transcript_exists(state_dir: Path, session_id: str) -> bool:
    project = WORKDIR.replace("/", "-")
    return (state_dir / "projects" / project / f"{session_id}.jsonl").is_file()


def _agent_executable(agent: Agent, settings: AgentSettings) -> str:
    if agent.name == "command" and settings.command:
        try:
            words = shlex.split(settings.command)
        except ValueError:
            words = settings.command.split()
        return words[0] if words else settings.command
    return str(getattr(agent, "executable", agent.name))


def _result_grace() -> float:
    try:
        return max(0.0, float(os.environ.get(RESULT_GRACE_ENV, DEFAULT_RESULT_GRACE)))
    except ValueError:
        return DEFAULT_RESULT_GRACE


def _one_line(text: str, limit: int = 400) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


@dataclass
class Preflight:
    config: ProjectConfig
    agent: Agent
    settings: AgentSettings
    image: str
    client: DockerClient
    credentials: dict[str, str]


def preflight(db: TaskDatabase, config: ProjectConfig | None = None) -> Preflight:
    """Everything that can be checked before touching the task: nothing is written."""
    from gittask.runner import container as ctr

    config = config or load_config(db.repo)
    try:
        agent = get_agent(config["agent"])
    except ValueError as exc:
        raise GittaskError(str(exc)) from None
    settings = agent_settings(config)
    problem = agent.check(settings, os.environ)
    if problem:
        raise GittaskError(problem, "nothing was started")
    try:
        agent.argv(settings, AgentRun(task_id="check", branch="check"))
    except ValueError as exc:
        raise GittaskError(str(exc)) from None
    client = ctr.connect()
    image = image_name(db, config)
    ctr.ensure_image(client, image)
    creds = credentials_for(agent, settings, os.environ)
    return Preflight(config, agent, settings, image, client, creds)


# -- the run ---------------------------------------------------------------------------


class _Run:
    """State of one run, so every exit path can clean up what exists."""

    def __init__(self, db: TaskDatabase, request: RunRequest, pre: Preflight) -> None:
        self.db = db
        self.repo = db.repo
        self.request = request
        self.pre = pre
        self.config = pre.config
        self.remote = remote_of(self.config)
        self.scrub = Scrubber(pre.credentials.values())
        self.guard = SignalGuard()
        self.marker: live.RunMarker | None = None
        self.worktree: wt.Worktree | None = None
        self.container: Container | None = None
        self.logs: RunLogs | None = None
        self.recorded_running = False
        self.task: TaskMetadata | None = None
        self.run_number = 0
        self.output: AgentOutput | None = None
        self.state_host: Path | None = None  # the agent's state folder on the host
        # sync.auto: the remote the claim and the result are published to (None: local)
        self.sync_remote: str | None = None
        # refs published with the run's result besides branch, notes and data (run logs)
        self.extra_refs: list[str] = []
        self.discard_logs = False  # the run lost its claim: its log folder goes

    # progress lines, to the user and to execution.log
    def say(self, message: str) -> None:
        message = self.scrub.text(message)
        if self.logs is not None:
            self.logs.event(message)
        self.request.say(message)

    def log(self, message: str) -> None:
        if self.logs is not None:
            self.logs.event(message)

    def execute(self) -> RunResult:
        self.guard.install()
        try:
            return self._execute()
        except BaseException as exc:
            if self.recorded_running and self.task is not None:
                # an unexpected error escaped: never leave the record running
                self.guard.ignore()
                with contextlib.suppress(Exception):
                    self._record_failure(f"the run crashed: {type(exc).__name__}: {exc}")
            raise
        finally:
            self.guard.ignore()
            self._cleanup()
            self.guard.restore()

    def _execute(self) -> RunResult:
        db, request = self.db, self.request
        self.sync_remote = claims.sync_remote(db, self.config)
        if self.sync_remote:
            claims.fetch_and_merge(db, self.sync_remote)  # claim on the newest state
        db.refresh()
        task = db.store.get(request.task_id)
        self._check_runnable(task)
        run = task.run_count + 1
        self.run_number = run
        stale = live.marker_for(self.repo, task.id)
        self.marker = live.RunMarker(task_id=task.id, pid=os.getpid(), run=run)
        live.claim(self.repo, self.marker)
        self._remove_leftovers(task.id, stale)
        task = self._after_claim(db.store.get(task.id))
        self.task = task
        try:
            spec_info = self._prepare(task, run)
        except RunInterrupted as exc:
            raise RunAborted(f"interrupted ({exc.signal_name}) before the run started") from None
        try:
            return self._run_and_harvest(task, run, spec_info)
        except RunInterrupted as exc:
            if not self.recorded_running:
                message = f"interrupted ({exc.signal_name}) before the run started"
                raise RunAborted(message) from None
            return self._record_failure(f"interrupted ({exc.signal_name})", interrupted=True)
        except GittaskError as exc:
            if not self.recorded_running:
                raise
            return self._record_failure(str(exc))

    def _check_runnable(self, task: TaskMetadata) -> None:
        if task.status is TaskStatus.MERGED:
            raise GittaskError(
                f"task {task.id[:8]} is merged: there is nothing more to run",
                "record a new task for further work",
            )
        if task.status is TaskStatus.RUNNING:
            held = live.marker_for(self.repo, task.id)
            if held is not None and held.alive:
                raise GittaskError(
                    f"task {task.id[:8]} is already running (run {held.run}, pid {held.pid})",
                    f"follow it with 'task logs {task.id[:8]} --follow'",
                )
            if claims.claimed_elsewhere(self.repo, task):
                raise claims.running_elsewhere(task)

    def _remove_leftovers(self, task_id: str, stale: live.RunMarker | None) -> None:
        """What a crashed run of this task left: its container and its worktree."""
        from gittask.runner import container as ctr

        if stale is not None and stale.worktree:
            wt.remove_worktree_folders(self.repo, Path(stale.worktree))
        with contextlib.suppress(Exception):
            for item in ctr.task_containers(self.pre.client, naming.repo_key(self.repo)):
                if item.task_id == task_id and not live.pid_alive(item.host_pid):
                    ctr.remove(self.pre.client, item.id)
                    self.request.say(f"removed container {item.name} left by a crashed run")

    def _after_claim(self, task: TaskMetadata) -> TaskMetadata:
        """A record left ``running`` by a crashed run is closed before this run starts."""
        if task.status is TaskStatus.RUNNING:
            message = "the previous run ended without recording its result (its process died)"

            def mark_failed(t: TaskMetadata) -> str:
                t.set_status(TaskStatus.FAILED)
                t.error_message = message
                t.completed_at = utcnow()
                return message

            task = self.db.update(task.id, mark_failed, "failed")
            self.request.say(f"note: {message}; recorded it as failed")
        return task

    # -- prepare ---------------------------------------------------------------

    def _prepare(self, task: TaskMetadata, run: int) -> dict[str, Any]:
        from gittask.runner import container as ctr
        from gittask.runner.prompt import branch_state, build_prompt

        repo, pre = self.repo, self.pre
        self.logs = RunLogs(self.db.logs_folder(task.id), run, self.scrub)
        assert self.marker is not None
        self.marker.log_dir = str(self.logs.folder)
        self.log(f"run {run} of task {task.id} ({self.request.kind}), pid {os.getpid()}")
        self.log(f"agent {pre.agent.name}, image {pre.image}")
        base, how = wt.resolve_base(repo, task.base_branch, self.config["base_branch"], self.remote)
        base_tip, base_ref = wt.base_commit(repo, base, self.remote, how)
        self.log(f"base branch {base} ({how}) at {base_tip[:12]} via {base_ref}")
        first_run = task.run_count == 0 and not task.commit_hash
        plan = wt.plan_branch(repo, task.branch_name, self.remote, first_run, base, base_tip)
        holder = wt.checked_out_at(repo, task.branch_name)
        if holder is not None:
            raise GittaskError(
                f"branch '{task.branch_name}' is checked out in {holder}; "
                "a run would move it under that checkout",
                "switch that checkout to another branch first (git switch -)",
            )
        self.worktree = wt.create_worktree(repo, task.id, run, plan.start)
        self.marker.worktree = str(self.worktree.path)
        live.update(repo, self.marker)
        self.log(f"worktree {self.worktree.path} at {plan.start[:12]} ({plan.note})")
        if plan.merge:
            start = wt.merge_remote_copy(self.worktree, plan.merge, task.branch_name, self.remote)
            self.log(f"merged {self.remote}/{task.branch_name}: start is now {start[:12]}")
        state = branch_state(repo, task.branch_name, base, base_ref, self.worktree.start)

        agent, settings = pre.agent, pre.settings
        resume: str | None = None
        state_host: Path | None = None
        if agent.state_dir:
            state_host = agent_state_dir(self.db, task.id)
            agent.seed_state_dir(state_host)
            self.state_host = state_host
            tasklogs.restore_session(self.db, self.remote, task, state_host, self.log)
            if task.session_id and _transcript_exists(state_host, task.session_id):
                resume = task.session_id
                self.log(f"resuming session {resume}")
            elif task.session_id:
                self.log(f"session {task.session_id} has no transcript here: starting fresh")
        prompt = build_prompt(
            task, state, resumed=resume is not None, current_feedback_id=self.request.feedback_id
        )
        prompt_file = self.worktree.scratch / "prompt.md"
        prompt_file.write_text(self.scrub.text(prompt), encoding="utf-8")
        os.chmod(prompt_file, 0o644)
        (self.logs.folder / "prompt.md").write_text(self.scrub.text(prompt), encoding="utf-8")

        agent_run = AgentRun(
            task_id=task.id,
            branch=task.branch_name,
            prompt_file=DEFAULT_PROMPT_FILE,
            resume_session_id=resume,
        )
        try:
            command = agent.argv(settings, agent_run)
        except ValueError as exc:
            raise GittaskError(str(exc)) from None
        environment = dict(agent.environment(settings, agent_run))
        sig = repo.signature()
        environment.update(
            {
                "GIT_AUTHOR_NAME": sig.name,
                "GIT_AUTHOR_EMAIL": sig.email,
                "GIT_COMMITTER_NAME": sig.name,
                "GIT_COMMITTER_EMAIL": sig.email,
                "GIT_OBJECT_DIRECTORY": OBJECTS_IN_CONTAINER,
                "GIT_ALTERNATE_OBJECT_DIRECTORIES": str(repo.common_dir / "objects"),
            }
        )
        uid, gid = os.getuid(), os.getgid()
        if uid == 0:
            # the container is the sandbox; Claude Code refuses root without this
            environment["IS_SANDBOX"] = "1"
        self.log(
            "environment: "
            + ", ".join(sorted(environment))
            + (f"; from the host: {', '.join(sorted(pre.credentials))}" if pre.credentials else "")
        )
        environment.update(pre.credentials)  # values only here: never logged or stored

        common = str(repo.common_dir)
        binds = [
            ctr.BindMount(str(self.worktree.path), WORKDIR),
            ctr.BindMount(str(prompt_file), DEFAULT_PROMPT_FILE, read_only=True),
            ctr.BindMount(common, common, read_only=True),
            ctr.BindMount(str(self.worktree.container_config), f"{common}/config", True),
            ctr.BindMount(str(self.worktree.admin), str(self.worktree.admin)),
            ctr.BindMount(str(self.worktree.objects), OBJECTS_IN_CONTAINER),
        ]
        tmpfs = [str(repo.state_dir)] if repo.state_dir.is_dir() else []
        if state_host is not None and agent.state_dir:
            binds.append(ctr.BindMount(str(state_host), agent.state_dir))
        name = f"claude-task-{task.id[:12]}-r{run:03d}-{secrets.token_hex(3)}"
        spec = ctr.ContainerSpec(
            image=pre.image,
            command=command,
            environment=environment,
            labels=ctr.labels_for(naming.repo_key(repo), task.id, run, os.getpid()),
            user=f"{uid}:{gid}",
            name=name,
            binds=binds,
            tmpfs=tmpfs,
            working_dir=WORKDIR,
            network=self.config["network"],
            memory=self.config["memory"],
            cpus=self.config["cpus"],
            pids_limit=self.config["pids_limit"],
        )
        # from here on the container may write the admin folder: host git stays out
        # of the worktree until the container is gone and the folder is reclaimed
        self.worktree.exposed = True
        self.container = ctr.create(pre.client, spec)
        self.marker.container_id = self.container.id
        self.marker.container_name = name
        live.update(repo, self.marker)
        self.log(
            f"container {name} ({self.container.id[:12]}): user {uid}:{gid}, cap_drop ALL, "
            f"no-new-privileges, network {spec.network}, memory {spec.memory}, "
            f"cpus {spec.cpus}, pids {spec.pids_limit}"
        )
        self.logs.save_info(
            task_id=task.id,
            kind=self.request.kind,
            feedback_id=self.request.feedback_id,
            agent=agent.name,
            image=pre.image,
            container=name,
            base=base,
            start=self.worktree.start,
            resumed_session=resume,
            started_at=utcnow().isoformat(),
        )
        return {"base": base, "plan": plan, "resume": resume}

    # -- run -------------------------------------------------------------------

    def _run_and_harvest(self, task: TaskMetadata, run: int, info: dict[str, Any]) -> RunResult:
        from gittask.runner import container as ctr

        assert self.container is not None and self.worktree is not None
        assert self.marker is not None and self.logs is not None
        pre, container, logs = self.pre, self.container, self.logs
        container_id = container.id
        base = str(info["base"])

        def to_running(t: TaskMetadata) -> str:
            t.set_status(TaskStatus.RUNNING)
            t.started_at = utcnow()
            t.completed_at = None
            t.run_count = run
            t.agent = pre.agent.name
            t.container_id = container_id
            t.error_message = None
            t.publish_error = None
            t.claimed_by = claims.identity(self.repo)
            t.base_branch = t.base_branch or base
            if self.request.kind == "continue":
                t.last_continued_at = t.started_at
            return f"run {run} in container {container_id[:12]}"

        with self.guard.deferred():
            before = self.db.store.tip()
            self.task = self.db.update(task.id, to_running, "running")
            self.recorded_running = True
            if self.sync_remote:
                try:
                    claims.publish_claim(self.db, self.sync_remote, task.id, run)
                except claims.ClaimLost as lost:
                    # another clone claimed this run first: ours never happened
                    claims.roll_back(self.db, self.sync_remote, task, self.task, before)
                    self.recorded_running = False
                    self.discard_logs = True
                    raise lost.refusal(self.db) from None
            self.marker.state = live.STATE_RUNNING
            live.update(self.repo, self.marker)
        self.guard.check()
        self.say(
            f"task {task.id[:8]}: run {run} on branch {task.branch_name} "
            f"(agent {pre.agent.name}, image {pre.image})"
        )
        ctr.start(container, pre.image)
        self.log("container started")
        output = pre.agent.new_output()
        self.output = output

        def on_chunk(chunk: bytes) -> None:
            logs.agent_output(chunk)
            for line in output.feed(chunk):
                self.request.show(self.scrub.text(line))

        def on_stop(reason: str) -> None:
            self.log(f"stopping the container: {reason}")

        interrupted: str | None = None
        try:
            result = ctr.stream(
                container,
                on_chunk,
                lambda: output.finished,
                timeout=float(self.config["timeout_seconds"]),
                silence=float(self.config["silence_timeout_seconds"]),
                grace=_result_grace(),
                on_stop=on_stop,
            )
            # The agent is done: from here until its work is on the local branch
            # (and pushed) a signal is only remembered, then checked (_harvest).
            self.guard.defer()
            exit_code, stopped = result.exit_code, result.stopped
            self.log(f"agent ended: exit code {exit_code}, after {result.duration:.1f}s")
        except RunInterrupted as exc:
            self.guard.defer()
            interrupted = exc.signal_name
            exit_code, stopped = None, "interrupted"
            self.log(f"{interrupted} received: container killed")
        for line in output.flush():
            self.request.show(self.scrub.text(line))
        outcome = pre.agent.outcome(exit_code, output, stopped=stopped)
        if exit_code in (126, 127) and stopped is None:
            exe = _agent_executable(pre.agent, pre.settings)
            outcome.success = False
            outcome.error_message = (
                f"agent command `{exe}` not found (or not executable) in image {pre.image} "
                f"(exit {exit_code})"
            )
        if stopped == "timeout":
            outcome.error_message = (
                f"agent timed out after {self.config['timeout_seconds']}s and was stopped "
                "(config timeout_seconds)"
            )
        elif stopped == "idle":
            outcome.error_message = (
                f"agent printed nothing for {self.config['silence_timeout_seconds']}s and was "
                "stopped (config silence_timeout_seconds)"
            )
        if interrupted:
            outcome.success = False
            outcome.error_message = f"interrupted ({interrupted})"
        if outcome.error_message:
            outcome.error_message = self.scrub.text(_one_line(outcome.error_message))
        removed = ctr.remove(pre.client, container_id)
        self.log("container removed" if removed else "could not remove the container")
        if not removed:
            # it may still be running and writing: nothing it touched can be read yet
            raise GittaskError(
                f"could not remove the container {container_id[:12]}; the agent's work was "
                "not taken (is the Docker engine answering?)"
            )
        self.container = None
        self.marker.state = live.STATE_FINISHING
        live.update(self.repo, self.marker)
        return self._harvest(task, run, base, info, outcome, interrupted)

    # -- harvest ---------------------------------------------------------------

    def _commit_message(self, task: TaskMetadata, run: int, outcome: AgentOutcome) -> str:
        subject = task.title if run == 1 else f"{task.title} (run {run})"
        if not outcome.success:
            subject = f"WIP: {subject}"
        body: list[str] = []
        if outcome.summary:
            summary = self.scrub.text(outcome.summary.strip())
            body = summary.splitlines()[:30]
        if not outcome.success and outcome.error_message:
            body += ["", f"Unfinished: {outcome.error_message}"]
        lines = [subject[:100], ""]
        if body:
            lines += [*body, ""]
        lines += [f"Task-Id: {task.id}", f"Task-Run: {run}"]
        return "\n".join(lines) + "\n"

    def _harvest(
        self,
        task: TaskMetadata,
        run: int,
        base: str,
        info: dict[str, Any],
        outcome: AgentOutcome,
        interrupted: str | None,
    ) -> RunResult:
        from gittask.store.notes import add_note

        assert self.worktree is not None and self.logs is not None
        plan: wt.BranchPlan = info["plan"]
        worktree = self.worktree
        error = outcome.error_message if not outcome.success else None
        commits: list[str] = []
        head = worktree.start
        made: str | None = None
        leak: wt.Leak | None = None
        with self.guard.deferred():
            copied = wt.import_objects(worktree)
            self.log(f"took {copied} object file(s) written in the container")
            try:
                removed = wt.reclaim_admin(worktree)
                if removed:
                    more = f" and {len(removed) - 10} more" if len(removed) > 10 else ""
                    self.log(
                        f"removed from the worktree's git folder: {', '.join(removed[:10])}{more}"
                    )
                head = wt.agent_head(worktree)
                made = wt.commit_changes(worktree, self._commit_message(task, run, outcome))
                if made:
                    head = made
                    self.log(f"committed the uncommitted changes as {made[:12]}")
                commits = wt.new_commits(self.repo, worktree.start, head)
                leak = wt.credential_leak(self.repo, commits, self.pre.credentials)
            except GittaskError as exc:
                error = error or str(exc)
                self.log(f"harvest: {exc}")
            if leak is not None:
                error = (
                    f"refused the agent's work: {leak.describe()}, a credential passed to "
                    f"the container; branch {task.branch_name} was not moved and nothing "
                    "was pushed"
                )
                commits, head = [], worktree.start
            if commits:
                agent_commits = len(commits) - (1 if made else 0)
                self.log(f"{len(commits)} new commit(s), {agent_commits} made by the agent")
                for commit in commits:
                    record: dict[str, Any] = {
                        "task_id": task.id,
                        "run": run,
                        "feedback_id": self.request.feedback_id,
                        "agent": self.pre.agent.name,
                    }
                    if outcome.cost_usd is not None:
                        record["cost_usd"] = outcome.cost_usd
                    if outcome.num_turns is not None:
                        record["num_turns"] = outcome.num_turns
                    if not outcome.success:
                        record["unfinished"] = True
                    add_note(self.repo, commit, self.scrub.data(record))
                wt.move_branch(self.repo, task.branch_name, head, plan.before)
                self.log(f"branch {task.branch_name} -> {head[:12]}")
            elif error is None:
                error = (
                    "the agent finished but changed nothing: no commit and no modified file "
                    "(nothing was pushed)"
                )
                if outcome.summary and outcome.summary.strip():
                    said = _one_line(self.scrub.text(outcome.summary.strip()), 300)
                    error += f"; it said: {said}"
        pushed = False
        publish_error: str | None = None
        notes = [self.scrub.text(w) for w in outcome.warnings]  # e.g. denied tool calls
        if self.guard.received and not interrupted:  # a signal while the work was taken
            interrupted = self.guard.received
            if leak is None:
                error = f"interrupted ({interrupted})"
        if error is None:
            # still deferred: a push is not cut in half by a signal to this process alone
            # (Ctrl-C reaches git too); the record then says what happened
            if self.sync_remote:
                pushed = True  # with the record, notes and logs: see _record_success
            elif wt.remote_exists(self.repo, self.remote):
                self.say(f"pushing {task.branch_name} to {self.remote}")
                push_error = self._push(task.branch_name)
                if push_error:
                    error = (
                        f"push to {self.remote} failed: {push_error}; the work is on the "
                        f"local branch {task.branch_name} ({head[:12]}): publish it with "
                        f"`task push {task.id[:8]}`"
                    )
                    publish_error = push_error
                else:
                    pushed = True
            else:
                notes.append(f"no remote '{self.remote}': the branch stays local")
            if self.guard.received and not interrupted:
                interrupted = self.guard.received
                if not pushed:
                    error = (
                        f"interrupted ({interrupted}); the work is on the local branch "
                        f"{task.branch_name} ({head[:12]}), not pushed"
                    )
        elif commits:
            error += f"; the unfinished work is on the local branch {task.branch_name} (not pushed)"
        if error is not None:
            return self._record_failure(
                error,
                outcome=outcome,
                commits=commits,
                head=head,
                interrupted=bool(interrupted),
                publish_error=publish_error,
            )
        return self._record_success(
            task, run, base, outcome, commits, head, pushed, notes, interrupted=bool(interrupted)
        )

    def _push(self, branch: str) -> str | None:
        env = {"GIT_TERMINAL_PROMPT": "0"} if self.request.detached else None
        proc = self.repo.git(
            "push",
            "--porcelain",
            self.remote,
            f"refs/heads/{branch}:refs/heads/{branch}",
            check=False,
            env=env,
        )
        self.log(f"git push: exit {proc.returncode}")
        if proc.returncode == 0:
            return None
        reasons = []
        for line in proc.stdout.splitlines():  # porcelain: "!<TAB>src:dst<TAB>[rejected] (why)"
            if line.startswith("!"):
                reasons.append(line.rsplit("\t", 1)[-1].strip())
        for line in proc.stderr.splitlines():
            text = line.strip()
            if text.startswith("remote:") and text[7:].strip():
                reasons.append(text)
        if not reasons:
            reasons = [
                x.strip() for x in proc.stderr.splitlines() if x.startswith(("fatal:", "error:"))
            ][:1]
        return self.scrub.text(_one_line("; ".join(reasons) or f"exit code {proc.returncode}"))

    # -- record ----------------------------------------------------------------

    def _apply_outcome(self, t: TaskMetadata, outcome: AgentOutcome | None) -> None:
        if outcome is None:
            return
        if outcome.session_id:
            t.session_id = outcome.session_id
        if outcome.cost_usd is not None:
            t.cost_usd = round((t.cost_usd or 0.0) + outcome.cost_usd, 6)
        if outcome.input_tokens is not None:
            t.input_tokens = (t.input_tokens or 0) + outcome.input_tokens
        if outcome.output_tokens is not None:
            t.output_tokens = (t.output_tokens or 0) + outcome.output_tokens
        if outcome.num_turns is not None:
            t.num_turns = (t.num_turns or 0) + outcome.num_turns
        if outcome.summary and self.request.feedback_id:
            for entry in t.feedback_history:
                if entry.id == self.request.feedback_id:
                    entry.claude_response_summary = self.scrub.text(outcome.summary.strip())[:4000]

    def _record_success(
        self,
        task: TaskMetadata,
        run: int,
        base: str,
        outcome: AgentOutcome,
        commits: list[str],
        head: str,
        pushed: bool,
        notes: list[str],
        interrupted: bool = False,
    ) -> RunResult:
        continued = self.request.kind == "continue" and run > 1
        status = TaskStatus.CONTINUED if continued else TaskStatus.CREATED

        def finish(t: TaskMetadata) -> str:
            t.set_status(status)
            t.error_message = None
            t.completed_at = utcnow()
            t.commit_hash = head
            t.commits = [*t.commits, *(c for c in commits if c not in t.commits)]
            self._apply_outcome(t, outcome)
            return f"run {run}: {len(commits)} commit(s), head {head[:12]}"

        with self.guard.deferred():
            final = self.db.update(task.id, finish, status.value)
            self.recorded_running = False
            if self.sync_remote and pushed:
                # the branch, its notes, the run logs and this record, in one push
                self.say(f"pushing {task.branch_name} and the task to {self.sync_remote}")
                problem = claims.publish_result(
                    self.db,
                    self.sync_remote,
                    [task.branch_name],
                    self.extra_refs,
                    env={"GIT_TERMINAL_PROMPT": "0"} if self.request.detached else None,
                )
                if problem is not None:
                    return self._record_publish_failure(task, run, outcome, commits, head, problem)
        interrupted = interrupted or self.guard.received is not None
        self.say(
            f"task {task.id[:8]} {status.value}: {len(commits)} new commit(s) on "
            f"{task.branch_name}" + (f", pushed to {self.remote}" if pushed else "")
        )
        if self.logs is not None:
            self.logs.save_info(
                status=status.value,
                commits=commits,
                head=head,
                pushed=pushed,
                cost_usd=outcome.cost_usd,
                session_id=outcome.session_id,
                completed_at=utcnow().isoformat(),
            )
        feedback = None
        if self.request.feedback_id:
            feedback = next(
                (f for f in final.feedback_history if f.id == self.request.feedback_id), None
            )
        run_info = hooks.RunInfo(
            task_id=task.id,
            run=run,
            kind=self.request.kind,
            branch=task.branch_name,
            base_branch=final.base_branch or base,
            commits=commits,
            head=head,
            pushed=pushed,
            remote=self.remote,
            summary=self.scrub.text(outcome.summary) if outcome.summary else None,
            feedback=feedback,
            config=self.config,
            cost_usd=outcome.cost_usd,
            notes=notes,
        )
        note: str | None
        if interrupted:
            note = (
                f"interrupted ({self.guard.received or 'signal'}) after the push: "
                "the after-push step (pull request) did not run"
            )
        else:
            try:
                self.guard.allow()  # opening a pull request may be cut short
                note = hooks.after_push(self.db, final, run_info)
            except GittaskError as exc:
                note = f"after the push: {exc}"
            except RunInterrupted as exc:
                note = f"interrupted ({exc.signal_name}) after the push"
                interrupted = True
            except Exception as exc:  # the work is pushed and recorded: never lose that
                import traceback

                self.log("".join(traceback.format_exception(exc)).rstrip())
                note = (
                    f"after the push: unexpected {type(exc).__name__}: {exc} "
                    "(see 'task logs --execution')"
                )
            finally:
                self.guard.defer()
        if note:
            notes.append(self.scrub.text(note))
            self.log(note)
        with contextlib.suppress(GittaskError):
            final = self.db.store.get(task.id)
        return RunResult(final, True, run, None, commits, pushed, notes, interrupted)

    def _record_publish_failure(
        self,
        task: TaskMetadata,
        run: int,
        outcome: AgentOutcome,
        commits: list[str],
        head: str,
        problem: str,
    ) -> RunResult:
        """The run succeeded but its work did not reach the remote: the record says so."""
        remote = self.sync_remote or self.remote
        problem = self.scrub.text(_one_line(problem))
        error = (
            f"push to {remote} failed: {problem}; the work is on the local branch "
            f"{task.branch_name} ({head[:12]}): publish it with `task push {task.id[:8]}`"
        )

        def unpublished(t: TaskMetadata) -> str:
            t.status = TaskStatus.FAILED  # the same run, corrected: not a new transition
            t.error_message = error
            t.publish_error = problem
            return error

        self.log(f"failed: {error}")
        with self.guard.deferred():
            final = self.db.update(task.id, unpublished, "failed")
            # at least the record may go (a refused branch, say): the claim must not stay
            from gittask.workflow.publish import after_change

            after_change(self.db, self.config)
        if self.logs is not None:
            self.logs.save_info(status="failed", error=error, pushed=False)
        return RunResult(
            final, False, run, error, commits, interrupted=self.guard.received is not None
        )

    def _record_failure(
        self,
        error: str,
        outcome: AgentOutcome | None = None,
        commits: list[str] | None = None,
        head: str | None = None,
        interrupted: bool = False,
        publish_error: str | None = None,
    ) -> RunResult:
        assert self.task is not None
        error = self.scrub.text(_one_line(error))
        commits = commits or []
        task_id = self.task.id
        if interrupted:
            self.guard.ignore()  # a second Ctrl-C must not break the record

        def fail(t: TaskMetadata) -> str:
            if t.status is TaskStatus.RUNNING:
                t.set_status(TaskStatus.FAILED)
            t.error_message = error
            t.completed_at = utcnow()
            if commits and head:
                t.commit_hash = head
                t.commits = [*t.commits, *(c for c in commits if c not in t.commits)]
            t.publish_error = publish_error
            self._apply_outcome(t, outcome)
            return error

        self.log(f"failed: {error}")
        with self.guard.deferred():
            final = self.db.update(task_id, fail, "failed")
            self.recorded_running = False
            if self.sync_remote:
                # the claim was published: so is its end (the work branch stays local)
                from gittask.workflow.publish import after_change

                after_change(self.db, self.config)
        interrupted = interrupted or self.guard.received is not None
        if self.logs is not None:
            self.logs.save_info(
                status="failed",
                error=error,
                commits=commits,
                completed_at=utcnow().isoformat(),
                cost_usd=outcome.cost_usd if outcome else None,
            )
        return RunResult(final, False, self.run_number, error, commits, interrupted=interrupted)

    # -- cleanup ---------------------------------------------------------------

    def _cleanup(self) -> None:
        from gittask.runner import container as ctr

        if self.container is not None:
            removed = ctr.remove(self.pre.client, self.container.id)
            self.log("container removed" if removed else "could not remove the container")
            self.container = None
        if self.state_host is not None:
            # what tools printed may sit in the agent's transcripts: mask credentials
            with contextlib.suppress(OSError):
                changed = scrub_folder(self.state_host, self.scrub)
                if changed:
                    self.log(f"masked credentials in {len(changed)} file(s) of the agent's state")
            self.state_host = None
        if self.worktree is not None:
            wt.remove_worktree(self.worktree)
            self.log("worktree removed")
            self.worktree = None
        if self.logs is not None:
            self.logs.close()
            if self.discard_logs:  # a refused claim: this run never happened
                _discard_run_logs(self.logs.root, self.logs.folder)
            else:
                tasklogs.keep_run(
                    self.db,
                    self.config,
                    self.task,
                    self.run_number,
                    self.logs.folder,
                    agent_state_dir(self.db, self.task.id)
                    if self.task and self.pre.agent.state_dir
                    else None,
                    self.scrub,
                    self.pre.credentials,
                    self.remote,
                    self.request.say,
                )
            self.logs = None
        if self.marker is not None:
            live.release(self.repo, self.marker)
            self.marker = None


def _discard_run_logs(root: Path, folder: Path) -> None:
    """A run that lost its claim leaves no log folder (its number is another clone's)."""
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
    runs = sorted(p for p in root.glob("run-*") if p.is_dir())
    for link in (root / name for name in (AGENT_LOG_NAME, EXECUTION_LOG_NAME)):
        with contextlib.suppress(OSError):
            if link.is_symlink():
                link.unlink()
                if runs:
                    os.symlink(f"{runs[-1].name}/{link.name}", link)


def run_task(db: TaskDatabase, request: RunRequest, pre: Preflight | None = None) -> RunResult:
    """Run the task once, end to end. Raises GittaskError when the run could not start
    (the record is then unchanged), RunAborted when interrupted before it started;
    otherwise returns a RunResult whose ``task`` is the final record."""
    pre = pre or preflight(db)
    return _Run(db, request, pre).execute()


def recover_stale_run(db: TaskDatabase, task_id: str) -> bool:
    """For ``clean``/list: a record ``running`` with no live process becomes ``failed``."""
    task = db.store.get(task_id)
    if task.status is not TaskStatus.RUNNING:
        return False
    held = live.marker_for(db.repo, task_id)
    if held is not None and held.alive:
        return False
    message = "the run ended without recording its result (its process died)"

    def mark_failed(t: TaskMetadata) -> str:
        if t.status is TaskStatus.RUNNING:
            t.set_status(TaskStatus.FAILED)
            t.error_message = message
            t.completed_at = utcnow()
        return message

    db.update(task_id, mark_failed, "failed")
    if held is not None:
        live.release(db.repo, held)
    return True
