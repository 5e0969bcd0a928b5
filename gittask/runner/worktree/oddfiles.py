"""Files a push should not carry without someone saying so: large files, nested
repositories and symlinks pointing outside the worktree.

An agent can commit a 2 GB file (which the remote refuses, or keeps forever), a
gitlink (a nested repository: mode 160000, a commit the remote does not have),
or a symlink to ``/home/you/.ssh`` or ``../../..`` that a teammate's tools follow
after a checkout. :func:`odd_files` finds each in the commits a push would send
(:func:`unpushed_commits`); the run (and ``task push``) refuses to push them
unless ``--allow-odd-files`` is given.

A symlink is resolved as a checkout would see it: relative to its folder,
following the other symlinks of the same tree (``a -> d/../..`` with ``d -> ..``
escapes although it reads as staying inside).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from gittask.runner.worktree.leaks import git_bytes
from gittask.store.repo import GitRepo

#: Symlinks followed while resolving one (as the kernel's limit).
MAX_LINKS = 40
#: Files named in a one-line message (the rest are counted).
SHOWN = 5

_GITLINK = b"160000"
_SYMLINK = b"120000"


@dataclass(frozen=True)
class OddFile:
    path: str
    commit: str
    why: str  # "62.0 MiB, over files.max_bytes (50.0 MiB)", "a nested repository", ...

    def describe(self) -> str:
        return f"{self.path} ({self.why})"

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "commit": self.commit, "why": self.why}


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"


def describe(found: list[OddFile]) -> str:
    """``a.bin (62.0 MiB, over ...), vendor/x (a nested repository) and 3 more``."""
    shown = ", ".join(f.describe() for f in found[:SHOWN])
    more = len(found) - SHOWN
    return f"{shown} and {more} more" if more > 0 else shown


def unpushed_commits(repo: GitRepo, head: str, remote: str) -> list[str]:
    """The commits reachable from ``head`` that no ref of ``remote`` has (what a push sends)."""
    out = git_bytes(repo, ["rev-list", head, "--not", f"--remotes={remote}"], b"")
    return out.decode("ascii", "replace").split()


def _new_entries(repo: GitRepo, commits: list[str]) -> list[tuple[str, bytes, str, str]]:
    """(commit, mode, object, path) of every entry the ``commits`` add or change."""
    proc = git_bytes(
        repo,
        ["diff-tree", "--stdin", "-r", "-z", "--raw", "--no-renames", "--root", "-m"],
        ("\n".join(commits) + "\n").encode(),
    )
    entries: list[tuple[str, bytes, str, str]] = []
    tokens = proc.split(b"\0")
    current, i = commits[0], 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        if token.startswith(b":"):
            path = tokens[i] if i < len(tokens) else b""
            i += 1
            fields = token[1:].split()
            if len(fields) < 5 or not fields[3].strip(b"0"):
                continue  # a deletion
            name = path.decode("utf-8", "surrogateescape")
            entries.append((current, fields[1], fields[3].decode("ascii"), name))
        elif token.strip():
            current = token.split()[0].decode("ascii", "replace")
    return entries


def _sizes(repo: GitRepo, objects: list[str]) -> dict[str, int]:
    if not objects:
        return {}
    out = git_bytes(repo, ["cat-file", "--batch-check"], ("\n".join(objects) + "\n").encode())
    sizes: dict[str, int] = {}
    for line in out.decode("ascii", "replace").splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2].isdigit():
            sizes[parts[0]] = int(parts[2])
    return sizes


def _contents(repo: GitRepo, objects: list[str]) -> dict[str, str]:
    """The content of small blobs (symlink targets), by object name."""
    if not objects:
        return {}
    out = git_bytes(repo, ["cat-file", "--batch"], ("\n".join(objects) + "\n").encode())
    found: dict[str, str] = {}
    at = 0
    while at < len(out):
        end = out.index(b"\n", at)
        header = out[at:end].split()
        at = end + 1
        if len(header) != 3:
            continue
        size = int(header[2])
        found[header[0].decode("ascii")] = out[at : at + size].decode("utf-8", "surrogateescape")
        at += size + 1
    return found


def _tree_links(repo: GitRepo, commit: str) -> dict[str, str]:
    """Every symlink of ``commit``'s tree: path -> target."""
    out = git_bytes(repo, ["ls-tree", "-r", "-z", commit], b"")
    links: dict[str, str] = {}
    for item in out.split(b"\0"):
        meta, _, path = item.partition(b"\t")
        parts = meta.split()
        if len(parts) == 3 and parts[0] == _SYMLINK:
            links[path.decode("utf-8", "surrogateescape")] = parts[2].decode("ascii")
    targets = _contents(repo, list(set(links.values())))
    return {path: targets.get(obj, "") for path, obj in links.items()}


def escapes(path: str, links: dict[str, str]) -> bool:
    """Whether the symlink at ``path`` points outside the tree (``links``: the tree's
    symlinks, path -> target), following symlinks as a checkout would."""
    stack = [p for p in posixpath.dirname(path).split("/") if p]
    pending = links.get(path, "").split("/")
    if links.get(path, "").startswith("/"):
        return True
    followed = 0
    while pending:
        part = pending.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            if not stack:
                return True
            stack.pop()
            continue
        stack.append(part)
        target = links.get("/".join(stack))
        if target is None:
            continue
        followed += 1
        if followed > MAX_LINKS or target.startswith("/"):
            return True  # a loop, or an absolute path
        stack.pop()
        pending = target.split("/") + pending
    return False


def odd_files(repo: GitRepo, commits: list[str], max_bytes: int) -> list[OddFile]:
    """The large files, gitlinks and escaping symlinks the ``commits`` add, in order."""
    if not commits:
        return []
    entries = _new_entries(repo, commits)
    blobs = [obj for _, mode, obj, _ in entries if mode not in (_GITLINK, _SYMLINK)]
    sizes = _sizes(repo, sorted(set(blobs)))
    trees: dict[str, dict[str, str]] = {}
    found: list[OddFile] = []
    seen: set[tuple[str, str]] = set()
    for commit, mode, obj, path in entries:
        if (path, obj) in seen:
            continue
        seen.add((path, obj))
        if mode == _GITLINK:
            found.append(OddFile(path, commit, f"a nested repository (gitlink to {obj[:12]})"))
        elif mode == _SYMLINK:
            if commit not in trees:
                trees[commit] = _tree_links(repo, commit)
            links = trees[commit]
            if escapes(path, links):
                target = links.get(path, "")
                found.append(
                    OddFile(path, commit, f"a symlink to {target!r}, outside the worktree")
                )
        elif sizes.get(obj, 0) > max_bytes:
            found.append(
                OddFile(
                    path,
                    commit,
                    f"{_mib(sizes[obj])}, over files.max_bytes ({_mib(max_bytes)})",
                )
            )
    return found
