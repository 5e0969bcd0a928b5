"""What happened to a task, in words: derived from the stored status, never stored.

The stored statuses stay as they are (``created``, ``continued``, ``failed``, ...:
other clones and older versions read them); what people read says what happened:

    pending            recorded, not run yet
    queued             waiting for a worker (`claude-container worker`)
    waiting            a dependency has not succeeded yet (derived: see model/deps.py)
    blocked            a dependency failed, was closed or deleted, or a cycle
    running            a container is working on it
    ready for review   a run finished and its pull request is open
    done               a run finished and pushed its branch (no pull request)
    no changes         the agent finished without changing anything
    stopped            stopped with `task stop` (or delete --force)
    failed             the last run failed: `task show` says why
    merged / closed    its pull request was merged / closed
"""

from __future__ import annotations

#: The start of the error message of a run that changed nothing.
NOTHING_CHANGED = "the agent finished but changed nothing"
#: The start of the error message of a run stopped with ``task stop``.
STOPPED_PREFIX = "stopped with `task stop`"

#: outcome -> its meaning, in the order a user meets them (README, --help)
MEANINGS = {
    "pending": "recorded, not run yet ('task start ID' runs it)",
    "queued": "waiting for a worker to run it ('claude-container worker')",
    "waiting": "a dependency has not succeeded yet; the scheduler starts it after",
    "blocked": "a dependency failed, was closed or deleted, or they form a cycle "
    "('task start ID' runs it anyway)",
    "running": "a container is working on it",
    "ready for review": "a run finished and its pull request is open",
    "done": "a run finished and pushed its branch; no pull request ('task show' says why)",
    "no changes": "the agent finished without changing anything",
    "stopped": "stopped with 'task stop'",
    "failed": "the last run failed ('task show' says why)",
    "merged": "its pull request was merged",
    "closed": "its pull request was closed unmerged",
}

#: outcome -> colour on a terminal
STYLES = {
    "pending": "yellow",
    "queued": "yellow",
    "waiting": "yellow",
    "blocked": "red",
    "running": "cyan",
    "ready for review": "green",
    "done": "green",
    "no changes": "blue",
    "stopped": "yellow",
    "failed": "red",
    "merged": "magenta",
    "closed": "dim",
}


def outcome(status: str | None, error_message: str | None = None, pr_url: str | None = None) -> str:
    """The word for a task's state (see the module's table)."""
    if status == "failed":
        text = error_message or ""
        if text.startswith(STOPPED_PREFIX):
            return "stopped"
        if text.startswith(NOTHING_CHANGED):
            return "no changes"
        return "failed"
    if status in ("created", "continued"):
        return "ready for review" if pr_url else "done"
    return status or "unreadable"
