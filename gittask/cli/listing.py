"""``task list`` (and ``search``) rows: filters, JSON, and the table lines.

Rows come from the index (no record is parsed for a plain listing); a filter on
the author, labels or time, and the status word of a failed task (stopped, no
changes), read the stored record of the rows that need it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from gittask.errors import UsageError

if TYPE_CHECKING:
    from gittask.cli.tables import TaskLine
    from gittask.workflow.database import IndexRow


@dataclass
class Filters:
    status: str | None = None  # a stored status
    outcome: str | None = None  # or a status word (done, stopped, ...)
    author: str | None = None  # substring of "Name <email>", case-insensitive
    since: datetime | None = None
    branch: str | None = None  # exact, or the distinctive part
    labels: tuple[str, ...] = ()
    limit: int | None = None

    def needs_record(self) -> bool:
        return bool(self.author or self.labels or self.outcome)


def parse_status(text: str) -> tuple[str | None, str | None]:
    """(stored status, status word): ``--status`` takes either."""
    from gittask.model.outcome import MEANINGS
    from gittask.model.status import TaskStatus

    word = text.strip().lower().replace("-", " ").replace("_", " ")
    if word in MEANINGS and word not in {s.value for s in TaskStatus}:
        return None, word
    try:
        return TaskStatus.parse(text).value, None
    except UsageError:
        valid = ", ".join(s.value for s in TaskStatus)
        words = ", ".join(w.replace(" ", "-") for w in MEANINGS)
        raise UsageError(
            f"unknown status '{text}'", f"valid statuses: {valid}; or the words {words}"
        ) from None


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """``3d``, ``12h``, ``2w``, ``30m`` ago, or a date ``2024-05-01`` (UTC)."""
    now = now or datetime.now(UTC)
    match = re.fullmatch(r"\s*(\d+)\s*([mhdw])\s*", text.lower())
    if match:
        size = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}[match.group(2)]
        return now - timedelta(seconds=int(match.group(1)) * size)
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"cannot read --since '{text}'", "give an age (30m, 12h, 3d, 2w) or a date (2024-05-01)"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _created(row: IndexRow) -> datetime | None:
    if not row.created_at:
        return None
    try:
        when = datetime.fromisoformat(row.created_at.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def row_outcome(row: IndexRow, record: dict[str, Any]) -> str:
    from gittask.model.outcome import outcome

    if row.error:
        return "unreadable"
    waits = record.get("dependency")
    if row.status == "pending" and isinstance(waits, dict) and waits.get("state") != "ready":
        return str(waits.get("state"))  # waiting, blocked: see gittask.model.deps
    return outcome(row.status, record.get("error_message"), row.pr_url)


def select(
    rows: list[IndexRow], filters: Filters, record_of: Callable[[str], dict[str, Any]]
) -> list[tuple[IndexRow, dict[str, Any]]]:
    """The rows that pass, each with its record (read only where needed)."""
    from gittask.cli.tables import distinctive_branch
    from gittask.workflow.depstate import row_states

    cache: dict[str, dict[str, Any]] = {}

    def read(task_id: str) -> dict[str, Any]:
        if task_id not in cache:
            cache[task_id] = record_of(task_id)
        return cache[task_id]

    waits = row_states(rows, read)  # pending tasks with dependencies: waiting, blocked
    chosen: list[tuple[IndexRow, dict[str, Any]]] = []
    for row in rows:
        if filters.limit is not None and len(chosen) >= filters.limit:
            break
        if filters.status and row.status != filters.status:
            continue
        if filters.since is not None:
            created = _created(row)
            if created is None or created < filters.since:
                continue
        if filters.branch and filters.branch not in (
            row.branch,
            distinctive_branch(row.branch or "", row.id[:8]),
        ):
            continue
        record: dict[str, Any] = {}
        if filters.needs_record() or row.status in ("failed", *_HELD) or row.id in waits:
            record = read(row.id)
        if row.id in waits:
            state = waits[row.id]
            record = {**record, "dependency": {"state": state.state, "reason": state.reason}}
        if filters.author and filters.author.lower() not in str(record.get("author") or "").lower():
            continue
        if filters.labels:
            have = set(record.get("labels") or [])
            if not set(filters.labels) <= have:
                continue
        if filters.outcome and row_outcome(row, record) != filters.outcome:
            continue
        chosen.append((row, record))
    return chosen


#: statuses a worker may hold: their rows name it
_HELD = ("running", "queued")


def held_by(row: IndexRow, record: dict[str, Any]) -> str | None:
    """The worker that runs (or has claimed) the task, for running and queued rows."""
    worker = record.get("worker") if row.status in _HELD else None
    return str(worker) if worker else None


def row_json(row: IndexRow, record: dict[str, Any], short: dict[str, str]) -> dict[str, Any]:
    return {
        "id": row.id,
        "short_id": short.get(row.id, row.id[:8]),
        "status": row.status or "unreadable",
        "outcome": row_outcome(row, record),
        "branch_name": row.branch,
        "created_at": row.created_at,
        "title": row.title,
        "pr_url": row.pr_url,
        "labels": list(record.get("labels") or []),
        "worker": held_by(row, record),
        "error": row.error,
        **({"dependency": record["dependency"]} if "dependency" in record else {}),
    }


def task_line(row: IndexRow, record: dict[str, Any], short: dict[str, str]) -> TaskLine:
    from gittask.cli.tables import TaskLine, pr_cell
    from gittask.display import escape

    # titles and branches come from records anyone may write: controls escaped
    worker = held_by(row, record)
    title = row.error or row.title or ""
    return TaskLine(
        short_id=short.get(row.id, row.id[:8]),
        outcome=row_outcome(row, record),
        branch=escape(row.branch or ""),
        pr=pr_cell(row.pr_url),
        created_at=row.created_at,
        title=escape(f"[{worker}] {title}" if worker else title),
    )


def formatted(items: list[dict[str, Any]], template: str) -> list[str]:
    """``--format '{short_id} {title}'``: one line per task (Python format fields)."""
    lines = []
    for item in items:
        try:
            lines.append(template.replace("\\t", "\t").format_map(item))
        except (KeyError, IndexError, ValueError) as exc:
            raise UsageError(
                f"bad --format: {exc}", "fields: " + ", ".join(sorted(items[0]))
            ) from None
    return lines


def run_jq(data: Any, expression: str) -> str:
    """``--jq EXPR`` through the jq program, as gh does."""
    import json
    import shutil
    import subprocess

    jq = shutil.which("jq")
    if jq is None:
        raise UsageError("--jq needs the jq program, which is not installed", "use --format")
    proc = subprocess.run(
        [jq, "-r", expression],
        input=json.dumps(data, ensure_ascii=False, default=str),
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        reason = " ".join(proc.stderr.split()) or f"exit code {proc.returncode}"
        raise UsageError(f"--jq '{expression}' failed: {reason}")
    return proc.stdout
