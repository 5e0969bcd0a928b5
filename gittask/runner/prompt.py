"""The prompt of a run: the description, every feedback entry in order, the branch so far.

The same text goes to the agent's stdin and to the prompt file mounted in the
container. It is built from the task record and git only: never from the
environment, so no credential can end up in it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gittask.model import TaskMetadata
from gittask.model.clock import format_ts
from gittask.runner.agents.base import WORKDIR
from gittask.store.repo import GitRepo

MAX_COMMITS = 50
MAX_DIFFSTAT_LINES = 40


@dataclass
class BranchState:
    branch: str
    base: str
    commits: list[tuple[str, str]] = field(default_factory=list)  # (short hash, subject)
    more_commits: int = 0
    diffstat: str = ""


def branch_state(repo: GitRepo, branch: str, base: str, base_ref: str, head: str) -> BranchState:
    """What ``head`` holds that the base does not: commits (newest first) and a diffstat."""
    state = BranchState(branch=branch, base=base)
    proc = repo.git(
        "log", "--no-merges", "--format=%h%x09%s", head, "--not", base_ref, "--", check=False
    )
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    for line in lines[:MAX_COMMITS]:
        short, _, subject = line.partition("\t")
        state.commits.append((short, subject))
    state.more_commits = max(0, len(lines) - MAX_COMMITS)
    if lines:
        merge_base = repo.git("merge-base", base_ref, head, check=False).stdout.strip()
        if merge_base:
            stat = repo.git("diff", "--stat=100", merge_base, head, check=False).stdout
            stat_lines = stat.rstrip().splitlines()
            if len(stat_lines) > MAX_DIFFSTAT_LINES:
                rest = len(stat_lines) - MAX_DIFFSTAT_LINES
                more = f" ... {rest} more lines"
                stat_lines = [*stat_lines[: MAX_DIFFSTAT_LINES - 1], more, stat_lines[-1]]
            state.diffstat = "\n".join(stat_lines)
    return state


def build_prompt(
    task: TaskMetadata,
    state: BranchState,
    *,
    resumed: bool = False,
    current_feedback_id: str | None = None,
) -> str:
    parts: list[str] = []
    parts += [f"# Task: {task.title}", "", task.description.strip(), ""]
    history = task.feedback_history
    if history:
        parts += [f"# Feedback ({len(history)} entries, oldest first)", ""]
        for number, entry in enumerate(history, start=1):
            head = f"## Feedback {number}"
            details = [entry.feedback_type.value]
            if entry.author:
                details.append(f"from {entry.author}")
            details.append(format_ts(entry.timestamp) or "")
            head += f" ({', '.join(d for d in details if d)})"
            if entry.id == current_feedback_id:
                head += " - answer this one now"
            parts += [head, "", entry.feedback.strip(), ""]
    parts += ["# The branch so far", ""]
    if state.commits:
        parts.append(
            f"Branch `{state.branch}` already holds these commits on top of `{state.base}` "
            "(newest first):"
        )
        parts.append("")
        parts += [f"- {short} {subject}" for short, subject in state.commits]
        if state.more_commits:
            parts.append(f"- ... and {state.more_commits} older commits")
        if state.diffstat:
            parts += ["", "Files changed so far:", "", "```", state.diffstat, "```"]
    else:
        parts.append(f"Branch `{state.branch}` has no commits yet; it starts from `{state.base}`.")
    parts.append("")
    parts += ["# How to work", ""]
    if resumed:
        parts.append(
            "- This continues your previous session on this task: "
            "the newest feedback is what to do now."
        )
    elif history:
        parts.append(
            "- Earlier runs worked on this task already (see the branch above); "
            "address the newest feedback, keeping what was done unless it says otherwise."
        )
    parts += [
        f"- `{WORKDIR}` is a git checkout of the task's branch (HEAD is detached there on "
        "purpose). Edit files in place. You may commit; whatever you leave uncommitted "
        "is committed for you when you finish.",
        "- Do not push, create branches or change git configuration: the tool moves the "
        "branch, pushes it and opens the pull request after you finish.",
        "- Finish with a short summary of what you changed.",
        "",
    ]
    return "\n".join(parts)
