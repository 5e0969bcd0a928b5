"""Task templates: stored on the data ref as ``templates/<name>.yaml``, shared like tasks.

``task create --template NAME --var k=v`` fills a template's placeholders
(:mod:`gittask.model.template`) into the description and the branch pattern;
the task then records the template's name, the blob id of the template file it
was made from and the values, so ``task show`` tells exactly what it came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gittask.config import load_config, lookup
from gittask.errors import CorruptRecordError, GittaskError, UsageError
from gittask.model.clock import utcnow
from gittask.model.template import NAME, VAR_NAME, Template, fill
from gittask.store import layout
from gittask.store.database import TaskDatabase
from gittask.store.records import check_name, record_message
from gittask.workflow.branches import check_branch_name
from gittask.workflow.live_records import live_records
from gittask.workflow.publish import after_change


@dataclass(frozen=True)
class TemplateFields:
    """What ``template create`` and ``template edit`` set (None: not given)."""

    description: str | None = None
    branch: str | None = None
    agent: str | None = None
    model: str | None = None
    base: str | None = None
    labels: list[str] | None = None


@dataclass
class Rendered:
    """A template filled in: what ``task create --template`` stores."""

    template: Template
    blob: str
    values: dict[str, str]
    description: str
    branch: str | None
    unused: list[str] = field(default_factory=list)  # --var names no placeholder uses

    def overrides(self) -> dict[str, str]:
        """The settings its tasks run with instead of the project's (agent, model)."""
        wanted = {"agent": self.template.agent, "model": self.template.model}
        return {k: v for k, v in wanted.items() if v}

    def record_fields(self) -> dict[str, Any]:
        """``record_task``'s keyword arguments for a task made from it."""
        return {"template": self.template.name, "extra": provenance(self)}


def template_name(name: str) -> str:
    return check_name("template", name, NAME)


def get_template(db: TaskDatabase, name: str, *, deleted_ok: bool = False) -> tuple[Template, str]:
    """The template called ``name`` and the blob id of its file."""
    name = template_name(name)
    db.refresh()
    stored = db.record(layout.template_path(name))
    if stored is None:
        raise GittaskError(f"no template called '{name}'", "see 'task template list'")
    try:
        template = Template.from_dict(stored.data)
    except ValueError as exc:
        raise CorruptRecordError(stored.path, str(exc)) from None
    if template.deleted and not deleted_ok:
        who = f" by {template.deleted_by}" if template.deleted_by else ""
        raise GittaskError(f"template '{name}' was deleted{who}", "see 'task template list'")
    return template, stored.blob


def list_templates(db: TaskDatabase) -> list[Template | CorruptRecordError]:
    """Every template that is not deleted (an unreadable one as its error), by name."""
    db.refresh()
    return live_records(db, layout.TEMPLATES_DIR, Template.from_dict)


def _check(db: TaskDatabase, fields: TemplateFields) -> TemplateFields:
    """Each given field as stored; bad input is one UsageError and nothing is written."""
    from gittask.workflow.inputs import check_text
    from gittask.workflow.records import check_labels

    limit = load_config(db.repo).description_max_bytes
    description = fields.description
    if description is not None:
        description = check_text("the template's description", description, limit).strip()
        if not description:
            raise UsageError("the template's description is empty; nothing was stored")
        description += "\n"
    branch = fields.branch or None
    if branch is not None:
        sample = fill(branch, {n: "x" for n in Template("t", "", branch=branch).variables})
        check_branch_name(sample, "branch pattern")
    agent = str(lookup("agent").parse(fields.agent)) if fields.agent else None
    base = check_branch_name(fields.base, "base branch") if fields.base else None
    labels = check_labels(fields.labels) if fields.labels is not None else None
    return TemplateFields(description, branch, agent, fields.model or None, base, labels)


