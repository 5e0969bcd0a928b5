"""The tree of ``claude-container`` commands (typer).

Imported only when a command needs typer (see :mod:`gittask.cli.fast` for the
ones answered without it); each command imports what it needs.
"""

from __future__ import annotations

from typing import Annotated

import typer

from gittask import __version__
from gittask.cli import pr as pr_commands
from gittask.cli import project as project_commands
from gittask.cli import run as run_commands
from gittask.cli import sync as sync_commands
from gittask.cli import task as task_commands
from gittask.cli import worker as worker_commands

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
worker_commands.register(app, task_commands.app)  # worker; task workers, queue


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
