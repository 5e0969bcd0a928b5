"""The tree of ``claude-container`` commands (typer).

Imported only when a command needs typer (see :mod:`gittask.cli.fast` for the
ones answered without it); each command imports what it needs.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from gittask import __version__
from gittask.cli import continue_ as continue_commands
from gittask.cli import deps as deps_commands
from gittask.cli import logs as logs_commands
from gittask.cli import pr as pr_commands
from gittask.cli import project as project_commands
from gittask.cli import run as run_commands
from gittask.cli import schedule as schedule_commands
from gittask.cli import scheduler as scheduler_commands
from gittask.cli import sync as sync_commands
from gittask.cli import task as task_commands
from gittask.cli import template as template_commands
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
run_commands.register(task_commands.app)  # start (and the runs of create and continue)
continue_commands.register(task_commands.app)  # continue
logs_commands.register(task_commands.app)  # logs
sync_commands.register(task_commands.app)  # sync, pull, push
pr_commands.register(task_commands.app)  # pr
worker_commands.register(app, task_commands.app)  # worker; task workers, queue
task_commands.app.add_typer(template_commands.app, name="template")
deps_commands.register(task_commands.app)  # deps
task_commands.app.add_typer(schedule_commands.app, name="schedule")
scheduler_commands.register(app)  # scheduler


def _version(value: bool) -> None:
    if value:
        typer.echo(f"claude-container {__version__}")
        raise typer.Exit()


def _completion(ctx: typer.Context, param: typer.CallbackParam, value: str | None) -> None:
    """``--show-completion SHELL`` / ``--install-completion SHELL`` reached through typer
    (usually :func:`gittask.cli.completion.answer` takes them first, SHELL optional)."""
    if value and not ctx.resilient_parsing:
        from gittask.cli.completion import run_option

        run_option(param.opts[0], value)
        raise typer.Exit()


def _completion_option(name: str, what: str) -> Any:
    """``what``: the help's start, before "for bash, zsh or fish (default: this shell)."."""
    return typer.Option(
        name,
        metavar="[SHELL]",
        callback=_completion,
        is_eager=True,
        expose_value=False,
        help=f"{what} for bash, zsh or fish (default: this shell).",
    )


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
    install_completion: Annotated[
        str | None, _completion_option("--install-completion", "Install shell completion")
    ] = None,
    show_completion: Annotated[
        str | None, _completion_option("--show-completion", "Print the completion script")
    ] = None,
) -> None:
    """Run an AI coding agent on tasks, with git as the task database."""
