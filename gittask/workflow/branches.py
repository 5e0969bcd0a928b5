"""Choosing and checking the branch a task works on."""

from __future__ import annotations

import re

from gittask.errors import UsageError
from gittask.store.database import TaskDatabase


def suggest_branch(description: str, task_id: str) -> str:
    words = re.findall(r"[a-z0-9]+", description.lower())
    slug = "-".join(words)[:40].strip("-") or "task"
    return f"claude/{slug}-{task_id[:8]}"


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


def check_branch_free(db: TaskDatabase, name: str, remote: str) -> None:
    """Refuse a branch another task uses, or that exists locally or on ``remote``."""
    owner = db.branch_owner(name)
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
    if f"refs/remotes/{remote}/{name}" in refs:
        raise UsageError(
            f"branch '{name}' already exists on {remote}", "choose another with --branch"
        )


def check_base_exists(db: TaskDatabase, base: str, remote: str) -> None:
    """Refuse a base branch that exists neither here nor as ``remote``'s copy."""
    refs = db.repo.pygit.references
    if f"refs/heads/{base}" not in refs and f"refs/remotes/{remote}/{base}" not in refs:
        raise UsageError(
            f"base branch '{base}' does not exist here or on {remote}",
            "run 'git fetch', or name an existing branch with --base",
        )
