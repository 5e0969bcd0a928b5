"""``claude-container task template ...``: create, list, show, edit and delete templates,
and what ``task create --template NAME --var k=v [--edit]`` does with one."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gittask.cli import output
from gittask.cli.shared import JsonOpt, open_db

if TYPE_CHECKING:
    from gittask.model.template import Template
    from gittask.workflow.database import TaskDatabase
    from gittask.workflow.templates import Rendered, TemplateFields

app = typer.Typer(
    help="Task templates shared through git: a description and a branch pattern with "
    "{name} placeholders.",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

NameArg = Annotated[str, typer.Argument(metavar="NAME", help="The template's name.")]
DescriptionOpt = Annotated[
    str | None,
    typer.Option("--description", "-m", help="The description; {name} is a placeholder."),
]
FileOpt = Annotated[
    Path | None, typer.Option("--file", "-f", help="Read the description from a file ('-': stdin).")
]
BranchOpt = Annotated[
    str | None, typer.Option("--branch", "-b", help="Branch name pattern, e.g. 'bugfix/{issue}'.")
]
AgentOpt = Annotated[str | None, typer.Option("--agent", help="Agent its tasks run with.")]
ModelOpt = Annotated[str | None, typer.Option("--model", help="Model its tasks run with.")]
BaseOpt = Annotated[str | None, typer.Option("--base", help="Base branch of its tasks.")]
LabelOpt = Annotated[
    list[str] | None, typer.Option("--label", "-l", help="A label of its tasks (repeat for more).")
]

EDIT_HELP = [
    "Change the template's description above that line ({name} is a placeholder).",
    "Everything from that line down is ignored; an empty text changes nothing.",
]
FILLED_HELP = [
    "This is the task made from the template; change it as you like.",
    "Everything from that line down is ignored; an empty description aborts.",
]


def _text(db: TaskDatabase, description: str | None, file: Path | None) -> str | None:
    from gittask.config import load_config
    from gittask.errors import UsageError
    from gittask.workflow.inputs import read_text

    if description is not None and file is not None:
        raise UsageError("give the description with --description or --file, not both")
    if file is not None:
        limit = load_config(db.repo).description_max_bytes
        return read_text("the template's description", file, limit)
    return description


def _fields(
    description: str | None,
    branch: str | None,
    agent: str | None,
    model: str | None,
    base: str | None,
    label: list[str] | None,
) -> TemplateFields:
    from gittask.workflow.templates import TemplateFields

    return TemplateFields(description, branch, agent, model, base, label)


def _json(template: Template) -> dict[str, Any]:
    data = template.to_dict()
    data["variables"] = template.variables
    return data


@app.command("create")
def create(
    name: NameArg,
    description: DescriptionOpt = None,
    file: FileOpt = None,
    branch: BranchOpt = None,
    agent: AgentOpt = None,
    model: ModelOpt = None,
    base: BaseOpt = None,
    label: LabelOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Store a template (description from --description or --file)."""
    from gittask.workflow.templates import create_template

    db = open_db()
    text = _text(db, description, file)
    made = create_template(db, name, _fields(text, branch, agent, model, base, label))
    if as_json:
        output.print_json(_json(made))
        return
    names = ", ".join(made.variables) or "none"
    output.info(f"stored template {made.name} (variables: {names})")


@app.command("list")
def list_command(as_json: JsonOpt = False) -> None:
    """The templates, by name, with their variables."""
    from gittask.errors import CorruptRecordError
    from gittask.model.task import title_of
    from gittask.workflow.templates import list_templates

    found = list_templates(open_db(reading=True))
    good = [t for t in found if not isinstance(t, CorruptRecordError)]
    for bad in found:
        if isinstance(bad, CorruptRecordError):
            output.info(f"warning: {bad.message}")
    if as_json:
        output.print_json([_json(t) for t in good])
        return
    if not good:
        output.info("no templates ('task template create NAME --description TEXT' makes one)")
        return
    output.table(
        ["NAME", "VARIABLES", "BRANCH", "DESCRIPTION"],
        [
            [t.name, ", ".join(t.variables), t.branch or "", title_of(t.description, 50)]
            for t in good
        ],
    )


@app.command("show")
def show(name: NameArg, as_json: JsonOpt = False) -> None:
    """One template: its fields, variables and description."""
    from gittask.display import escape
    from gittask.workflow.templates import get_template

    template, blob = get_template(open_db(reading=True), name)
    if as_json:
        output.print_json({**_json(template), "blob": blob})
        return
    fields = [
        ("name", template.name),
        ("variables", ", ".join(template.variables)),
        ("branch", template.branch),
        ("agent", template.agent),
        ("model", template.model),
        ("base", template.base),
        ("labels", ", ".join(template.labels)),
        ("author", template.author),
        ("blob", blob),
    ]
    lines = [f"{k + ':':<11} {escape(str(v))}" for k, v in fields if v]
    lines += ["", "description:", *("  " + escape(x) for x in template.description.splitlines())]
    typer.echo("\n".join(lines))


@app.command("edit")
def edit(
    name: NameArg,
    description: DescriptionOpt = None,
    file: FileOpt = None,
    branch: BranchOpt = None,
    agent: AgentOpt = None,
    model: ModelOpt = None,
    base: BaseOpt = None,
    label: LabelOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a template: the given fields, or (with none) its description in the editor."""
    from gittask.cli.editor import edit as run_editor
    from gittask.cli.editor import find_editor
    from gittask.errors import UsageError
    from gittask.workflow.templates import edit_template, get_template

    db = open_db()
    text = _text(db, description, file)
    given = (text, branch, agent, model, base, label)
    if all(v is None for v in given):
        current, _ = get_template(db, name)
        editor = find_editor(db.repo.config_get("core.editor"))
        text = run_editor(current.description.rstrip("\n"), EDIT_HELP, editor, "description")
        if not text.strip():
            raise UsageError("the edited description is empty; nothing was changed")
    made = edit_template(db, name, _fields(text, branch, agent, model, base, label))
    if as_json:
        output.print_json(_json(made))
        return
    output.info(f"changed template {made.name}")


@app.command("delete")
def delete(name: NameArg, as_json: JsonOpt = False) -> None:
    """Delete a template (tasks made from it keep what they recorded)."""
    from gittask.workflow.templates import delete_template

    made = delete_template(open_db(), name)
    if as_json:
        output.print_json({"name": made.name, "deleted_at": made.to_dict()["deleted_at"]})
        return
    output.info(f"deleted template {made.name}")


def from_template(
    db: TaskDatabase,
    name: str,
    variables: list[str] | None,
    edit_text: bool,
    given_text: bool,
) -> Rendered:
    """``task create --template NAME --var k=v [--edit]``: the filled-in template.

    A missing variable is an error listing the template's variables; an unused one
    is a warning; ``--edit`` opens the filled-in text in the editor first.
    """
    from gittask.cli.editor import edit as run_editor
    from gittask.cli.editor import find_editor
    from gittask.errors import UsageError
    from gittask.workflow.templates import get_template, parse_vars, render

    if given_text:
        raise UsageError(
            "--template gives the description: leave out DESCRIPTION, --message and --file"
        )
    template, blob = get_template(db, name)
    made = render(template, blob, parse_vars(variables or []))
    for unused in made.unused:
        output.info(
            f"warning: --var {unused} is not used: template '{template.name}' has no {{{unused}}}"
        )
    if edit_text:
        editor = find_editor(db.repo.config_get("core.editor"))
        made.description = run_editor(made.description.rstrip("\n"), FILLED_HELP, editor, "task")
    return made
