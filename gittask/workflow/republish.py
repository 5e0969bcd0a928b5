"""``task push ID``: publish a run's work that did not reach the remote, without a new run.

When the agent's commits exist but the push or the pull request failed
(network, a hook, 422, auth), the record says so (``publish_error``, ``pr_note``).
This pushes the work branch, its notes, the run logs and the record in one
push, clears the failure the push caused, and opens the pull request if the
task has none yet. Like a run, it refuses to push odd files (large files,
nested repositories, symlinks out of the worktree) unless ``--allow-odd-files``.
"""

from __future__ import annotations

from gittask.config import ProjectConfig, remote_of
from gittask.errors import GittaskError
from gittask.model import TaskMetadata, TaskStatus
from gittask.runner import worktree as wt
from gittask.runner.worktree.oddfiles import describe
from gittask.store import runlogs, sync
from gittask.store.database import TaskDatabase
from gittask.workflow import publish


def publish_task(
    db: TaskDatabase, task_id: str, config: ProjectConfig, allow_odd_files: bool = False
) -> list[str]:
    """Push the task's existing work and record, then open its PR; lines for the user."""
    from gittask.workflow.pull_requests import open_pull_request

    remote = remote_of(config)
    if not sync.remote_exists(db.repo, remote):
        raise GittaskError(
            f"there is no git remote '{remote}'", f"add one with: git remote add {remote} <url>"
        )
    task = db.task(task_id)
    short = task.id[:8]
    local = f"refs/heads/{task.branch_name}"
    if not task.commit_hash or local not in db.repo.pygit.references:
        raise GittaskError(
            f"task {short} has no local work to push (no commit on branch {task.branch_name})",
            f"run it with 'task start {short}'",
        )
    lines = []
    unpushed = wt.unpushed_commits(db.repo, local, remote)
    odd = wt.odd_files(db.repo, unpushed, config.files_max_bytes)
    if odd and not allow_odd_files:
        raise GittaskError(
            f"task {short} was not pushed: its commits hold {describe(odd)}",
            f"look at it (`task diff {short}`); push it anyway with "
            f"`task push {short} --allow-odd-files`",
        )
    if odd:
        lines.append(f"pushing with --allow-odd-files: {describe(odd)}")
    # the run logs go too, under their own name (outside refs/heads: see runlogs)
    has_logs = runlogs.logs_ref(task.id) in db.repo.pygit.references
    extra = [runlogs.push_refspec(task.id)] if has_logs else []
    result = publish.publish_now(db, remote, [task.branch_name], extra)
    if result.pushed == [] and result.up_to_date:
        lines.append(f"{task.branch_name} and task {short} were already on {remote}")
    else:
        lines.append(f"pushed {task.branch_name} and task {short} to {remote}")

    def published(t: TaskMetadata) -> str | None:
        if t.publish_error is None:
            return None
        if t.status is TaskStatus.FAILED:
            # the run itself succeeded: only its push had failed
            t.status = TaskStatus.CONTINUED if t.run_count > 1 else TaskStatus.CREATED
            t.error_message = None
        t.publish_error = None
        return f"published run {t.run_count}"

    if task.publish_error is not None:
        task = db.update(task.id, published, "published")
    if not task.pr_number and task.status in (TaskStatus.CREATED, TaskStatus.CONTINUED):
        outcome = open_pull_request(db, task.id, config)
        if outcome.pull is not None:
            verb = "opened" if outcome.created else "adopted existing"
            lines.append(f"{verb} pull request {outcome.pull.url}")
        else:
            lines.append(outcome.note or "no pull request was opened")
    publish.publish_now(db, remote)  # the record as it is now (PR, cleared failure)
    return lines
