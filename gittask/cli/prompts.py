"""Questions to the person at the terminal, and what is kept when they walk away.

A question is only asked when stdin, stdout and stderr are all terminals: a script
(``id=$(claude-container task create ...)``) never waits on a prompt it cannot see.
The question goes to stderr, so stdout stays the command's answer. Ctrl-C at a
question ends the command with exit code 130 and nothing more (no "Aborted!").
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

from gittask.errors import GittaskError, UsageError

#: Where an editor text is kept when the command stops after the editor closed
#: (as git keeps ``.git/COMMIT_EDITMSG``), below the repository's state folder.
DRAFT_NAMES = {"description": "TASK_EDITMSG", "feedback": "FEEDBACK_EDITMSG"}


def interactive() -> bool:
    """Someone can see and answer a question: stdin, stdout and stderr are terminals."""
    try:
        return sys.stdin.isatty() and sys.stdout.isatty() and sys.stderr.isatty()
    except (AttributeError, ValueError):  # closed or replaced streams
        return False


def _read_answer(question: str) -> str:
    sys.stderr.write(question)
    sys.stderr.flush()
    try:
        line = sys.stdin.readline()
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        sys.stderr.flush()
        raise
    if not line:  # Ctrl-D: no answer
        sys.stderr.write("\n")
        raise GittaskError("no answer given (end of input)")
    return line.strip()


def ask(question: str, default: str, check: Callable[[str], str] | None = None) -> str:
    """Ask on stderr; Enter takes ``default``. A ``check`` that raises UsageError
    prints why and asks again; its return value is the answer."""
    while True:
        answer = _read_answer(f"{question} [{default}]: ") or default
        if check is None:
            return answer
        try:
            return check(answer)
        except UsageError as exc:
            sys.stderr.write(f"  {exc}; try again (Ctrl-C stops)\n")


def confirm(question: str, default: bool = False) -> bool:
    """A yes/no question on stderr; anything but y/yes/n/no asks again."""
    hint = "Y/n" if default else "y/N"
    while True:
        answer = _read_answer(f"{question} [{hint}]: ").lower()
        if not answer:
            return default
        if answer in ("y", "yes"):
            return True
        if answer in ("n", "no"):
            return False


def save_draft(state_dir: Path, what: str, text: str) -> Path | None:
    """Keep an editor text the command could not use; its path, or None when even
    that failed (the text is then lost, as the caller says)."""
    path = state_dir / DRAFT_NAMES.get(what, "EDITMSG")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        return None
    return path


def say_draft_kept(path: Path | None, what: str, option: str) -> None:
    if path is None:
        sys.stderr.write(f"the {what} you wrote could not be kept\n")
        return
    sys.stderr.write(f"your {what} is saved in {path} (use it again with {option} {path})\n")
    sys.stderr.flush()
