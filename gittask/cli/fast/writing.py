"""``task create --no-run``, ``task delete --yes`` and ``task continue --queue``
without typer.

The writes scripts make most. Only plain command lines are taken here: for
create, the description (``-m``, ``--message`` or the argument) with ``--no-run``,
and ``--branch``, ``--base``, ``--label``, ``--json``; for delete, ids with
``--yes`` and ``--json``; for continue, one id, ``-m``/``--feedback`` and
``--queue`` (``--json``). Anything else (another option, a repeated one, ``--``,
``--help``) returns None and typer parses it, so its usage errors stay typer's.
What they do is :func:`gittask.cli.creating.create_task`,
:func:`gittask.cli.deleting.delete_tasks` and
:func:`gittask.cli.continuing.continue_task`, the same functions typer calls.
"""

from __future__ import annotations

from typing import Any

_CREATE_VALUES = {
    "-m": "message",
    "--message": "message",
    "-b": "branch",
    "--branch": "branch",
    "--base": "base",
    "-l": "labels",
    "--label": "labels",
}
_CREATE_FLAGS = {"--no-run": "no_run", "--json": "as_json"}


def create_options(args: list[str]) -> dict[str, Any] | None:
    """The options of a plain ``task create --no-run``, or None (typer parses the rest)."""
    from gittask.cli.fast.common import parse_options

    found = parse_options(args, _CREATE_FLAGS, _CREATE_VALUES, "text", ("labels",))
    if found is None or not found.get("no_run") or ("text" not in found and "message" not in found):
        return None  # a run, the editor: the full command
    return found


def create_task(options: dict[str, Any]) -> bool:
    from gittask.cli.creating import CreateRequest, create_task

    create_task(CreateRequest(**options))
    return True


def delete_options(args: list[str]) -> dict[str, Any] | None:
    """The options of a plain ``task delete --yes ID...``, or None."""
    ids = [a for a in args if not a.startswith("-")]
    flags = [a for a in args if a.startswith("-")]
    if not ids or ("--yes" not in flags and "-y" not in flags):
        return None
    if any(f not in ("--yes", "-y", "--json") for f in flags) or len(flags) != len(set(flags)):
        return None
    return {"ids": ids, "yes": True, "as_json": "--json" in flags}


def delete_tasks(options: dict[str, Any]) -> bool:
    from gittask.cli.deleting import DeleteRequest, delete_tasks

    delete_tasks(DeleteRequest(**options))
    return True


def continue_options(args: list[str]) -> dict[str, Any] | None:
    """The options of a plain ``task continue ID -m TEXT --queue``, or None."""
    from gittask.cli.fast.common import parse_options

    flags = {"--queue": "queue", "--json": "as_json"}
    values = {"-m": "feedback", "--feedback": "feedback"}
    found = parse_options(args, flags, values, "task_id")
    if found is None or "task_id" not in found or "feedback" not in found:
        return None
    return found if found.get("queue") else None  # a run: the full command


def continue_task(options: dict[str, Any]) -> bool:
    from gittask.cli.continuing import ContinueRequest, continue_task

    continue_task(ContinueRequest(**options))
    return True
