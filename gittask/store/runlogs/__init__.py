"""Run logs and agent sessions in git: one ref per task, one commit per run.

    refs/claude-tasks-logs/<task id>        the same name on a remote
        run-001/run.json                    run number, times, outcome
        run-001/agent.log.gz                the agent's output (Claude's stream-json)
        run-001/execution.log.gz            what the tool did, with timestamps
        run-001/session.jsonl.gz            the agent's session transcript, when it has one
        pruned                              run numbers ``clean --logs`` dropped, one a line

The logs live apart from ``refs/claude-tasks`` so the task ref stays small, and
outside ``refs/heads`` so a plain ``git fetch`` never downloads them: the tool
fetches one task's logs when a command needs a run it does not have.

Each run folder is written once, by the clone that ran it (the run number is
its claim). Two clones' refs combine by union: the combined commit sits on top
of the *remote's* tip and holds the remote's runs plus the local runs the remote
has not pruned. So a pruned run never comes back, and no merge makes the blobs a
prune dropped reachable again. A prune writes a new root commit (no parent).

Content arrives here already scrubbed and capped (``workflow/tasklogs/``);
this module gzips it (``mtime=0``: equal logs give equal blobs) and moves refs
by compare-and-swap. Everything that talks to a remote uses the git executable.
"""

from __future__ import annotations

from gittask.store.runlogs.names import (
    AGENT_LOG,
    EXECUTION_LOG,
    GZ,
    LOGS_REF_PREFIX,
    MAX_ATTEMPTS,
    MAX_PUSH_ATTEMPTS,
    MAX_UNCOMPRESSED,
    PRUNED,
    RUN_INFO,
    SESSION,
    TRACKING_PREFIX,
    gzip_bytes,
    logs_ref,
    push_refspec,
    run_dir,
    tracking_ref,
)
from gittask.store.runlogs.read import StoredRun, all_refs, read_run, stored_runs
from gittask.store.runlogs.remote import Fetched, fetch, push, push_rewritten
from gittask.store.runlogs.write import PruneResult, combine, delete_local, prune, store_run

__all__ = [
    "AGENT_LOG",
    "EXECUTION_LOG",
    "GZ",
    "LOGS_REF_PREFIX",
    "MAX_ATTEMPTS",
    "MAX_PUSH_ATTEMPTS",
    "MAX_UNCOMPRESSED",
    "PRUNED",
    "RUN_INFO",
    "SESSION",
    "TRACKING_PREFIX",
    "Fetched",
    "PruneResult",
    "StoredRun",
    "all_refs",
    "combine",
    "delete_local",
    "fetch",
    "gzip_bytes",
    "logs_ref",
    "prune",
    "push",
    "push_refspec",
    "push_rewritten",
    "read_run",
    "run_dir",
    "store_run",
    "stored_runs",
    "tracking_ref",
]
