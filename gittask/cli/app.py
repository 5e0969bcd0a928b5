"""The ``claude-container`` command: parse arguments, dispatch, report errors.

Only typer is imported at start-up; each command imports what it needs, so
``--help`` and cheap commands stay fast.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer

from gittask import __version__
from gittask.cli import pr as pr_commands
from gittask.cli import project as project_commands
from gittask.cli import run as run_commands
from gittask.cli import sync as sync_commands
from gittask.cli import task as task_commands

app = typer.Typer(
    name="claude-container",
    help="Run an AI coding agent on a task in an ephemeral Docker container; "
    "task state lives in git (refs/claude-tasks).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: rich help costs ~80 ms of start-up
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(task_commands.app, name="task")
# each command group adds its commands; see the module named after it
project_commands.register(app)  # init, build, config, clean
run_commands.register(task_commands.app)  # continue, start, logs (and create's run)
sync_commands.register(task_commands.app)  # sync, pull, push
pr_commands.register(task_commands.app)  # pr


def _version(value: bool) -> None:
    if value:
        typer.echo(f"claude-container {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Run an AI coding agent on tasks, with git as the task database."""


def main() -> None:
    from gittask.errors import GittaskError

    click_error, no_args = _click_exceptions()
    try:
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:  # typer.Exit(n) / ctx.exit(n)
            sys.exit(code)
    except no_args as exc:
        exc.show()  # no arguments: the help, as before
        sys.exit(exc.exit_code)
    except click_error as exc:  # bad usage: one line, exit 2
        from gittask.cli.output import error

        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        error(exc.format_message() + hint)
        sys.exit(exc.exit_code)
    except typer.Abort:
        from gittask.cli.output import error

        error("aborted")
        sys.exit(1)
    except GittaskError as exc:
        from gittask.cli.output import error

        error(str(exc))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    except Exception as exc:
        message = _environment_error(exc)
        if message is None or os.environ.get("GITTASK_DEBUG"):
            raise  # a bug: keep the traceback
        from gittask.cli.output import error

        error(message)
        sys.exit(1)


def _click_exceptions() -> tuple[type[Any], type[Any]]:
    """click's ClickException and NoArgsIsHelpError (typer vendors click from 0.28 on)."""
    try:
        from typer._click import exceptions
    except ImportError:  # an older typer: click itself
        import click.exceptions as exceptions  # type: ignore[no-redef,import-not-found,unused-ignore]
    return exceptions.ClickException, getattr(exceptions, "NoArgsIsHelpError", _Never)


class _Never(Exception):
    """Raised by nothing (a click without NoArgsIsHelpError)."""


def _environment_error(exc: Exception) -> str | None:
    """One line for what the machine refused (disk, permissions, git, the index), or None.

    Checked by module name so that nothing is imported for it at start-up.
    """
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        reason = exc.strerror or str(exc)
        return f"{reason}{where} (set GITTASK_DEBUG=1 for the details)"
    module = type(exc).__module__ or ""
    text = " ".join(str(exc).split())
    if module.startswith(("pygit2", "_pygit2")):
        return f"git: {text} (set GITTASK_DEBUG=1 for the details)"
    if module.startswith("sqlite3"):
        return (
            f"the task index failed: {text} (delete .git/claude-tasks/index.sqlite to "
            "rebuild it; set GITTASK_DEBUG=1 for the details)"
        )
    return None
