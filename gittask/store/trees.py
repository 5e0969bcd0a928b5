"""Small pygit2 tree helpers: rewrite one path, touching only the trees on it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Union

import pygit2

# a folder to write: file name -> bytes, or sub-folder name -> FolderSpec
FolderSpec = Mapping[str, Union[bytes, "FolderSpec"]]


def subtree(repo: pygit2.Repository, tree: pygit2.Tree | None, path: str) -> pygit2.Tree | None:
    if tree is None:
        return None
    try:
        obj = tree[path]  # an entry is the object itself (pygit2 >= 1.15), read on demand
    except KeyError:
        return None
    return obj if isinstance(obj, pygit2.Tree) else None


def blob_text(repo: pygit2.Repository, tree: pygit2.Tree, name: str) -> str | None:
    try:
        obj = tree[name]
    except KeyError:
        return None
    if not isinstance(obj, pygit2.Blob):
        return None
    return obj.data.decode("utf-8", errors="replace")


def write_folder(
    repo: pygit2.Repository, base: pygit2.Tree | None, files: FolderSpec
) -> pygit2.Oid:
    """A tree holding ``base``'s entries overlaid with ``files`` (recursively)."""
    builder = repo.TreeBuilder(base) if base is not None else repo.TreeBuilder()
    for name, content in files.items():
        if isinstance(content, bytes):
            builder.insert(name, repo.create_blob(content), pygit2.GIT_FILEMODE_BLOB)
        else:
            old = None
            if base is not None and name in base:
                obj = repo[base[name].id]
                old = obj if isinstance(obj, pygit2.Tree) else None
            builder.insert(name, write_folder(repo, old, content), pygit2.GIT_FILEMODE_TREE)
    return builder.write()


def replace_path(
    repo: pygit2.Repository,
    root: pygit2.Tree | None,
    path: str,
    new: pygit2.Oid | None,
    mode: int = pygit2.GIT_FILEMODE_TREE,
) -> pygit2.Oid:
    """A copy of ``root`` with ``path`` set to ``new`` (or removed when None).

    Empty folders left by a removal are removed too.
    """
    head, _, rest = path.partition("/")
    builder = repo.TreeBuilder(root) if root is not None else repo.TreeBuilder()
    if rest:
        child = subtree(repo, root, head)
        child_oid = replace_path(repo, child, rest, new, mode)
        if len(repo[child_oid]) == 0:  # type: ignore[arg-type]
            if builder.get(head) is not None:
                builder.remove(head)
        else:
            builder.insert(head, child_oid, pygit2.GIT_FILEMODE_TREE)
    elif new is None:
        if builder.get(head) is not None:
            builder.remove(head)
    else:
        builder.insert(head, new, mode)
    return builder.write()


def with_readme(repo: pygit2.Repository, root: pygit2.Tree | None) -> pygit2.Tree:
    """``root`` with the data ref's README.md (added when missing: a first write)."""
    from gittask.store import layout

    if root is not None and layout.README_FILE in root:
        return root
    readme = repo.create_blob(layout.README_TEXT.encode())
    new_root = repo[replace_path(repo, root, layout.README_FILE, readme, pygit2.GIT_FILEMODE_BLOB)]
    assert isinstance(new_root, pygit2.Tree)
    return new_root
