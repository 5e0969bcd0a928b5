"""The project commands: ``init`` and ``uninit`` here, and ``build``, ``doctor``,
``config`` and ``clean`` from the modules named after them.

Imports happen inside the commands (docker and pygit2 cost start-up time); the
work is done in :mod:`gittask.workflow.project`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from gittask.cli.shared import open_repo


def register(app: typer.Typer) -> None:
    """Add the project commands to ``app``, in the order ``--help`` lists them."""
    from gittask.cli import build, clean, config, doctor

    app.command("init")(init)
    app.command("uninit")(uninit)
    app.command("build")(build.build)
    app.command("doctor")(doctor.doctor)
    app.add_typer(config.config_app, name="config")
    app.command("clean")(clean.clean)


# -- init ------------------------------------------------------------------------------


def init(
    force: Annotated[
        bool, typer.Option("--force", help="Replace an edited config file or Dockerfile.")
    ] = False,
) -> None:
    """Set this repository up: config file, Dockerfile.claude, .gitignore, git settings.

    It prints each git setting it makes: fetch refspecs so plain `git fetch` brings
    the task refs, and notes settings so amend/rebase keep the task notes. Plain
    `git push` is left as it was. `uninit` removes the settings again.
    """
    from gittask.workflow.project import init_project

    result = init_project(open_repo(), force=force)
    for line in result.lines:
        typer.echo(line)


def uninit() -> None:
    """Remove every git setting init added (fetch refspecs, notes settings)."""
    from gittask.workflow.project import uninit_project

    for line in uninit_project(open_repo()):
        typer.echo(line)
