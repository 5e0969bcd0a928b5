"""Getting text from the user's editor, as git does for commit messages."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from gittask.errors import UsageError

SCISSORS = "# ------------------------ >8 ------------------------"


def find_editor(git_config_editor: str | None) -> str | None:
    for candidate in (os.environ.get("VISUAL"), os.environ.get("EDITOR"), git_config_editor):
        if candidate and candidate.strip():
            return candidate.strip()
    return None


def strip_template(text: str, comments: frozenset[str] = frozenset()) -> str:
    """Drop everything from the scissors line down, the template's own comment lines
    wherever they are (the scissors line may have been deleted), and surrounding
    blank lines. The user's own ``#`` lines stay: they are Markdown headings."""
    kept = []
    for line in text.splitlines():
        if line.strip() == SCISSORS:
            break
        if line.rstrip() in comments:
            continue
        kept.append(line.rstrip())
    return "\n".join(kept).strip()


def edit(initial: str, instructions: list[str], editor: str | None, what: str) -> str:
    """Open ``editor`` on a template; returns the text above the scissors line."""
    if editor is None:
        raise UsageError(
            f"no {what} given and no editor configured",
            "pass it on the command line, or set $EDITOR (or git's core.editor)",
        )
    comments = ["# Do not modify or remove the line above.", *(f"# {x}" for x in instructions)]
    body = [initial, "", SCISSORS, *comments]
    fd, name = tempfile.mkstemp(prefix="claude-container-", suffix=".md")
    path = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("\n".join(body) + "\n")
        proc = subprocess.run(["sh", "-c", f'{editor} "$@"', editor, str(path)], check=False)
        if proc.returncode != 0:
            raise UsageError(f"the editor '{editor}' exited with code {proc.returncode}; aborted")
        text = path.read_text(encoding="utf-8", errors="replace")
        return strip_template(text, frozenset(c.rstrip() for c in comments))
    finally:
        path.unlink(missing_ok=True)
