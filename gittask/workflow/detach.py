"""``--detach``: the run goes on in a background process of its own (which, when it
ends, rings the bell of the terminal it was started from and shows a desktop
notification: :mod:`gittask.workflow.notify`)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from gittask.errors import GittaskError
from gittask.runner import live, naming
from gittask.store.database import TaskDatabase
from gittask.workflow.notify import terminal_of_caller

#: How long ``--detach`` waits for the background run to reach its container.
DETACH_WAIT_SECONDS = 120.0


def start_detached(
    db: TaskDatabase,
    task_id: str,
    kind: str,
    feedback_id: str | None,
    wait: float = DETACH_WAIT_SECONDS,
    local_base: bool = False,
) -> int:
    """Start ``task _run`` in its own session; its pid, once its container runs."""
    folder = naming.runs_dir(db.repo)
    folder.mkdir(parents=True, exist_ok=True)
    log_path = folder / f"{task_id}.detached.log"
    command = [sys.executable, "-m", "gittask", "task", "_run", task_id, "--kind", kind]
    if feedback_id:
        command += ["--feedback-id", feedback_id]
    if local_base:
        command.append("--base-local")
    tty = terminal_of_caller()  # where the bell rings when the run ends (config notify)
    if tty is not None:
        command += ["--notify-tty", tty]
    with open(log_path, "wb") as log:
        child = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=os.getcwd(),
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
        )
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        marker = live.marker_for(db.repo, task_id)
        if marker is not None and marker.pid == child.pid and marker.state != live.STATE_PREPARING:
            break
        code = child.poll()
        if code is not None:
            if code == 0:
                break
            text = log_path.read_text(encoding="utf-8", errors="replace").strip()
            errors = [x for x in text.splitlines() if x.startswith("error: ")]
            reason = errors[-1][len("error: ") :] if errors else f"exit code {code}"
            raise GittaskError(f"the background run did not start: {reason}")
        time.sleep(0.05)
    return child.pid
