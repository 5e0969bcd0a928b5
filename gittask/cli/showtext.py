"""``task show``'s text: the fields, the description, the feedback history.

No typer here: the fast path (:mod:`gittask.cli.fast.showing`) prints it too.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any


def _text_line(line: str) -> str:
    """A line of a description or feedback as printed: tabs kept, other controls escaped."""
    from gittask.display import escape

    return "\t".join(escape(part) for part in line.split("\t"))


def render(record: dict[str, Any], short_id: str, feedback: bool) -> str:
    """``task show``'s text for ``record`` (the record as ``--json`` prints it)."""
    from gittask.model.outcome import outcome

    word = record.get("outcome") or outcome(
        record.get("status"), record.get("error_message"), record.get("pr_url")
    )
    status = word if word == record.get("status") else f"{word} (stored: {record.get('status')})"
    fields = [
        ("id", record["id"]),
        ("short id", short_id),
        ("title", record.get("title")),
        ("status", status),
        ("labels", ", ".join(record.get("labels") or [])),
        ("branch", record.get("branch_name")),
        ("base", record.get("base_branch")),
        ("created", record.get("created_at")),
        ("started", record.get("started_at")),
        ("completed", record.get("completed_at")),
        ("author", record.get("author")),
        ("agent", record.get("agent")),
        ("template", _template_line(record)),
        ("depends on", " ".join(str(d)[:8] for d in record.get("depends_on") or [])),
        ("dependencies", (record.get("dependency") or {}).get("reason")),
        ("pull request", record.get("pr_url") or _no_pull_reason(record)),
        ("commit", record.get("commit_hash")),
        ("runs", record.get("run_count")),
        ("continuations", record.get("continuation_count")),
        ("cost (USD)", record.get("cost_usd")),
        ("turns", record.get("num_turns")),
        ("tokens", _tokens(record)),
        ("error", record.get("error_message")),
        ("not published", record.get("publish_error")),
        ("last run by", record.get("claimed_by")),
        ("worker", _lease_line(record)),
        ("stop request", record.get("stop_requested")),
    ]
    from gittask.display import escape

    width = max(len(k) for k, _ in fields)
    lines = [
        f"{k + ':':<{width + 1}} {escape(str(v))}" for k, v in fields if v not in (None, "", [])
    ]
    lines += [
        "",
        "description:",
        *("  " + _text_line(x) for x in (record.get("description") or "").splitlines()),
    ]
    history = record.get("feedback_history") or []
    if feedback:
        for number, entry in enumerate(history, start=1):
            lines += _feedback_lines(number, entry)
    elif history:
        lines += ["", f"{len(history)} feedback entries (--feedback-history shows them)"]
    return "\n".join(lines)


def dependency_fields(
    record: dict[str, Any], record_of: Callable[[str], dict[str, Any]], known: Collection[str]
) -> dict[str, Any]:
    """The status word and dependency state of a task not started yet that has
    dependencies (waiting, blocked or ready, and why), as ``task list`` derives them;
    ``record_of`` and ``known``: the index's records and ids."""
    if record.get("status") != "pending" or not record.get("depends_on"):
        return {}
    from gittask.model.outcome import outcome
    from gittask.workflow.depstate import one_state

    state = one_state(str(record["id"]), record_of, known)
    if state is None:
        return {}
    word = outcome(record.get("status"), record.get("error_message"), record.get("pr_url"))
    return {
        "outcome": word if state.state == "ready" else state.state,
        "dependency": {"state": state.state, "reason": state.reason},
    }


def _template_line(record: dict[str, Any]) -> str | None:
    """The template a task came from: its name, blob id and values, or None."""
    name = record.get("template")
    if not name:
        return None
    text = str(name)
    blob = record.get("template_blob")
    if blob:
        text += f" (blob {str(blob)[:12]})"
    values = record.get("template_vars")
    if isinstance(values, dict) and values:
        text += ": " + ", ".join(f"{k}={v}" for k, v in values.items())
    return text


def _feedback_lines(number: int, entry: dict[str, Any]) -> list[str]:
    """One feedback entry of ``show --feedback-history``, and the agent's answer to it."""
    from gittask.display import escape

    head = f"feedback {number} [{entry.get('feedback_type')}] {entry.get('timestamp')}"
    if entry.get("author"):
        head += f" by {escape(str(entry['author']))}"
    lines = [
        "",
        head + ":",
        *("  " + _text_line(x) for x in (entry.get("feedback") or "").splitlines()),
    ]
    if entry.get("claude_response_summary"):
        lines += [
            "  response:",
            *("    " + _text_line(x) for x in entry["claude_response_summary"].splitlines()),
        ]
    return lines


def _no_pull_reason(record: dict[str, Any]) -> str:
    """Why a task has no pull request, for ``show``."""
    short = str(record["id"])[:8]
    if record.get("pr_note"):
        return f"none: {str(record['pr_note']).removeprefix('no pull request: ')}"
    if record.get("publish_error"):
        return f"none: the work was not pushed ('task push {short}' publishes it)"
    if not record.get("run_count"):
        return f"none yet: the task has not run ('task start {short}')"
    if record.get("status") == "running":
        return "none yet: the run is going"
    if not record.get("commits"):
        return "none: no run has made a commit"
    return f"none ('task pr {short}' opens one)"


def _lease_line(record: dict[str, Any]) -> str | None:
    """A worker's lease (queued and worker tasks): who, which lease, attempt, until when."""
    if not record.get("worker"):
        return None
    line = f"{record['worker']} (lease {record.get('lease')}, attempt {record.get('attempts')}"
    if record.get("lease_expires") and record.get("status") in ("queued", "running"):
        line += f", until {record['lease_expires']}"
    return line + ")"


def _tokens(record: dict[str, Any]) -> str | None:
    tokens_in, tokens_out = record.get("input_tokens"), record.get("output_tokens")
    if tokens_in is None and tokens_out is None:
        return None
    return f"{tokens_in or 0} in, {tokens_out or 0} out"
