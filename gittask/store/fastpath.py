"""The read-only fast path: is the local index current? Answered without pygit2.

Importing pygit2 costs ~110 ms; ``task list`` on a current index needs only two
ref reads and one sqlite query.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from gittask.store import layout
from gittask.store.fastrefs import common_dir_of, find_git_dir, read_ref
from gittask.store.index import TaskIndex

INDEX_FILE = "index.sqlite"


def _default_remote(_root: Path) -> str:
    return layout.DEFAULT_REMOTE


def fast_index(
    start: Path | None = None, remote_for: Callable[[Path], str] = _default_remote
) -> TaskIndex | None:
    """The index, if it is provably current, found without loading pygit2.

    Current means: the data ref, the remote-tracking branch and the fetched notes
    are exactly where they were when the index was last brought up to date (a
    plain ``git fetch`` that brought either leaves the merge to the full path).
    ``remote_for``
    names the remote from the main checkout's folder (the project's config).
    """
    git_dir = find_git_dir((start or Path.cwd()).resolve())
    if git_dir is None:
        return None
    common = common_dir_of(git_dir)
    path = common / "claude-tasks" / INDEX_FILE
    if not path.is_file():
        return None
    tip = read_ref(common, layout.DATA_REF)
    # the main checkout's config names the remote (a wrong guess only costs the slow path)
    name = remote_for(common.parent) if common.name == ".git" else layout.DEFAULT_REMOTE
    remote = read_ref(common, f"refs/remotes/{name}/{layout.REMOTE_BRANCH}")
    notes = read_ref(common, layout.notes_tracking_ref(name))
    if tip is None or remote is None or notes is None:
        return None
    index = TaskIndex(path)
    try:
        if (
            index.tip == tip
            and (index.get_meta("remote_seen") or "") == remote
            and (not notes or index.get_meta("remote_notes_seen") == notes)
        ):
            return index
    except Exception:
        pass
    index.close()
    return None
