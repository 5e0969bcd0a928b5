"""Read a ref's target from the files git keeps, without loading libgit2.

Used on the hot path of read-only commands (``task list``) to see whether the
local index is current. Anything unusual returns None and callers fall back to
pygit2.
"""

from __future__ import annotations

from pathlib import Path


def read_ref(common_dir: Path, name: str) -> str | None:
    loose = common_dir / name
    try:
        text = loose.read_text(encoding="ascii").strip()
    except (FileNotFoundError, NotADirectoryError):
        text = ""
    except (OSError, UnicodeDecodeError):
        return None
    if text:
        if text.startswith("ref:"):
            return None  # symbolic: let pygit2 follow it
        return text if len(text) in (40, 64) else None
    try:
        packed = (common_dir / "packed-refs").read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""
    except OSError:
        return None
    suffix = " " + name
    for line in packed.splitlines():
        if line.endswith(suffix) and not line.startswith(("#", "^")):
            return line.split(" ", 1)[0]
    return ""  # "" means: the ref does not exist
