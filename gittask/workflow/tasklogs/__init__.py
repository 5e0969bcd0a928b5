"""Run logs and agent sessions that travel with the task (stored by ``store/runlogs/``).

- :func:`keep_run`, at the end of a run: the run's agent output, execution log,
  ``run.json`` and the agent's session transcript, each scrubbed, capped at
  ``logs.max_bytes`` (a cut log ends with a line saying so) and checked for
  credential values, become one commit on the task's logs ref, which is pushed.
- :func:`find_run`, for ``task logs``: a run this clone has no folder for is
  read from the logs ref, fetched from the remote when the ref lacks it.
- :func:`restore_session`, before a run: the session transcript that a run on
  another clone left goes into this clone's agent-state folder, so ``--resume``
  finds it.
- :func:`clean_logs`, for ``clean --logs --older-than``: runs older than that
  leave every logs ref (and the remote's) and the local run folders.
"""

from __future__ import annotations

from gittask.workflow.tasklogs.capping import Capped, cap_file, find_credential
from gittask.workflow.tasklogs.keep import LOCAL_FILES, keep_run, push_logs
from gittask.workflow.tasklogs.prune import CleanLogs, clean_logs, local_logs_roots, parse_age
from gittask.workflow.tasklogs.sessions import (
    SessionLocator,
    claude_transcript,
    restore_session,
    transcript_path,
)
from gittask.workflow.tasklogs.views import (
    RunView,
    Say,
    fetch_logs,
    find_run,
    known_runs,
    latest_run,
)

__all__ = [
    "LOCAL_FILES",
    "Capped",
    "CleanLogs",
    "RunView",
    "Say",
    "SessionLocator",
    "cap_file",
    "claude_transcript",
    "clean_logs",
    "fetch_logs",
    "find_credential",
    "find_run",
    "keep_run",
    "known_runs",
    "latest_run",
    "local_logs_roots",
    "parse_age",
    "push_logs",
    "restore_session",
    "transcript_path",
]
