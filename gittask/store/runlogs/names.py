"""Names and constants of the logs refs, and the little helpers every part uses."""

from __future__ import annotations

import gzip
import re

from gittask.errors import GittaskError

LOGS_REF_PREFIX = "refs/claude-tasks-logs/"

#: Where ``fetch`` puts a remote's logs refs until they are combined with ours.
TRACKING_PREFIX = "refs/claude-tasks-logs-remotes/"

RUN_INFO = "run.json"

AGENT_LOG = "agent.log"

EXECUTION_LOG = "execution.log"

SESSION = "session.jsonl"

PRUNED = "pruned"

GZ = ".gz"

MAX_ATTEMPTS = 20

MAX_PUSH_ATTEMPTS = 4

#: What a stored log may inflate to when read (writers cap at ``logs.max_bytes``).
MAX_UNCOMPRESSED = 256 * 1024 * 1024

RUN_DIR_NAME = re.compile(r"^run-(\d+)$")

TASK_ID_NAME = re.compile(r"^[0-9a-f]{6,64}$")

#: git push/fetch with no terminal prompt: these run in the background of a command
NO_PROMPT = {"GIT_TERMINAL_PROMPT": "0"}


def check_id(task_id: str) -> str:
    if not TASK_ID_NAME.match(task_id):
        raise GittaskError(f"not a task id: {task_id!r}")
    return task_id


def logs_ref(task_id: str) -> str:
    """The task's logs ref, locally and on a remote (where SYNC's publish pushes it)."""
    return LOGS_REF_PREFIX + check_id(task_id)


def push_refspec(task_id: str) -> str:
    """The refspec that publishes the task's logs (never forced)."""
    ref = logs_ref(task_id)
    return f"{ref}:{ref}"


def tracking_ref(remote: str, task_id: str) -> str:
    return f"{TRACKING_PREFIX}{remote}/{check_id(task_id)}"


def run_dir(run: int) -> str:
    return f"run-{run:03d}"


def gzip_bytes(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)
