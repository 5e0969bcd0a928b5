"""Three-way merge of two task histories: task by task, field by field.

Two clones that changed the data ref independently are combined into one tree:

- only the parts whose tree ids differ are walked: the ``tasks/<ab>`` fan-out
  folders, then the task folders inside them, so the cost follows the number
  of changed tasks, not the size of the database;
- a task changed on one side only takes that side's folder as it is;
- a task changed on both sides is merged file by file: feedback files are a
  union (their names never collide), and each YAML file (``metadata.yaml``, a
  feedback entry edited on both sides) is merged key by key against the merge
  base; a key changed on both sides to different values takes the later
  change: the side whose newest commit touching that task is later (commit
  time, then commit id), so two clones merging independently build identical
  trees. ``commits`` and ``depends_on`` are merged as sets, keeping order;
  the totals ``cost_usd``, ``input_tokens`` and ``output_tokens`` add both
  sides' additions to the base (runs on two clones both count), silently;
- when the two sides hold different worker leases, the run's fields come from
  the newer lease, whatever the commit times (:mod:`~gittask.store.merge.fencing`);
- a task deleted on one side and edited on the other stays deleted; the
  merge reports it, with the commit that made the dropped edit;
- tombstones and other files are unioned, later change winning on clashes;
- named records (``templates/<name>.yaml``, ``schedules/<id>.yaml``) are merged
  key by key like a task's metadata; the later change to that record (its
  ``Record-Id`` trailer) wins a clash. A delete is a tombstone inside the
  record (``deleted_at``), so a delete and an edit merge to a deleted record.

YAML is merged as text: each top-level key of a block-style mapping (as
:mod:`gittask.store.yamlio` writes it) is one chunk, compared and copied
verbatim, so no document is parsed or re-dumped unless it has an unusual shape.
What comes from the other side is checked first (names, kinds, YAML syntax),
and a history that does not hold task records raises
:class:`InvalidHistoryError` before anything is written.
"""

from __future__ import annotations

import pygit2

from gittask.store.merge.objects import commit_of, entries
from gittask.store.merge.report import DeleteKept, MergeResult, Resolution
from gittask.store.merge.tree import Side, TreeMerger
from gittask.store.merge.validate import IncomingCheck, InvalidHistoryError
from gittask.store.merge.yamltext import chunk_value, split_chunks, syntax_error

__all__ = [
    "DeleteKept",
    "InvalidHistoryError",
    "MergeResult",
    "Resolution",
    "check_incoming",
    "chunk_value",
    "merge_commits",
    "split_chunks",
    "syntax_error",
]


def merge_commits(
    git: pygit2.Repository,
    ours: pygit2.Oid,
    theirs: pygit2.Oid,
    *,
    ours_label: str = "local",
    theirs_label: str = "the remote",
    theirs_ref: str = "the other side",
) -> MergeResult:
    """Merge the task trees of two commits (against their merge base, if any).

    Writes the merged tree's objects and returns it with a report; moves no
    ref. The result does not depend on which side is ``ours``.
    """
    base_oid = git.merge_base(ours, theirs)
    merger = TreeMerger(
        git,
        commit_of(git, base_oid) if base_oid is not None else None,
        Side(ours_label, commit_of(git, ours)),
        Side(theirs_label, commit_of(git, theirs)),
        theirs_ref,
    )
    return merger.run()


def check_incoming(
    git: pygit2.Repository,
    ours: pygit2.Oid | None,
    theirs: pygit2.Oid,
    *,
    theirs_ref: str = "the other side",
) -> set[str]:
    """Check what ``theirs`` adds on top of ``ours`` (a fast-forward); the changed task ids.

    Raises InvalidHistoryError when the new part does not hold task records.
    """
    from gittask.store import layout
    from gittask.store.merge.objects import Objects

    theirs_tree = commit_of(git, theirs).tree
    base_tree = commit_of(git, ours).tree if ours is not None else None
    check = IncomingCheck(Objects(git), theirs_ref)
    base_top, their_top = entries(base_tree), entries(theirs_tree)
    check.top(base_top, their_top)
    if base_top.get(layout.TASKS_DIR) != their_top.get(layout.TASKS_DIR):
        check.incoming_fans(base_top.get(layout.TASKS_DIR), their_top.get(layout.TASKS_DIR))
    for folder in layout.RECORD_DIRS:
        if base_top.get(folder) != their_top.get(folder):
            check.incoming_records(folder, base_top.get(folder), their_top.get(folder))
    return check.incoming