def create_template(db: TaskDatabase, name: str, fields: TemplateFields) -> Template:
    """Store a new template (a deleted one's name may be taken again)."""
    name = template_name(name)
    checked = _check(db, fields)
    if checked.description is None:
        raise UsageError("a template needs a description (--description or --file)")
    path = layout.template_path(name)
    made: list[Template] = []

    def change(old: dict[str, Any] | None) -> tuple[dict[str, Any], str]:
        if old is not None and old.get("deleted_at") is None:
            raise GittaskError(
                f"template '{name}' already exists", f"change it with 'task template edit {name}'"
            )
        template = Template(
            name=name,
            description=checked.description or "",
            branch=checked.branch,
            agent=checked.agent,
            model=checked.model,
            base=checked.base,
            labels=checked.labels or [],
            author=db.repo.author_string(),
        )
        made[:] = [template]
        return template.to_dict(), record_message("template-create", path, f"template {name}")

    db.write_record(path, change)
    after_change(db)
    return made[0]


def edit_template(db: TaskDatabase, name: str, fields: TemplateFields) -> Template:
    """Change the given fields of a template (one commit)."""
    name = template_name(name)
    checked = _check(db, fields)
    path = layout.template_path(name)
    get_template(db, name)  # a missing or deleted one is refused before anything is written
    made: list[Template] = []

    def change(old: dict[str, Any] | None) -> tuple[dict[str, Any], str]:
        if old is None or old.get("deleted_at") is not None:
            raise GittaskError(f"template '{name}' was deleted meanwhile; nothing was changed")
        template = Template.from_dict(old)
        changed = []
        for key in ("description", "branch", "agent", "model", "base", "labels"):
            value = getattr(checked, key)
            if value is not None and value != getattr(template, key):
                setattr(template, key, value)
                changed.append(key)
        if not changed:
            raise UsageError(f"nothing to change in template '{name}'")
        template.updated_at = utcnow()
        made[:] = [template]
        detail = "changed: " + ", ".join(changed)
        return template.to_dict(), record_message("template-edit", path, f"template {name}", detail)

    db.write_record(path, change)
    after_change(db)
    return made[0]


def delete_template(db: TaskDatabase, name: str) -> Template:
    """Delete a template: its file stays as a tombstone (deleted_at, deleted_by)."""
    name = template_name(name)
    path = layout.template_path(name)
    get_template(db, name)
    made: list[Template] = []

    def change(old: dict[str, Any] | None) -> tuple[dict[str, Any], str]:
        if old is None or old.get("deleted_at") is not None:
            raise GittaskError(f"template '{name}' was already deleted")
        template = Template.from_dict(old)
        template.deleted_at = utcnow()
        template.deleted_by = db.repo.author_string()
        made[:] = [template]
        return template.to_dict(), record_message("template-delete", path, f"template {name}")

    db.write_record(path, change)
    after_change(db)
    return made[0]


def parse_vars(items: list[str]) -> dict[str, str]:
    """``--var name=value`` options as a mapping (a later one wins)."""
    values: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not VAR_NAME.fullmatch(name):
            raise UsageError(
                f"bad --var {item!r}", "write --var NAME=VALUE (NAME: letters, digits, _ and -)"
            )
        values[name] = value
    return values


def render(template: Template, blob: str, values: dict[str, str]) -> Rendered:
    """Fill the template; a missing variable is a UsageError naming all of them."""
    wanted = template.variables
    missing = [n for n in wanted if n not in values]
    if missing:
        listed = ", ".join(wanted)
        raise UsageError(
            f"template '{template.name}' needs "
            + ", ".join(f"--var {n}=..." for n in missing)
            + "; nothing was stored",
            f"its variables: {listed}",
        )
    return Rendered(
        template=template,
        blob=blob,
        values={n: values[n] for n in wanted},
        description=fill(template.description, values),
        branch=fill(template.branch, values) if template.branch else None,
        unused=[n for n in values if n not in wanted],
    )


def provenance(rendered: Rendered) -> dict[str, Any]:
    """What a task made from a template records (``task show`` prints it)."""
    extra: dict[str, Any] = {"template_blob": rendered.blob}
    if rendered.values:
        extra["template_vars"] = dict(rendered.values)
    if rendered.template.agent:
        extra["run_agent"] = rendered.template.agent
    if rendered.template.model:
        extra["run_model"] = rendered.template.model
    return extra
