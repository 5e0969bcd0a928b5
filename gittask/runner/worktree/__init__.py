"""The run's own git worktree: base branch, branch start point, create, harvest, remove.

Each run checks the task's branch out, *detached*, in a fresh folder under
``naming.worktrees_dir(repo)``; the user's own checkout is never touched, and
several tasks can run at once. The agent may use git inside the container:

* the repository's shared git dir is mounted read-only at its own path (so the
  worktree's ``.git`` file resolves), with a minimal ``config`` laid over the real
  one (no remote URLs, no hooks path, no credentials) and the tool's private
  folder hidden;
* the worktree's own admin folder (HEAD, index) is writable;
* new objects go to a per-run folder (``GIT_OBJECT_DIRECTORY``), the repository's
  objects are an alternate: the agent cannot alter what is already stored.

Nothing the agent wrote is trusted afterwards. Once the container is gone and
before any host git command in the worktree, the admin folder is reduced to what
git itself puts there (:func:`reclaim_admin`: a ``config.worktree``, which host
git would read with ``extensions.worktreeConfig``, or a symlink host git would
write through, is deleted); the host runs git with explicit
``GIT_DIR``/``GIT_COMMON_DIR``/``GIT_WORK_TREE`` and hooks off, re-detaches HEAD
after checking it descends from where the run started, copies only regular
object files, refuses new commits holding a credential value
(:func:`credential_leak`), and removes the folders itself rather than through git.
Before a push, :func:`odd_files` names the large files, gitlinks and symlinks
pointing outside the worktree in the commits it would send.

On a remote engine nothing is mounted: the start goes in as a git bundle and the
agent's commits and working tree come back as one (:mod:`~.bundle`,
:func:`import_bundle`), then the same harvest follows.
"""

from __future__ import annotations

from gittask.runner.worktree.branches import (
    BranchPlan,
    base_commit,
    checked_out_at,
    fetch_branch,
    is_ancestor,
    move_branch,
    plan_branch,
    remote_exists,
    resolve_base,
)
from gittask.runner.worktree.bundle import import_bundle, start_bundle
from gittask.runner.worktree.checkout import (
    SAFE_GIT,
    Worktree,
    create_worktree,
    merge_remote_copy,
    remove_worktree,
    remove_worktree_folders,
    run_folders,
)
from gittask.runner.worktree.leaks import MIN_SECRET_LENGTH, Leak, credential_leak
from gittask.runner.worktree.oddfiles import OddFile, odd_files, unpushed_commits
from gittask.runner.worktree.reclaim import (
    ADMIN_FILES,
    ADMIN_FOLDERS,
    agent_head,
    commit_changes,
    import_objects,
    new_commits,
    reclaim_admin,
)

__all__ = [
    "ADMIN_FILES",
    "ADMIN_FOLDERS",
    "MIN_SECRET_LENGTH",
    "SAFE_GIT",
    "BranchPlan",
    "Leak",
    "OddFile",
    "Worktree",
    "agent_head",
    "base_commit",
    "checked_out_at",
    "commit_changes",
    "create_worktree",
    "credential_leak",
    "fetch_branch",
    "import_bundle",
    "import_objects",
    "is_ancestor",
    "merge_remote_copy",
    "move_branch",
    "new_commits",
    "odd_files",
    "plan_branch",
    "reclaim_admin",
    "remote_exists",
    "remove_worktree",
    "remove_worktree_folders",
    "resolve_base",
    "run_folders",
    "start_bundle",
    "unpushed_commits",
]
