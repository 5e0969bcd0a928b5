"""Choosing and checking the branch a task works on."""

from __future__ import annotations

from gittask.errors import UsageError
from gittask.store.database import TaskDatabase

#: Longest slug part of a derived branch name (before the short id).
SLUG_MAX = 40


def suggest_branch(description: str, task_id: str) -> str:
    """``claude/<slug of the title>-<short id>``: the title (not the whole text),
    transliterated ("Émoji" -> ``emoji``), cut at a word boundary."""
    from slugify import slugify

    from gittask.model.task import title_of

    title = title_of(description, width=200)
    slug = slugify(title, max_length=SLUG_MAX, word_boundary=True, save_order=True)
    if not slug:  # one word longer than SLUG_MAX: cut it
        slug = slugify(title)[:SLUG_MAX].strip("-")
    return f"claude/{slug or 'task'}-{task_id[:8]}"


def check_branch_name(name: str) -> str:
    import pygit2

    name = name.strip()
    if not name or name.startswith("-") or name == "HEAD":
        raise UsageError(f"invalid branch name '{name}'", "see 'git help check-ref-format'")
    if not pygit2.reference_is_valid_name(f"refs/heads/{name}"):
        raise UsageError(
            f"invalid branch name '{name}': git does not allow it",
            "avoid spaces, '..', '~', '^', ':', '?', '*', '[', '\\' and a trailing '.lock'",
        )
    return name


def check_branch_free(db: TaskDatabase, name: str) -> None:
    """Refuse a branch another task uses, or that exists locally or on origin."""
    owner = db.index.branch_owner(name)
    if owner is not None:
        raise UsageError(
            f"branch '{name}' is already used by task {owner[:8]}",
            "choose another name with --branch",
        )
    refs = db.repo.pygit.references
    if f"refs/heads/{name}" in refs:
        raise UsageError(
            f"branch '{name}' already exists in this repository", "choose another with --branch"
        )
    if f"refs/remotes/origin/{name}" in refs:
        raise UsageError(
            f"branch '{name}' already exists on origin", "choose another with --branch"
        )


def check_base_exists(db: TaskDatabase, base: str) -> None:
    refs = db.repo.pygit.references
    if f"refs/heads/{base}" not in refs and f"refs/remotes/origin/{base}" not in refs:
        raise UsageError(
            f"base branch '{base}' does not exist here or on origin",
            "run 'git fetch', or name an existing branch with --base",
        )
