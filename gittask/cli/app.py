"""The ``claude-container`` command: parse arguments, dispatch, report errors.

Nothing heavy is imported here: :mod:`gittask.cli.fast` answers ``--help``,
``--version`` and ``task list`` without typer (about 60 ms of start-up), and
everything else goes to the typer tree in :mod:`gittask.cli.commands`. Usage
errors are one ``error:`` line with exit 2, as every other error is one line.
"""

from __future__ import annotations

import os
import sys
from typing import Any


def main() -> None:
    from gittask.errors import GittaskError

    try:
        if sys.argv[1:2] and sys.argv[1].startswith(("--show-completion", "--install-completion")):
            from gittask.cli import completion

            if completion.answer(sys.argv[1:]):
                return
        from gittask.cli.fast import answer

        if answer(sys.argv[1:]):
            return
        _run_typer()
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


def _run_typer() -> None:
    import typer

    from gittask.cli.commands import app

    click_error, no_args = _click_exceptions()
    complete_var = "_CLAUDE_CONTAINER_COMPLETE"  # a shell asks what completes (completion.py)
    if os.environ.get(complete_var):
        from gittask.cli.completion import prepare_typer

        prepare_typer()
    try:
        code = app(standalone_mode=False, complete_var=complete_var)
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
