"""The ``claude-container`` command: parse arguments, dispatch, report errors.

Nothing heavy is imported here: :mod:`gittask.cli.fast` answers ``--help``,
``--version`` and ``task list`` without typer (about 60 ms of start-up), and
everything else goes to the typer tree in :mod:`gittask.cli.commands`.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    from gittask.errors import GittaskError

    try:
        from gittask.cli.fast import answer

        if answer(sys.argv[1:]):
            return
        from gittask.cli.commands import app

        app()  # standalone: usage errors exit 2 with click's message
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
