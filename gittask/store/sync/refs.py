"""Names of the refs and refspecs sync uses, and small helpers to read refs and settings."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pygit2

from gittask.errors import GittaskError
from gittask.store import layout
from gittask.store.repo import GitRepo

DEFAULT_REMOTE = layout.DEFAULT_REMOTE
NOTES_MERGE_STRATEGY = "cat_sort_uniq"

Progress = Callable[[str], None]


def quiet(_: str) -> None:
    pass


# -- names ------------------------------------------------------------------------------


def tracking_ref(remote: str = DEFAULT_REMOTE, branch: str = layout.REMOTE_BRANCH) -> str:
    """Where a fetch leaves the remote's copy of the data ref."""
    return f"refs/remotes/{remote}/{branch}"


def notes_tracking_ref(remote: str = DEFAULT_REMOTE) -> str:
    """Where a fetch leaves the remote's task notes."""
    return layout.notes_tracking_ref(remote)


def data_fetch_refspec(remote: str, branch: str = layout.REMOTE_BRANCH) -> str:
    # a partial glob: unlike an exact refspec, it does not break `git fetch`
    # while the remote has no such branch yet
    return f"+refs/heads/{branch}*:refs/remotes/{remote}/{branch}*"


def notes_fetch_refspec(remote: str) -> str:
    return f"+{layout.NOTES_REF}*:{notes_tracking_ref(remote)}*"


def data_push_refspec(branch: str = layout.REMOTE_BRANCH) -> str:
    """What the tool pushes for the data ref (never written to the git config)."""
    return f"{layout.DATA_REF}:refs/heads/{branch}"


# what older versions added to `remote.<name>.push`; removed on sight
NOTES_PUSH_REFSPEC = f"{layout.NOTES_REF}*:{layout.NOTES_REF}*"

# notes.rewriteRef: an exact name that does not exist yet makes every amend and
# rebase warn "notes ref ... is invalid"; a glob does not
NOTES_GLOB = f"{layout.NOTES_REF}*"


def remote_refspec(ref: str) -> str:
    """The push refspec for a local ref: branches keep their name, other refs go
    under ``refs/heads/`` (a server refuses most names outside it); "src:dst" as given."""
    if ":" in ref:
        return ref
    if ref.startswith("refs/heads/"):
        return f"{ref}:{ref}"
    return f"{ref}:refs/heads/{ref.removeprefix('refs/')}"


# -- small ref helpers ------------------------------------------------------------------


def ref_oid(git: pygit2.Repository, name: str) -> pygit2.Oid | None:
    ref = git.references.get(name)
    if ref is None:
        return None
    try:
        target = ref.resolve().target
    except (KeyError, pygit2.GitError):
        return None
    return target if isinstance(target, pygit2.Oid) else None


def remote_exists(repo: GitRepo, remote: str) -> bool:
    """Whether the git remote ``remote`` is configured."""
    try:
        return f"remote.{remote}.url" in repo.pygit.config
    except pygit2.GitError:
        return False


def require_remote(repo: GitRepo, remote: str) -> None:
    if not remote_exists(repo, remote):
        raise GittaskError(
            f"there is no git remote '{remote}'",
            f"add one with: git remote add {remote} <url>",
        )


def config_values(repo: GitRepo, key: str) -> list[str]:
    try:
        return [str(v) for v in repo.pygit.config.get_multivar(key)]
    except (KeyError, pygit2.GitError):
        return []


def refspec_covers(spec: str, ref: str) -> bool:
    """Whether the fetch refspec ``spec`` takes the remote ref ``ref``."""
    if spec.startswith("^"):
        return False
    source = spec.lstrip("+").split(":", 1)[0]
    if "*" in source:
        head, _, tail = source.partition("*")
        return ref.startswith(head) and ref.endswith(tail) and len(ref) >= len(head) + len(tail)
    return source == ref


def hex_of(oid: pygit2.Oid | None) -> str | None:
    return str(oid) if oid is not None else None


def last_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [x.strip() for x in (proc.stderr or proc.stdout or "").splitlines() if x.strip()]
    for line in reversed(lines):
        if line.startswith(("fatal:", "error:")):
            return line
    return lines[-1] if lines else f"exit code {proc.returncode}"
