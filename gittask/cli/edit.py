"""``task edit``: change a task's description (its first line is the title) in the editor,
or from -m / --file; one commit on refs/claude-tasks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gittask.cli import output
from gittask.cli.shared import IdArg, JsonOpt, open_db

EDIT_HELP = [
    "Edit the task's description above that line; its first line is the title.",
    "Everything from that line down is ignored; an empty description changes nothing.",
]


def edit_task(
    task_id: IdArg,
    message: Annotated[
        str | None, typer.Option("--message", "-m", help="The new description, inline.")
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", "-f", help="Read the new description from a file ('-': stdin)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Edit a task's title and description (the editor opens on the current text).

    Stored as one commit; unchanged text stores nothing, empty text is refused, and
    a running task cannot be edited. If the command stops after the editor closed,
    the text is kept in .git/claude-tasks/TASK_EDITMSG.
    """
    from gittask.cli.editor import edit, find_editor
    from gittask.config import load_config
    from gittask.errors import UsageError
    from gittask.workflow.editing import check_editable, edit_description
    from gittask.workflow.inputs import check_text, read_text

    if file is not None and message is not None:
        raise UsageError("give the description with --file or --message, not both")
    db = open_db()
    db.refresh()
    task = db.get(task_id)
    check_editable(db, task)  # before the editor: nobody edits in vain
    limit = load_config(db.repo).description_max_bytes
    from_editor = message is None and file is None
    if message is not None:
        text = check_text("the description", message, limit)
    elif file is not None:
        text = read_text("the description", file, limit)
    else:
        editor = find_editor(db.repo.config_get("core.editor"))
        text = edit(task.description.strip(), EDIT_HELP, editor, "description")
    try:
        text = check_text("the description", text, limit)
        edited = edit_description(db, task, text)
    except BaseException:
        if from_editor and text.strip():
            from gittask.cli import prompts

            kept = prompts.save_draft(db.repo.state_dir, "description", text)
            prompts.say_draft_kept(kept, "description", f"task edit {task.id[:8]} --file")
        raise
    if as_json:
        shown = edited or task
        output.print_json({"id": shown.id, "title": shown.title, "changed": edited is not None})
        return
    if edited is None:
        output.info(f"nothing changed: task {task.id[:8]} keeps its description")
        return
    output.info(f"edited task {edited.id[:8]}: {edited.title}")
