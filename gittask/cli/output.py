"""Everything the CLI prints goes through here: tables, JSON, errors."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Sequence
from typing import Any

#: a value that is a list or an object with something in it (strings never hold a raw newline,
#: and a quote in them is escaped: outside strings, `": ` is a key's end)
_FILLED = re.compile(r'": (?:\[(?!\])|\{(?!\}))')


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty() and os.environ.get("TERM") != "dumb"


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def print_json(data: Any) -> None:
    sys.stdout.write(json_text(data) + "\n")


def write(text: str) -> None:
    """Text made elsewhere (``task list --json``'s, written straight from the rows)."""
    sys.stdout.write(text)


def json_text(data: Any) -> str:
    """``json.dumps(data, indent=2, ensure_ascii=False, default=str)``, the same text.

    Python's JSON encoder is its slow pure-Python one as soon as it indents. A list of
    objects (``task list --json``) is written by the C encoder instead, with the
    indented layout as its separators; an object holding a filled list or object of
    its own is written by the indenting encoder.
    """
    if not data or type(data) is not list or not all(type(i) is dict and i for i in data):
        return json.dumps(data, indent=2, ensure_ascii=False, default=str)
    flat = json.JSONEncoder(ensure_ascii=False, default=str, separators=(",\n    ", ": "))
    text = flat.encode(data)  # [{"k": v,\n    "k": v},\n    {...}]
    if _FILLED.search(text) is None:  # (a string holding `": [` may be taken for one)
        items = text[2:-2].replace("},\n    {", "\n  },\n  {\n    ")
        return "[\n  {\n    " + items + "\n  }\n]"
    chunks = []
    for item in data:
        if any(v and isinstance(v, _CONTAINERS) for v in item.values()):
            chunks.append(json_element(item))
        else:
            chunks.append("{\n    " + flat.encode(item)[1:-1] + "\n  }")
    return "[\n  " + ",\n  ".join(chunks) + "\n]"


def json_element(item: Any) -> str:
    """``item`` as :func:`json_text` writes it as an element of its list (one level in)."""
    return json.dumps(item, indent=2, ensure_ascii=False, default=str).replace("\n", "\n  ")


_CONTAINERS = (list, tuple, dict)


def error(message: str) -> None:
    """One line on stderr (control characters in it shown as escapes)."""
    from gittask.display import escape

    text = escape(" ".join(str(message).split()))
    sys.stderr.write(f"error: {text}\n")


def info(message: str) -> None:
    sys.stderr.write(message + "\n")


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], title: str | None = None) -> None:
    """A rich table on a terminal, aligned plain text when piped.

    Cells are data (titles, branch names): control characters in them are shown
    as escapes, and on a terminal ``[...]`` is text, never rich markup.
    """
    from gittask.display import escape

    rows = [[escape(cell) for cell in row] for row in rows]
    if stdout_is_terminal():
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        tbl = Table(title=title, show_lines=False, header_style="bold")
        for header in headers:
            tbl.add_column(header, overflow="fold" if header in ("TITLE", "TEXT") else "ellipsis")
        for row in rows:
            tbl.add_row(*(Text(cell) for cell in row))
        Console().print(tbl)
        return
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(headers)
    widths = [
        max(len(h), *map(len, col)) if col else len(h)
        for h, col in zip(headers, columns, strict=True)
    ]
    lines = []
    fmt = "  ".join(f"{{:<{w}}}" for w in widths[:-1]) + "  {}"
    lines.append(fmt.format(*headers).rstrip())
    for row in rows:
        lines.append(fmt.format(*row).rstrip())
    sys.stdout.write("\n".join(lines) + "\n")


def status_style(status: str | None) -> str:
    return {
        "pending": "yellow",
        "running": "cyan",
        "created": "green",
        "continued": "green",
        "failed": "red",
        "merged": "magenta",
        "closed": "dim",
    }.get(status or "", "red")
