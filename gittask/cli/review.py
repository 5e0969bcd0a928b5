"""Looking at a task's work as gh and git users do: ``task diff``, ``checkout``, ``open``.

``diff`` shows the work branch against its base through git (and git's pager);
``checkout`` switches the current checkout to the work branch (from the remote
when it is not here); ``open`` opens the pull request in a browser, or prints
its URL where no browser can be shown.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from gittask.cli import output
from gittask.cli.shared import IdArg

if TYPE_CHECKING:
    from gittask.model import TaskMetadata
    from gittask.workflow.database import TaskDatabase


def register(app: typer.Typer) -> None:
    app.command("diff")(diff)
    app.command("checkout")(checkout)
    app.command("open")(open_task)


def _task(task_id: str) -> tuple[TaskDatabase, TaskMetadata, str]:
    from gittask.config import load_config, remote_of
    from gittask.workflow.database import open_database

    db = open_database()
    db.refresh()
    task = db.get(task_id)
    return db, task, remote_of(load_config(db.repo))


def _first_ref(db: TaskDatabase, *refs: str) -> str | None:
    names = db.repo.pygit.references
    return next((ref for ref in refs if ref in names), None)


def _short(ref: str) -> str:
    """A ref as git names it for people: ``origin/x``, ``x``."""
    return ref.removeprefix("refs/heads/").removeprefix("refs/remotes/")


def _git_passthrough(db: TaskDatabase, *args: str, to_stderr: bool = False) -> int:
    """git with the terminal: its pager, colours and messages reach the user as they are
    (``to_stderr``: its output goes to stderr, stdout stays the command's --json)."""
    top = db.repo.main_workdir or db.repo.workdir or db.repo.git_dir
    sys.stdout.flush()
    out = sys.stderr if to_stderr else None
    return subprocess.run(["git", *args], cwd=top, check=False, stdout=out).returncode


def _diff_refs(db: TaskDatabase, task: TaskMetadata, remote: str) -> tuple[str, str]:
    """(base ref, branch ref) of ``git diff BASE...BRANCH``: the work branch here or on the
    remote, the base from the remote (else here)."""
    from gittask.errors import GittaskError

    short = task.id[:8]
    branch = _first_ref(
        db, f"refs/heads/{task.branch_name}", f"refs/remotes/{remote}/{task.branch_name}"
    )
    if branch is None:
        raise GittaskError(
            f"task {short} has no branch {task.branch_name} here or on {remote}",
            f"run it with 'task start {short}'" if task.run_count == 0 else "run 'task sync'",
        )
    base = task.base_branch or ""
    base_ref = _first_ref(db, f"refs/remotes/{remote}/{base}", f"refs/heads/{base}")
    if base_ref is None:
        raise GittaskError(f"the base branch '{base or '?'}' of task {short} is not here")
    return base_ref, branch


def diff(
    task_id: IdArg,
    stat: Annotated[bool, typer.Option("--stat", help="Only the changed files.")] = False,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help="Commits, files with additions/deletions, and the patch (not --stat)."
        ),
    ] = False,
) -> None:
    """The task's work: its branch against its base (git diff BASE...BRANCH)."""
    db, task, remote = _task(task_id)
    base_ref, branch = _diff_refs(db, task, remote)
    if as_json:
        from gittask.workflow.branch_diff import branch_diff

        found = branch_diff(db.repo, base_ref, branch, with_patch=not stat)
        output.print_json(
            {
                "task": task.id,
                "branch": task.branch_name,
                "base": task.base_branch,
                "branch_ref": _short(branch),
                "base_ref": _short(base_ref),
                **found.to_json(),
            }
        )
        return
    code = _git_passthrough(db, "diff", *(["--stat"] if stat else []), f"{base_ref}...{branch}")
    if code:
        raise typer.Exit(code)


def checkout(
    task_id: IdArg,
    as_json: Annotated[
        bool, typer.Option("--json", help="The branch, its head and what was done.")
    ] = False,
) -> None:
    """Switch this checkout to the task's work branch (for review; from the remote if needed).

    A local branch behind the remote's copy is fast-forwarded to it.
    """
    from gittask.errors import GittaskError
    from gittask.workflow.branch_diff import head_of, is_behind

    db, task, remote = _task(task_id)
    local = f"refs/heads/{task.branch_name}"
    theirs = f"refs/remotes/{remote}/{task.branch_name}"
    if _first_ref(db, local, theirs) is None:
        raise GittaskError(
            f"task {task.id[:8]} has no branch {task.branch_name} here or on {remote}",
            f"run it with 'task start {task.id[:8]}'" if task.run_count == 0 else None,
        )
    created = _first_ref(db, local) is None
    if created:
        args = ["switch", "--track", "-c", task.branch_name, theirs[5:]]
        code = _git_passthrough(db, *args, to_stderr=as_json)
    else:
        code = _git_passthrough(db, "switch", task.branch_name, to_stderr=as_json)
    if code:
        raise typer.Exit(code)
    updated = False
    if not created and _first_ref(db, theirs) is not None and is_behind(db.repo, local, theirs):
        code = _git_passthrough(db, "merge", "--ff-only", "-q", theirs[5:], to_stderr=as_json)
        if code:
            raise typer.Exit(code)
        updated = True
        output.info(f"fast-forwarded {task.branch_name} to {_short(theirs)}")
    if as_json:
        output.print_json(
            {
                "task": task.id,
                "branch": task.branch_name,
                "head": head_of(db.repo, local),
                "created": created,
                "updated": updated,
                "tracking": _short(theirs) if _first_ref(db, theirs) else None,
            }
        )


def can_show_a_browser() -> bool:
    return bool(
        os.environ.get("BROWSER")
        or os.environ.get("DISPLAY")
        or os.environ.get("WAYLAND_DISPLAY")
        or sys.platform == "darwin"
    )


def open_url(task: TaskMetadata) -> str:
    """The pull request's URL, opened in a browser where one can be shown."""
    from gittask.errors import GittaskError

    if not task.pr_url:
        reason = task.no_pr_reason or "none was opened"
        raise GittaskError(
            f"task {task.id[:8]} has no pull request: {reason}",
            f"'task pr {task.id[:8]}' opens one" if task.commits else None,
        )
    if can_show_a_browser() and output.stdout_is_terminal():
        import webbrowser

        if webbrowser.open(task.pr_url):
            output.info(f"opened {task.pr_url} in the browser")
    return task.pr_url


def open_task(task_id: IdArg) -> None:
    """Open the task's pull request in a browser (its URL is printed either way)."""
    _db, task, _remote = _task(task_id)
    typer.echo(open_url(task))
