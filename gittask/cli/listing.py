"""``task list`` (and ``search``) rows: filters, JSON, and the table lines.

Rows come from the index (no record is parsed for a plain listing): what a line
shows of a record beyond the row's columns (an error message, the worker, labels,
dependencies) is the row's ``brief``; only a filter on the author reads the
stored records, of the rows that need it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gittask.errors import UsageError

if TYPE_CHECKING:
    from datetime import datetime

    from gittask.cli.tables import TaskLine
    from gittask.workflow.database import IndexRow


class Filters:
    """What ``task list`` keeps (a plain class: the fast path does not import dataclasses)."""

    def __init__(
        self,
        status: str | None = None,  # a stored status
        outcome: str | None = None,  # or a status word (done, stopped, ...)
        author: str | None = None,  # substring of "Name <email>", case-insensitive
        since: datetime | None = None,
        branch: str | None = None,  # exact, or the distinctive part
        labels: tuple[str, ...] = (),
        limit: int | None = None,
    ) -> None:
        self.status, self.outcome, self.author = status, outcome, author
        self.since, self.branch, self.labels, self.limit = since, branch, labels, limit

    def any(self) -> bool:
        return bool(
            self.status
            or self.outcome
            or self.author
            or self.since is not None
            or self.branch
            or self.labels
            or self.limit is not None
        )


def brief(row: IndexRow) -> dict[str, Any]:
    """What a task line or JSON row shows of ``row``'s record besides its columns
    (error message, worker, labels, dependencies; see the index's ``brief``)."""
    if not row.brief:
        return {}
    import json

    found: dict[str, Any] = json.loads(row.brief)
    return found


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
    import re
    from datetime import UTC, datetime, timedelta

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
    from datetime import UTC, datetime

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


#: the brief of the many rows without one (shared: nothing changes a row's record)
_NOTHING: dict[str, Any] = {}


def select(
    rows: list[IndexRow], filters: Filters, record_of: Callable[[str], dict[str, Any]]
) -> list[tuple[IndexRow, dict[str, Any]]]:
    """The rows that pass, each with what it shows of its record: its :func:`brief`
    (the stored record when a filter on the author needs it), and its dependency
    state when it waits or is blocked."""
    from gittask.workflow.depstate import row_states

    briefs = {row.id: brief(row) for row in rows if row.brief}
    # only a row with a brief can have dependencies
    waits = row_states(rows, lambda task_id: briefs.get(task_id) or {}) if briefs else {}
    if not waits and not filters.any():  # a plain `task list`: every row as it is
        return [(row, briefs.get(row.id) or _NOTHING) for row in rows]
    chosen: list[tuple[IndexRow, dict[str, Any]]] = []
    for row in rows:
        if filters.limit is not None and len(chosen) >= filters.limit:
            break
        if not _kept(row, filters):
            continue
        record = record_of(row.id) if filters.author else briefs.get(row.id) or {}
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


def _kept(row: IndexRow, filters: Filters) -> bool:
    """Whether the row's columns pass the filters on status, time and branch."""
    from gittask.cli.tables import distinctive_branch

    if filters.status and row.status != filters.status:
        return False
    if filters.since is not None:
        created = _created(row)
        if created is None or created < filters.since:
            return False
    return not filters.branch or filters.branch in (
        row.branch,
        distinctive_branch(row.branch or "", row.id[:8]),
    )


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


#: :func:`row_json` as :func:`~gittask.cli.output.json_text` writes it in its list
_ROW_JSON = (
    '{\n    "id": %s,\n    "short_id": %s,\n    "status": %s,\n    "outcome": %s,'
    '\n    "branch_name": %s,\n    "created_at": %s,\n    "title": %s,\n    "pr_url": %s,'
    '\n    "labels": %s,\n    "worker": %s,\n    "error": %s%s\n  }'
)


def json_rows(chosen: list[tuple[IndexRow, dict[str, Any]]], short: dict[str, str]) -> str:
    """``output.json_text`` of the rows' :func:`row_json`, the same text written straight
    from the rows (``task list --json`` of 10,000 tasks)."""
    import json
    from json.encoder import encode_basestring as quoted  # the C one, as json.dumps uses

    from gittask.cli.output import json_element, json_text

    def nested(value: Any) -> str:  # a value two levels in
        text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
        return text.replace("\n", "\n    ")

    if not chosen:
        return json_text([])
    words: dict[tuple[str | None, bool], str] = {}  # a row whose record adds nothing
    items = []
    for row, record in chosen:
        task_id, status, branch, created, title, pr_url, error = (
            row.id, row.status, row.branch, row.created_at, row.title, row.pr_url, row.error,
        )  # fmt: skip
        if record or error:
            word = row_outcome(row, record)
            labels = record.get("labels")
            worker = held_by(row, record)
            tail = (
                ',\n    "dependency": ' + nested(record["dependency"])
                if "dependency" in record
                else ""
            )
        else:
            key = (status, not pr_url)
            word = words.get(key) or words.setdefault(key, row_outcome(row, record))
            labels = worker = None
            tail = ""
        try:
            text = _ROW_JSON % (
                quoted(task_id),
                quoted(short.get(task_id, task_id[:8])),
                quoted(status or "unreadable"),
                quoted(word),
                "null" if branch is None else quoted(branch),
                "null" if created is None else quoted(created),
                "null" if title is None else quoted(title),
                "null" if pr_url is None else quoted(pr_url),
                nested(list(labels)) if labels else "[]",
                "null" if worker is None else quoted(worker),
                "null" if error is None else quoted(error),
                tail,
            )
        except TypeError:  # a value that is not text: as json.dumps writes it
            text = json_element(row_json(row, record, short))
        items.append(text)
    return "[\n  " + ",\n  ".join(items) + "\n]"


def task_lines(
    chosen: list[tuple[IndexRow, dict[str, Any]]], short: dict[str, str]
) -> list[TaskLine]:
    """The table's lines (:func:`select`'s rows; ``short``: short ids longer than 8)."""
    from gittask.cli.tables import TaskLine, pr_cell

    words: dict[tuple[str | None, bool], str] = {}  # a row whose record adds nothing
    lines = []
    for row, record in chosen:
        worker = None
        if record or row.error:
            word = row_outcome(row, record)
            worker = held_by(row, record)
        else:
            key = (row.status, not row.pr_url)
            word = words.get(key) or words.setdefault(key, row_outcome(row, record))
        title = row.error or row.title or ""
        lines.append(
            TaskLine(
                short.get(row.id, row.id[:8]),
                word,
                row.branch or "",
                pr_cell(row.pr_url) if row.pr_url else "",
                row.created_at or "",
                f"[{worker}] {title}" if worker else title,
            )
        )
    # titles and branches come from records anyone may write: controls escaped
    if not ("".join(x.branch for x in lines) + "".join(x.title for x in lines)).isprintable():
        from gittask.display import escape

        lines = [x._replace(branch=escape(x.branch), title=escape(x.title)) for x in lines]
    return lines


def print_hits(
    hits: list[tuple[IndexRow, float]], short: dict[str, str], query: str, as_json: bool
) -> None:
    """What ``task search`` prints of its hits (best first), as a table or JSON."""
    from gittask.cli import output

    if as_json:
        output.print_json(
            [{**row_json(row, brief(row), short), "score": score} for row, score in hits]
        )
        return
    if not hits:
        output.info(f"no task matches '{query}'")
        return
    from gittask.cli.tables import page, render

    lines = task_lines([(row, brief(row)) for row, _ in hits], short)
    page(render(lines, terminal=output.stdout_is_terminal()))


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
