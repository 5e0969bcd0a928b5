"""Stage 6, push: the work branch goes to the remote (with sync.auto: with the record, later).

Still with signals deferred: a push is not cut in half by a signal to this
process alone (Ctrl-C reaches git too); the record then says what happened.
Only work the harvest checked for credentials is ever pushed, and only without
odd files (large files, nested repositories, symlinks out of the worktree) in
what the push would send, unless the run was given ``--allow-odd-files``: the
work then stays on the local branch and the record says which files and why.
"""

from __future__ import annotations

from gittask.runner import worktree as wt
from gittask.runner.worktree.oddfiles import describe
from gittask.text import one_line
from gittask.workflow.run.context import RunContext
from gittask.workflow.run.handoffs import Claimed, Harvested, Pushed


def push(ctx: RunContext, claimed: Claimed, harvested: Harvested) -> Pushed:
    task, head = claimed.task, harvested.head
    error, interrupted = harvested.error, harvested.interrupted
    notes = [ctx.scrub.text(w) for w in harvested.outcome.warnings]  # e.g. denied tool calls
    pushed, publish_error = False, None
    if ctx.guard.received and not interrupted:  # a signal while the work was taken
        interrupted = ctx.guard.received
        if not harvested.refused:
            error = f"interrupted ({interrupted})"
    odd = odd_files(ctx, harvested.head) if error is None else None
    if odd is not None:
        short = task.id[:8]
        publish_error = f"odd files: {odd}"
        error = (
            f"not pushed: the agent's commits hold {odd}; the work is on the local branch "
            f"{task.branch_name} ({head[:12]}): look at it (`task diff {short}`), then "
            f"publish it with `task push {short} --allow-odd-files`"
        )
    elif error is None:
        assert harvested.credentials_checked  # never push what was not checked
        if ctx.sync_remote:
            pushed = True  # with the record, notes and logs: see record.succeeded
        elif wt.remote_exists(ctx.db.repo, ctx.remote):
            ctx.say(f"pushing {task.branch_name} to {ctx.remote}")
            publish_error = push_branch(ctx, task.branch_name)
            if publish_error:
                error = (
                    f"push to {ctx.remote} failed: {publish_error}; the work is on the "
                    f"local branch {task.branch_name} ({head[:12]}): publish it with "
                    f"`task push {task.id[:8]}`"
                )
            else:
                pushed = True
        else:
            notes.append(f"no remote '{ctx.remote}': the branch stays local")
        if ctx.guard.received and not interrupted:
            interrupted = ctx.guard.received
            if not pushed:
                error = (
                    f"interrupted ({interrupted}); the work is on the local branch "
                    f"{task.branch_name} ({head[:12]}), not pushed"
                )
    elif harvested.commits:
        error += f"; the unfinished work is on the local branch {task.branch_name} (not pushed)"
    return Pushed(harvested, pushed, error, publish_error, interrupted, tuple(notes))


def odd_files(ctx: RunContext, head: str) -> str | None:
    """The odd files the push of ``head`` would carry, in one line (None: none, or allowed)."""
    repo, remote = ctx.db.repo, ctx.sync_remote or ctx.remote
    if not wt.remote_exists(repo, remote):
        return None  # nothing is pushed
    commits = wt.unpushed_commits(repo, head, remote)
    found = wt.odd_files(repo, commits, ctx.config.files_max_bytes)
    if not found:
        return None
    for item in found:
        ctx.log(f"odd file {item.path} (commit {item.commit[:12]}): {item.why}")
    if ctx.logs is not None:
        ctx.logs.save_info(odd_files=[item.to_dict() for item in found])
    if ctx.request.allow_odd_files:
        ctx.say(f"pushing with --allow-odd-files: {ctx.scrub.text(describe(found))}")
        return None
    return ctx.scrub.text(describe(found))


def push_branch(ctx: RunContext, branch: str) -> str | None:
    """Push the work branch (never forced); None when done, else why not (one line)."""
    proc = ctx.db.repo.git(
        "push",
        "--porcelain",
        ctx.remote,
        f"refs/heads/{branch}:refs/heads/{branch}",
        check=False,
        env=ctx.git_env(),
    )
    ctx.log(f"git push: exit {proc.returncode}")
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
    return ctx.scrub.text(one_line("; ".join(reasons) or f"exit code {proc.returncode}"))
