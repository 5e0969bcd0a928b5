"""How a run's result prints: the outcome word, the one line that ends a run, the
command that retries a failed task, and the record as ``--json`` prints it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gittask.model import TaskMetadata


def outcome_word(task: TaskMetadata) -> str:
    from gittask.model.outcome import outcome

    return outcome(task.status.value, task.error_message, task.pr_url)


def task_json(task: TaskMetadata) -> dict[str, object]:
    """The record as --json prints it: the stored fields plus ``outcome``."""
    data = task.to_dict()
    data["outcome"] = outcome_word(task)
    return data


def retry_hint(task: TaskMetadata) -> str:
    """The command that tries a failed task again."""
    short = task.id[:8]
    if task.publish_error:
        return f"publish the work with 'claude-container task push {short}'"
    return f"retry with 'claude-container task start {short}'"


def outcome_line(task: TaskMetadata) -> str:
    """How a run ended, in one line: the PR, the pushed branch, or why not."""
    short, word = task.id[:8], outcome_word(task)
    if word == "ready for review":
        return f"task {short} is ready for review: {task.pr_url}"
    if word == "done":
        line = f"task {short} is done: branch {task.branch_name}"
        if task.pr_note:
            line += f"; no pull request: {task.no_pr_reason}"
        return line
    if word == "no changes":
        said = (task.error_message or "").partition("; it said: ")[2]
        line = f"task {short}: no changes (the agent changed nothing"
        line += f"; it said: {said})" if said else ")"
        return line + f"; ask again with 'claude-container task continue {short} -m ...'"
    if word in ("failed", "stopped"):
        return f"task {short} {word}: {task.error_message}; {retry_hint(task)}"
    return f"task {short} is {word}"
