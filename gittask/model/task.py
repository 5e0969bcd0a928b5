"""The task record.

A task is stored as a folder on the data ref: ``metadata.yaml`` (the scalar
fields below), ``description.md`` and one file per feedback entry. Fields that
can be derived (``feedback_history``, ``continuation_count``) are not written to
``metadata.yaml``: both clones would bump them, and every concurrent edit would
conflict.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, fields
from datetime import datetime
from functools import cache
from typing import Any

from gittask.model.clock import format_ts, parse_ts, utcnow
from gittask.model.feedback import FeedbackEntry
from gittask.model.status import TaskStatus, check_transition
from gittask.text import one_line

# metadata.yaml keys, in the order they are written
_TIMESTAMPS = frozenset(
    {"created_at", "started_at", "completed_at", "last_continued_at", "lease_expires"}
)
METADATA_KEYS = (
    "id",
    "status",
    "branch_name",
    "base_branch",
    "created_at",
    "started_at",
    "completed_at",
    "last_continued_at",
    "author",
    "agent",
    "container_id",
    "claimed_by",
    "pr_url",
    "pr_number",
    "pr_note",
    "commit_hash",
    "commits",
    "session_id",
    "cost_usd",
    "input_tokens",
    "output_tokens",
    "num_turns",
    "run_count",
    "error_message",
    "publish_error",
    "depends_on",
    "template",
    # workers (gittask/workflow/worker/): the lease on a queued or running task
    "worker",
    "lease",
    "lease_expires",
    "attempts",
    "stop_requested",
)
# written only once a worker touched the task: other records stay as they were
_WORKER_KEYS = frozenset({"worker", "lease", "lease_expires", "attempts", "stop_requested"})
_INT_KEYS = frozenset(
    {"pr_number", "input_tokens", "output_tokens", "num_turns", "run_count", "lease", "attempts"}
)


def _number(key: str, value: Any, kind: type[int] | type[float]) -> Any:
    try:
        return kind(value)
    except (ValueError, TypeError, OverflowError):  # `run_count: .inf`, `pr_number: [1]`
        raise ValueError(f"{key} is not a number: {value!r}") from None


def new_task_id() -> str:
    return uuid.uuid4().hex


def normalize_id(text: str) -> str:
    """Lower-case hex without dashes, as stored (accepts the dashed UUID form)."""
    return text.strip().lower().replace("-", "")


def title_of(description: str, width: int = 72) -> str:
    for line in description.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return one_line(line, width)
    return "(no description)"


@dataclass
class TaskMetadata:
    id: str
    description: str
    status: TaskStatus = TaskStatus.PENDING
    branch_name: str = ""
    base_branch: str | None = None
    created_at: datetime = field(default_factory=utcnow)
    started_at: datetime | None = None
    completed_at: datetime | None = None
    last_continued_at: datetime | None = None
    author: str | None = None
    agent: str | None = None
    container_id: str | None = None
    claimed_by: str | None = None  # who runs (or last ran) it: "Name <email> on host"
    pr_url: str | None = None
    pr_number: int | None = None
    pr_note: str | None = None  # why no pull request was opened, in one line
    commit_hash: str | None = None
    commits: list[str] = field(default_factory=list)
    session_id: str | None = None
    cost_usd: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    num_turns: int | None = None  # model turns over all runs
    run_count: int = 0
    error_message: str | None = None
    publish_error: str | None = None  # the last run's work is local only: why
    depends_on: list[str] = field(default_factory=list)
    template: str | None = None
    # the lease a worker holds on it (gittask/workflow/worker/lease.py)
    worker: str | None = None  # the worker that holds (or last held) the lease
    lease: int = 0  # each claim by a worker takes the next number: older ones are fenced out
    lease_expires: datetime | None = None  # another worker may take it over after this
    attempts: int = 0  # claims since it was queued (worker.max_attempts, then failed)
    stop_requested: str | None = None  # "lease N by NAME at TIME": that lease's run stops
    feedback_history: list[FeedbackEntry] = field(default_factory=list)
    # keys written by a newer version: kept and written back untouched
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return title_of(self.description)

    @property
    def continuation_count(self) -> int:
        return len(self.feedback_history)

    @property
    def no_pr_reason(self) -> str | None:
        """Why there is no pull request, without the "no pull request: " the note starts with."""
        return self.pr_note.removeprefix("no pull request: ") if self.pr_note else None

    def set_status(self, new: TaskStatus) -> None:
        check_transition(self.status, new)
        self.status = new

    # -- serialisation -------------------------------------------------------

    def metadata_dict(self) -> dict[str, Any]:
        """What goes into metadata.yaml (no description, no feedback)."""
        data: dict[str, Any] = {}
        for key in METADATA_KEYS:
            value = getattr(self, key)
            if key in _WORKER_KEYS and not value:
                continue
            if key in _TIMESTAMPS:
                value = format_ts(value)
            elif key == "status":
                value = value.value
            elif isinstance(value, list):
                value = list(value)
            data[key] = value
        for key, value in self.extra.items():
            if key not in data:
                data[key] = value
        return data

    def to_dict(self) -> dict[str, Any]:
        """The full record, for --json output and the working copy."""
        data = self.metadata_dict()
        for key in sorted(_WORKER_KEYS - set(data)):
            data[key] = 0 if key in _INT_KEYS else None
        data["description"] = self.description
        data["title"] = self.title
        data["continuation_count"] = self.continuation_count
        data["feedback_history"] = [f.to_dict() for f in self.feedback_history]
        return data

    @classmethod
    def from_parts(
        cls,
        metadata: dict[str, Any],
        description: str,
        feedback: list[FeedbackEntry] | None = None,
    ) -> TaskMetadata:
        """Build from stored parts; raises ValueError/KeyError on bad data."""
        if not isinstance(metadata, dict):
            raise ValueError("metadata is not a mapping")
        if not metadata.get("id"):
            raise ValueError("metadata has no id")
        kwargs: dict[str, Any] = {}
        names = _field_names()
        for key in METADATA_KEYS:
            if key not in metadata or metadata[key] is None:
                continue
            value = metadata[key]
            if key in _TIMESTAMPS:
                value = parse_ts(value)
            elif key == "status":
                value = TaskStatus.parse(str(value))
            elif key in ("commits", "depends_on"):
                if not isinstance(value, list):
                    raise ValueError(f"{key} is not a list")
                value = [str(v) for v in value]
            elif key in _INT_KEYS:
                value = _number(key, value, int)
            elif key == "cost_usd":
                value = _number(key, value, float)
            else:
                value = str(value)
            kwargs[key] = value
        extra = {k: v for k, v in metadata.items() if k not in names}
        task = cls(description=description, extra=extra, **kwargs)
        task.id = normalize_id(task.id)
        task.feedback_history = sorted(feedback or [], key=lambda f: (f.timestamp, f.id))
        return task


@cache
def _field_names() -> frozenset[str]:
    return frozenset(f.name for f in fields(TaskMetadata))
