"""Choosing and checking the branch a task works on."""

from __future__ import annotations

from gittask.config import configured_remote, project_root
from gittask.errors import UsageError
from gittask.store.database import TaskDatabase

#: Longest slug part of a derived branch name (before the short id).
SLUG_MAX = 40


def suggest_branch(description: str, task_id: str) -> str:
    """``claude/<slug of the title>-<short id>``: the title (not the whole text),
    transliterated ("Émoji" -> ``emoji``), cut at a word boundary."""
    from gittask.model.task import title_of

    title = title_of(description, width=200)
    slug = slug_of(title)
    return f"claude/{slug or 'task'}-{task_id[:8]}"


def slug_of(title: str) -> str:
    """python-slugify's slug of ``title`` (at most SLUG_MAX, cut at a word boundary).

    Plain ASCII without ``&`` (no transliteration, no HTML entities) is done here,
    as python-slugify's legacy pipeline does it (a test compares the two), which
    spares most commands its import (it compiles a pattern of every HTML entity)."""
    if not title.isascii() or "&" in title:
        from slugify import slugify

        slug = slugify(title, max_length=SLUG_MAX, word_boundary=True, save_order=True)
        if not slug:  # one word longer than SLUG_MAX: cut it
            slug = slugify(title)[:SLUG_MAX].strip("-")
        return str(slug)
    import re

    text = re.sub(r"'+", "-", title).lower()
    text = re.sub(r"(?<=\d),(?=\d)", "", text)
    text = re.sub(r"[^-a-z0-9]+", "-", text)
    text = re.sub(r"-{2,}", "-", text).strip("-")
    return _truncate(text)


def _truncate(text: str) -> str:
    """python-slugify's smart_truncate with word_boundary and save_order, on '-'."""
    if len(text) < SLUG_MAX:
        return text
    if "-" not in text:
        return text[:SLUG_MAX]
    kept = ""
    for word in text.split("-"):
        if word:
            length = len(kept) + len(word)
            if length < SLUG_MAX:
                kept += word + "-"
            elif length == SLUG_MAX:
                kept += word
                break
            else:
                break
    return (kept or text[:SLUG_MAX]).strip("-")


#: A ref is a file, each component of its name a file name: 255 bytes at most on
#: the usual file systems (ext4, xfs, btrfs, APFS, NTFS).
MAX_COMPONENT_BYTES = 255
#: The whole name, with room for ``.git/refs/remotes/<remote>/`` and the checkout's
#: path under the 4096-byte path limit.
MAX_NAME_BYTES = 1024


def _shown(name: str, width: int = 60) -> str:
    from gittask.display import escape

    text = escape(name)
    return text if len(text) <= width else text[: width - 1] + "…"


def check_branch_name(name: str, what: str = "branch") -> str:
    """``name`` if git and the file system take it as a branch (``git check-ref-format
    --branch``, components of at most 255 bytes), else a UsageError."""
    import pygit2

    from gittask.workflow.inputs import check_argument

    name = check_argument(f"the {what} name", name).strip()
    if not name or name.startswith("-") or name == "HEAD":
        raise UsageError(f"invalid {what} name '{_shown(name)}'", "see 'git help check-ref-format'")
    if not pygit2.reference_is_valid_name(f"refs/heads/{name}"):
        raise UsageError(
            f"invalid {what} name '{_shown(name)}': git does not allow it",
            "avoid spaces, control characters, '..', '~', '^', ':', '?', '*', '[', '\\', "
            "'@{', a leading or trailing '/' or '.', and a trailing '.lock'",
        )
    for part in name.split("/"):
        size = len(part.encode("utf-8"))
        if size > MAX_COMPONENT_BYTES:
            raise UsageError(
                f"invalid {what} name '{_shown(name)}': its part '{_shown(part, 24)}' is "
                f"{size} bytes, over the {MAX_COMPONENT_BYTES} a file name may have",
                "choose a shorter name",
            )
    size = len(name.encode("utf-8"))
    if size > MAX_NAME_BYTES:
        raise UsageError(
            f"invalid {what} name '{_shown(name)}': it is {size} bytes, over {MAX_NAME_BYTES}",
            "choose a shorter name",
        )
    return name


def check_branch_free(db: TaskDatabase, name: str, remote: str | None = None) -> None:
    """Refuse a branch another task uses, or that exists locally or on ``remote``
    (default: the remote the project's config names)."""
    remote = remote or configured_remote(project_root(db.repo))
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


def check_base_exists(db: TaskDatabase, base: str, remote: str | None = None) -> None:
    """Refuse a base branch that exists neither here nor as ``remote``'s copy."""
    remote = remote or configured_remote(project_root(db.repo))
    refs = db.repo.pygit.references
    if f"refs/heads/{base}" not in refs and f"refs/remotes/{remote}/{base}" not in refs:
        raise UsageError(
            f"base branch '{base}' does not exist here or on {remote}",
            "run 'git fetch', or name an existing branch with --base",
        )
