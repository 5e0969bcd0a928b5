"""When a ``--detach`` run ends: the terminal bell where it was started, and a desktop
notification where one can be shown (config ``notify``: bell, desktop, both or none).

- The bell: ``task create/start/continue --detach`` passes the background run the
  terminal it was started from (the first of stderr, stdin, stdout that is one);
  at the end the run writes one BEL byte there, nothing else (the user may be in
  an editor by then), and nothing when that terminal is gone.
- The desktop: ``notify-send`` when it is installed and a session can show it
  (``DISPLAY``, ``WAYLAND_DISPLAY`` or a D-Bus session bus), ``osascript`` on macOS;
  the summary names the task and how it ended, the body its title and the pull
  request (or the error). A notifier that fails or hangs is given up on, silently.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping

from gittask.config import load_config
from gittask.display import escape
from gittask.model.outcome import outcome
from gittask.store.database import TaskDatabase
from gittask.text import one_line

#: Seconds a desktop notifier may take.
NOTIFIER_TIMEOUT = 10.0
BELL = b"\a"


def terminal_of_caller() -> str | None:
    """The path of the terminal this command was started from, or None."""
    for stream in (sys.stderr, sys.stdin, sys.stdout):
        try:
            fd = stream.fileno()
            if os.isatty(fd):
                return os.ttyname(fd)
        except (AttributeError, OSError, ValueError):
            continue
    return None


def ring_bell(tty: str) -> bool:
    """One BEL byte to the terminal ``tty`` (never made our controlling terminal)."""
    try:
        fd = os.open(tty, os.O_WRONLY | os.O_NOCTTY | os.O_NONBLOCK)
    except OSError:
        return False  # the terminal was closed
    try:
        return os.write(fd, BELL) == 1
    except OSError:
        return False
    finally:
        os.close(fd)


def _applescript_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _markup_free(text: str) -> str:
    """notify-send bodies may be read as markup: ``<``, ``>`` and ``&`` are text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def desktop_command(
    summary: str, body: str, failed: bool, env: Mapping[str, str] | None = None
) -> list[str] | None:
    """The command that shows a desktop notification here, or None where none can be shown."""
    env = os.environ if env is None else env
    if sys.platform == "darwin":
        osascript = shutil.which("osascript")
        if osascript is None:
            return None
        script = (
            f"display notification {_applescript_string(body)} "
            f"with title {_applescript_string(summary)}"
        )
        return [osascript, "-e", script]
    notify_send = shutil.which("notify-send", path=env.get("PATH"))
    session = (
        env.get("DISPLAY") or env.get("WAYLAND_DISPLAY") or env.get("DBUS_SESSION_BUS_ADDRESS")
    )
    if notify_send is None or not session:
        return None
    urgency = "critical" if failed else "normal"
    return [notify_send, "--app-name=claude-container", f"--urgency={urgency}", summary, body]


def show_on_desktop(command: list[str]) -> bool:
    try:
        proc = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=NOTIFIER_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0


def announce_end(db: TaskDatabase, task_id: str, tty: str | None) -> list[str]:
    """Tell the user the run of ``task_id`` ended, as config ``notify`` says; what was
    done (for the run's log). Never raises."""
    try:
        how = load_config(db.repo).notify
        task = db.task(task_id)
    except Exception:
        return []
    word = outcome(task.status.value, task.error_message, task.pr_url)
    failed = word in ("failed", "stopped")
    summary = f"claude-container: task {task.id[:8]} {word}"
    detail = task.pr_url if task.pr_url else task.error_message if failed else task.branch_name
    body = escape(one_line(task.title, 120)) + (
        f"\n{escape(one_line(detail, 300))}" if detail else ""
    )
    done = []
    if how in ("desktop", "both"):
        command = desktop_command(
            summary, body if sys.platform == "darwin" else _markup_free(body), failed
        )
        if command is not None and show_on_desktop(command):
            done.append(f"desktop notification ({os.path.basename(command[0])})")
    if how in ("bell", "both") and tty and ring_bell(tty):
        done.append(f"bell on {tty}")
    return done
