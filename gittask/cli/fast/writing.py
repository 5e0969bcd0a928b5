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
    found: dict[str, Any] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        name, inline = arg.split("=", 1) if arg.startswith("--") and "=" in arg else (arg, None)
        value: str | bool
        if name in _CREATE_FLAGS and inline is None:
            key, value = _CREATE_FLAGS[name], True
        elif name in _CREATE_VALUES:
            if inline is None:
                if i + 1 >= len(args):
                    return None
                i += 1
                inline = args[i]
            key, value = _CREATE_VALUES[name], inline
        elif not arg.startswith("-") and "text" not in found:
            key, value = "text", arg
        else:
            return None
        if key == "labels":
            found.setdefault("labels", []).append(value)
        elif key in found:
            return None  # given twice: typer says which one wins, or that it is wrong
        else:
            found[key] = value
        i += 1
    if not found.get("no_run") or ("text" not in found and "message" not in found):
        return None  # a run, or the editor: the full command
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
    found: dict[str, Any] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        value: str | bool
        if arg in ("--queue", "--json"):
            key, value = ("queue" if arg == "--queue" else "as_json"), True
        elif arg in ("-m", "--feedback") and i + 1 < len(args):
            key, value = "feedback", args[i + 1]
            i += 1
        elif arg.startswith("--feedback="):
            key, value = "feedback", arg.split("=", 1)[1]
        elif not arg.startswith("-"):
            key, value = "task_id", arg
        else:
            return None
        if key in found:
            return None  # given twice: typer's word
        found[key] = value
        i += 1
    if not found.get("queue") or "feedback" not in found or "task_id" not in found:
        return None  # a run, the editor, a review: the full command
    return found


def continue_task(options: dict[str, Any]) -> bool:
    from gittask.cli.continuing import ContinueRequest, continue_task

    continue_task(ContinueRequest(**options))
    return True
