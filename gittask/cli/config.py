"""``claude-container config show|get|set|unset``: the project's settings, typed and
checked (the table is :mod:`gittask.config.settings`)."""

from __future__ import annotations

from typing import Annotated

import typer

from gittask.cli import output
from gittask.cli.shared import JsonOpt, open_repo

config_app = typer.Typer(
    help="Show and change the project configuration (.claude-container/container_config.json).",
    no_args_is_help=True,
    rich_markup_mode=None,  # plain help: rich help costs ~80 ms of start-up
    context_settings={"help_option_names": ["-h", "--help"]},
)


@config_app.command("show")
def config_show(as_json: JsonOpt = False) -> None:
    """Every key with its value (--json: also its default, type and source: file or default)."""
    from gittask.workflow.project import config_show as show
    from gittask.workflow.project import format_value

    shown = show(open_repo())
    if as_json:
        output.print_json({one.key: one.to_json() for one in shown})
        return
    rows = [[one.key, format_value(one.value), one.meaning] for one in shown]
    output.table(["KEY", "VALUE", "MEANING"], rows)


@config_app.command("get")
def config_get(key: Annotated[str, typer.Argument(metavar="KEY")]) -> None:
    """Print one key's value."""
    from gittask.workflow.project import config_get as get
    from gittask.workflow.project import format_value

    typer.echo(format_value(get(open_repo(), key)))


# values may start with "-" (a negative number, a bad branch name): they reach the check
@config_app.command("set", context_settings={"ignore_unknown_options": True})
def config_set(
    key: Annotated[str, typer.Argument(metavar="KEY")],
    value: Annotated[str, typer.Argument(metavar="VALUE")],
) -> None:
    """Set one key (checked; a bad key or value changes nothing).

    'null' (or 'none', or '') clears a key whose default is no value (model,
    max_turns, image, ...); 'config unset KEY' puts any key back to its default."""
    from gittask.workflow.project import config_set as set_value
    from gittask.workflow.project import format_value

    parsed = set_value(open_repo(), key, value)
    typer.echo(f"{key} = {format_value(parsed) if parsed is not None else 'null'}")


@config_app.command("unset")
def config_unset(key: Annotated[str, typer.Argument(metavar="KEY")]) -> None:
    """Put one key back to its default."""
    from gittask.workflow.project import config_unset as unset
    from gittask.workflow.project import format_value

    default = unset(open_repo(), key)
    shown = format_value(default) if default is not None else "null"
    typer.echo(f"{key} = {shown} (the default)")
