"""Commands answered without importing typer (its import and command tree cost ~60 ms).

- ``--help`` / ``-h``: the top-level help, kept as text below; a test checks that
  it is exactly what typer prints, so it cannot drift from the commands.
- ``--version``.
- ``task list [--json] [--status S]``: the most frequent read, done as the typer
  command does it (same rows, same output); when running containers have to be
  listed too, the typer path does it.
- ``task show ID [--json] [--feedback-history]``, when the id names one task of
  the index and the task has no pull request (whose state ``show`` refreshes
  from GitHub); it gets its folder in the working copy as on the full path; a task that
  waits for others reads the records its dependencies lead to from the index.
- ``task create --no-run -m TEXT``, ``task delete --yes ID...`` and ``task continue
  ID -m TEXT --queue`` (plain forms: see :mod:`gittask.cli.fast.writing`), through
  the functions typer calls.
- ``task search QUERY [--json]`` on a current index.
- ``task history [--limit N] [--json]`` on a current index: the log from its tip.

Anything else (other options, a narrow terminal, ``GITTASK_NO_FASTPATH=1``, a
shell's completion request: ``_CLAUDE_CONTAINER_COMPLETE``) returns False and goes
through typer. ``--show-completion`` / ``--install-completion`` are answered before
this, by :mod:`gittask.cli.completion`.

Each command lives in a module of its own (``listing``, ``showing``, ``searching``,
``writing``, ``history``), imported only when its command line is seen.
"""

from __future__ import annotations

import os
import sys

TOP_HELP = """\
Usage: {prog} [OPTIONS] COMMAND [ARGS]...

  Run an AI coding agent on a task in an ephemeral Docker container; task
  state lives in git (refs/claude-tasks).

Options:
  --version                     Show the version.
  --install-completion [SHELL]  Install shell completion for bash, zsh or fish
                                (default: this shell).
  --show-completion [SHELL]     Print the completion script for bash, zsh or
                                fish (default: this shell).
  -h, --help                    Show this message and exit.

Commands:
  init       Set this repository up: config file, Dockerfile.claude,...
  uninit     Remove every git setting init added (fetch refspecs, notes...
  build      Build the agent image from .claude-container/Dockerfile.claude.
  doctor     Check that tasks can run (engine, image, credentials,...
  clean      Remove what crashed runs left (default: --containers...
  worker     Claim queued tasks from the remote, run them here, publish...
  scheduler  Fire the schedules' due slots (each exactly once across...
  task       Create, run, inspect and manage tasks (aliases: ls = list,...
  config     Show and change the project configuration...
"""


#: the reads: one short pass over the index (see :func:`answer`)
_READS = (
    ["task", "list"],
    ["task", "search"],
    ["task", "show"],
    ["task", "view"],
    ["task", "history"],
)


def answer(argv: list[str]) -> bool:
    """Handle ``argv`` here if it is one of the fast commands; False: use typer."""
    if os.environ.get("GITTASK_NO_FASTPATH") or os.environ.get("_CLAUDE_CONTAINER_COMPLETE"):
        return False  # a shell completing a command line: typer answers it
    if argv[:2] not in _READS:
        return _answer(argv)
    import gc

    # A read makes many objects (at 100,000 tasks, that many rows and lines) and no
    # cycles: the collector's passes over them would cost ~100 ms.
    gc.disable()
    answered = False
    try:
        answered = _answer(argv)
    finally:
        if not answered:
            gc.enable()  # the typer path may run for hours (a task, a worker)
    return answered


def _answer(argv: list[str]) -> bool:
    if argv in (["--help"], ["-h"]):
        return _help()
    if argv == ["--version"]:
        from gittask import __version__

        sys.stdout.write(f"claude-container {__version__}\n")
        return True
    if argv[:2] == ["task", "list"]:
        from gittask.cli.fast.listing import list_options, list_tasks

        parsed = list_options(argv[2:])
        return parsed is not None and list_tasks(*parsed)
    if argv[:2] in (["task", "show"], ["task", "view"]):
        from gittask.cli.fast.showing import show_options, show_task

        shown = show_options(argv[2:])
        return shown is not None and show_task(*shown)
    if argv[:2] in (["task", "create"], ["task", "delete"], ["task", "rm"]):
        from gittask.cli.fast import writing

        if argv[1] == "create":
            made = writing.create_options(argv[2:])
            return made is not None and writing.create_task(made)
        doomed = writing.delete_options(argv[2:])
        return doomed is not None and writing.delete_tasks(doomed)
    if argv[:2] == ["task", "continue"]:
        from gittask.cli.fast import writing

        more = writing.continue_options(argv[2:])
        return more is not None and writing.continue_task(more)
    if argv[:2] == ["task", "search"]:
        from gittask.cli.fast.searching import search_options, search_tasks

        asked = search_options(argv[2:])
        return asked is not None and search_tasks(*asked)
    if argv[:2] == ["task", "history"]:
        from gittask.cli.fast.history import history_options, show_history

        wanted = history_options(argv[2:])
        return wanted is not None and show_history(*wanted)
    return False


def program_name() -> str:
    """What click shows in its usage line (it names ``python -m`` runs the same way)."""
    main = sys.modules.get("__main__")
    package = getattr(main, "__package__", None)
    if package and os.path.basename(sys.argv[0]) == "__main__.py":
        return f"python -m {package.removesuffix('.__main__')}"
    return os.path.basename(sys.argv[0])


def _help() -> bool:
    import shutil

    if shutil.get_terminal_size().columns < 80:
        return False  # click wraps to the terminal: let it
    sys.stdout.write(TOP_HELP.format(prog=program_name()))
    return True
