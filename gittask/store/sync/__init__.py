"""Team sync: carry the task database between clones through a git remote.

On a remote the data ref ``refs/claude-tasks`` is the branch ``claude-tasks``
(a server refuses a ref directly under ``refs/``), so a plain clone fetches it
to ``refs/remotes/<remote>/claude-tasks``; notes travel as
``refs/notes/claude-tasks`` and are fetched to
``refs/notes/remotes/<remote>/claude-tasks``. Fetches only ever move those
tracking refs; this module folds them into the local refs:

- the data ref: fast-forward by compare-and-swap when the local tip is an
  ancestor (or absent), else a merge commit (:mod:`gittask.store.merge`)
  made with :meth:`TaskStore.commit`, so a concurrent local write is never lost;
- notes: ``git notes merge -s cat_sort_uniq`` (each note line stands alone).

Pushes never force: the server's fast-forward check is the remote
compare-and-swap. A rejected push fetches, merges and tries again.

Everything that talks to a remote goes through the ``git`` executable, so the
user's credentials, ssh config and the server's ref-name checks all apply.

    refs        names of refs and refspecs; small readers
    configure   the clone's fetch refspecs and notes settings (``init``/``uninit``)
    integrate   tracking refs -> local refs (fast-forward or merge); the read-path link
    transport   fetch; publish/push (atomic, never forced, merge and retry)
    roundtrip   ``task sync``/``pull``/``push`` and their report
    remote_cas  a change made on the remote's tip and pushed by id (workers' leases)
"""

from __future__ import annotations

from gittask.store.sync.configure import (
    NOTES_SETTINGS,
    configure_remote,
    ensure_configured,
    forget_data_push,
    needs_configuration,
    remove_legacy,
    unconfigure_remote,
)
from gittask.store.sync.integrate import (
    MAX_INTEGRATE_ATTEMPTS,
    IntegrateResult,
    SyncLink,
    broken_remote,
    broken_remote_warning,
    integrate,
    integrate_fetched,
    merge_notes,
)
from gittask.store.sync.refs import (
    DEFAULT_REMOTE,
    NOTES_GLOB,
    NOTES_MERGE_STRATEGY,
    NOTES_PUSH_REFSPEC,
    Progress,
    data_fetch_refspec,
    data_push_refspec,
    notes_fetch_refspec,
    notes_tracking_ref,
    remote_exists,
    remote_refspec,
    tracking_ref,
)
from gittask.store.sync.remote_cas import MAX_REMOTE_ATTEMPTS, update_remote
from gittask.store.sync.roundtrip import (
    SyncResult,
    pull,
    push_tasks,
    sync,
)
from gittask.store.sync.transport import (
    MAX_PUSH_ATTEMPTS,
    FetchResult,
    PushRejected,
    PushResult,
    RemoteUnreachable,
    fetch,
    publish,
    push,
)

__all__ = [
    "DEFAULT_REMOTE",
    "MAX_INTEGRATE_ATTEMPTS",
    "MAX_PUSH_ATTEMPTS",
    "MAX_REMOTE_ATTEMPTS",
    "NOTES_GLOB",
    "NOTES_MERGE_STRATEGY",
    "NOTES_PUSH_REFSPEC",
    "NOTES_SETTINGS",
    "FetchResult",
    "IntegrateResult",
    "Progress",
    "PushRejected",
    "PushResult",
    "RemoteUnreachable",
    "SyncLink",
    "SyncResult",
    "broken_remote",
    "broken_remote_warning",
    "configure_remote",
    "data_fetch_refspec",
    "data_push_refspec",
    "ensure_configured",
    "fetch",
    "forget_data_push",
    "integrate",
    "integrate_fetched",
    "merge_notes",
    "needs_configuration",
    "notes_fetch_refspec",
    "notes_tracking_ref",
    "publish",
    "pull",
    "push",
    "push_tasks",
    "remote_exists",
    "remote_refspec",
    "remove_legacy",
    "sync",
    "tracking_ref",
    "unconfigure_remote",
    "update_remote",
]
