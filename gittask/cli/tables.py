"""Task tables that fit the terminal: one line per task, as gh and git print them.

On a terminal: ``ID STATUS BRANCH PR AGE TITLE`` cut to the terminal's width (the
title takes what is left, cut with ``…``), the branch's distinctive part (no
``claude/`` prefix, no ``-<short id>`` suffix), coloured statuses (not with
``NO_COLOR``), relative times, and a pager when the table is longer than the
screen. Piped: the same columns with full values, separated by two spaces, so
``grep`` and ``awk`` see everything (``--json`` is the stable format).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple, cast

if TYPE_CHECKING:
    from datetime import datetime

#: ANSI colours for the outcome words (see gittask.model.outcome.STYLES)
_ANSI = {
    "yellow": "33",
    "cyan": "36",
    "green": "32",
    "blue": "34",
    "red": "31",
    "magenta": "35",
    "dim": "2",
}
HEADERS = ("ID", "STATUS", "BRANCH", "PR", "AGE", "TITLE")
BRANCH_MAX = 22
BRANCH_MIN = 8
MIN_TITLE = 16


class TaskLine(NamedTuple):
    short_id: str
    outcome: str
    branch: str
    pr: str  # "#123" or ""
    created_at: str | None  # ISO 8601 ("" or None: none)
    title: str


def distinctive_branch(branch: str, short_id: str) -> str:
    """``claude/fix-the-login-3f2a9c1e`` -> ``fix-the-login``: what tells it apart."""
    text = branch.removeprefix("claude/")
    for suffix in (f"-{short_id[:8]}", f"-{short_id}"):
        if text.endswith(suffix) and len(text) > len(suffix):
            return text[: -len(suffix)]
    return text


def pr_cell(pr_url: str | None) -> str:
    if not pr_url:
        return ""
    tail = pr_url.rstrip("/").rsplit("/", 1)[-1]
    return f"#{tail}" if tail.isdigit() else "PR"


def relative_time(iso: str | None, now: datetime | None = None) -> str:
    """``3h ago``; a date past a month."""
    from datetime import UTC, datetime

    if not iso:
        return ""
    try:
        when = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso[:10]
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = ((now or datetime.now(UTC)) - when).total_seconds()
    if seconds < 60:
        return "just now"
    for size, unit in ((86400 * 7, "w"), (86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            count = int(seconds // size)
            if unit == "w" and count > 4:
                return when.strftime("%Y-%m-%d")
            return f"{count}{unit} ago"
    return "just now"


def cut(text: str, width: int) -> str:
    """At most ``width`` characters; a cut text ends with ``…``."""
    if width <= 0:
        return ""
    return text if len(text) <= width else text[: width - 1] + "…"


def use_colour() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def terminal_width() -> int:
    import shutil  # (with its compression modules: only for a terminal)

    return max(40, shutil.get_terminal_size((80, 24)).columns)


def render(lines: Sequence[TaskLine], terminal: bool, width: int | None = None) -> list[str]:
    """The table's lines (headers first)."""
    if not terminal:  # the lines as they are: no created_at is None
        plain = [x if x.created_at is not None else x._replace(created_at="") for x in lines]
        return _aligned([HEADERS, *cast("list[tuple[str, ...]]", plain)], None)
    from datetime import UTC, datetime

    from gittask.model.outcome import STYLES

    width = width or terminal_width()
    now = datetime.now(UTC)
    rows: list[tuple[str, ...]] = [HEADERS]
    rows += [
        (
            x.short_id,
            x.outcome,
            cut(distinctive_branch(x.branch, x.short_id), BRANCH_MAX),
            x.pr,
            relative_time(x.created_at, now),
            x.title,
        )
        for x in lines
    ]
    widths = _widths(rows)
    deficit = MIN_TITLE - (width - sum(widths[:-1]) - 2 * (len(widths) - 1))
    if deficit > 0:  # a narrow terminal: the branch gives way to the title first
        keep = max(BRANCH_MIN, widths[2] - deficit)
        rows = [rows[0]] + [(*r[:2], cut(r[2], keep), *r[3:]) for r in rows[1:]]
    text = _aligned(rows, width)
    if not use_colour():
        return text
    coloured = [text[0]]
    widths = _widths(rows)
    start, pad = widths[0] + 2, widths[1]
    for line, row in zip(text[1:], lines, strict=True):
        style = _ANSI.get(STYLES.get(row.outcome, ""), "")
        if style:
            word = line[start : start + pad]
            line = line[:start] + f"\x1b[{style}m{word}\x1b[0m" + line[start + pad :]
        coloured.append(line)
    return coloured


def _widths(rows: Sequence[Sequence[str]]) -> list[int]:
    return [max(map(len, column)) for column in zip(*rows, strict=True)]


def _aligned(rows: Sequence[tuple[str, ...]], width: int | None) -> list[str]:
    """Columns two spaces apart; with ``width``, the last one is cut to fit."""
    widths = _widths(rows)
    line = "  ".join(f"%-{w}s" for w in widths[:-1]) + "  %s"  # each cell left-justified
    if width is None:
        return [(line % row).rstrip() for row in rows]
    fixed = sum(widths[:-1]) + 2 * (len(widths) - 1)
    room = max(1, width - fixed)
    return [(line % (*row[:-1], cut(row[-1], room))).rstrip() for row in rows]


def page(text_lines: list[str], no_pager: bool = False) -> None:
    """Print, through a pager when the text is longer than the terminal (as git does:
    ``PAGER``, else ``less`` with ``LESS=FRX``; ``--no-pager`` or ``PAGER=cat`` print
    directly)."""
    if no_pager or not sys.stdout.isatty() or not sys.stdin.isatty():
        _write(text_lines)
        return
    import shutil

    rows = shutil.get_terminal_size((80, 24)).lines
    pager = os.environ.get("PAGER")
    if pager is None:
        pager = "less" if shutil.which("less") else ""
    if len(text_lines) < rows or not pager.strip() or pager.strip() == "cat":
        _write(text_lines)
        return
    import subprocess

    env = dict(os.environ)
    env.setdefault("LESS", "FRX")
    try:
        proc = subprocess.Popen(pager, shell=True, stdin=subprocess.PIPE, env=env)
    except OSError:
        _write(text_lines)
        return
    assert proc.stdin is not None
    try:
        proc.stdin.write(("\n".join(text_lines) + "\n").encode("utf-8", errors="replace"))
        proc.stdin.close()
    except BrokenPipeError:
        pass  # the user quit the pager early
    proc.wait()


#: lines written at a time (the text of 100,000 lines is never one string)
_CHUNK = 4096


def _write(text_lines: list[str]) -> None:
    try:
        for start in range(0, max(len(text_lines), 1), _CHUNK):
            sys.stdout.write("\n".join(text_lines[start : start + _CHUNK]) + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        pass
