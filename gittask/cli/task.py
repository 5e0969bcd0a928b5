"""``claude-container task ...``: the command group. Each command lives in the module
named after what it does, and is added here, in the order ``task --help`` lists them:

- :mod:`~gittask.cli.create`: ``create``
- :mod:`~gittask.cli.browse`: ``list``, ``search``, ``history``
- :mod:`~gittask.cli.show`: ``show``
- :mod:`~gittask.cli.delete`, :mod:`~gittask.cli.stop`, :mod:`~gittask.cli.labels`:
  ``delete``, ``stop``, ``label``
- :mod:`~gittask.cli.review`: ``diff``, ``checkout``, ``open``
- :mod:`~gittask.cli.edit`: ``edit``
- and, from :mod:`gittask.cli.commands`: :mod:`~gittask.cli.run` (``start``,
  ``continue``), :mod:`~gittask.cli.logs`, :mod:`~gittask.cli.sync`,
  :mod:`~gittask.cli.pr`, :mod:`~gittask.cli.deps` (``deps``; ``list --tree``) and
  the sub-groups :mod:`~gittask.cli.template` (``template ...``) and
  :mod:`~gittask.cli.schedule` (``schedule ...``).
"""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Create, run, inspect and manage tasks (aliases: ls = list, rm = delete, view = show).",
    no_args_is_help=True,
    rich_markup_mode=None,  # plain help: rich help costs ~80 ms of start-up
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _register() -> None:
    """The commands, then the aliases people type (gh, docker): ls, rm, view."""
    from gittask.cli import browse, create, delete, edit, labels, review, show, stop

    app.command("create")(create.create)
    app.command("list")(browse.list_tasks)
    app.command("show")(show.show)
    app.command("edit")(edit.edit_task)
    app.command("search")(browse.search)
    app.command("history")(browse.history)
    app.command("delete")(delete.delete)
    app.command("stop")(stop.stop)
    # "-x" is a label to remove, not an option
    app.command("label", context_settings={"ignore_unknown_options": True})(labels.label_task)
    review.register(app)
    app.command("ls", hidden=True, help="Alias of 'list'.")(browse.list_tasks)
    app.command("rm", hidden=True, help="Alias of 'delete'.")(delete.delete)
    app.command("view", hidden=True, help="Alias of 'show'.")(show.show)


_register()
