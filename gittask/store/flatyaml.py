"""A fast reader for the flat YAML this tool writes; anything else is left to ruamel.yaml.

Records on the data ref are written by :func:`gittask.store.yamlio.dump`: one
mapping, plain keys at column 0, values that are ``null``, ``true``/``false``,
decimal numbers, plain or single-quoted one-line strings, ``[]``/``{}``, a
block list of such scalars, or a ``|`` literal block. :func:`parse_flat` reads
exactly that subset, about 30 times faster than ruamel.yaml's safe loader
(whose constructor runs in Python even over the C parser), and returns None
for anything it is not certain to read the way ruamel.yaml would: comments,
anchors, aliases, tags, flow collections, nesting, double quotes, numbers in
other notations, timestamps, multi-line plain scalars, odd indentation, or a
record over :data:`MAX_BYTES`. Callers then use the full parser (and its
limits), so a hand-edited record still reads, and a hostile one is refused
there.
"""

from __future__ import annotations

import re
from typing import Any

MAX_BYTES = 64 * 1024  # larger records go to the full parser and its size checks

_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_]*):(?: (.*))?\Z")
# every line of a record of one-line values at once (see _parse_lines)
_KEY_LINES = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*):(?: (.*))?$", re.M)
_INT = re.compile(r"-?(?:0|[1-9][0-9]{0,17})\Z")
_FLOAT = re.compile(r"-?[0-9]+\.[0-9]+\Z")
# the tool's feedback ids (UTC time, "T", "Z", a random suffix): strings to every resolver
# task ids, commit ids: hex with a letter is a string unless it reads as 12e45 (a float)
_HEX = re.compile(r"[0-9a-f]{6,64}\Z")
_EXPONENT = re.compile(r"[0-9]+e[0-9]+\Z")
_BINARY = re.compile(r"0b[01]+\Z")  # an integer to ruamel.yaml (YAML 1.2 with its extensions)
_FEEDBACK_ID = re.compile(r"[0-9]{8}T[0-9]{6,12}Z-[0-9a-f]{1,32}\Z")
# a plain scalar that every YAML 1.2 resolver reads as a string: it starts with a
# letter and holds no indicator that could end or change it
_PLAIN = re.compile(r"[A-Za-z][^#:\t\x00-\x08\x0b-\x1f\x7f]*\Z")
_PLAIN_COLON = re.compile(r"[A-Za-z][^#\t\x00-\x08\x0b-\x1f\x7f]*\Z")
_SPECIAL = {
    "null": None,
    "Null": None,
    "NULL": None,
    "~": None,
    "true": True,
    "True": True,
    "TRUE": True,
    "false": False,
    "False": False,
    "FALSE": False,
}


class _Unsure(Exception):
    """Not certain to match the full parser: let it decide."""


def parse_flat(text: str | bytes) -> dict[str, Any] | None:
    """The mapping in ``text`` if it is in the tool's own flat format, else None."""
    if len(text) > MAX_BYTES:
        return None
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if "\r" in text or "\t" in text or text.startswith("\ufeff"):
        return None
    try:
        return _parse_lines(text) or _parse(text.split("\n"))
    except _Unsure:
        return None


# scalar text -> its value, for the values records repeat (null, main, a status, an
# author); only immutable values are kept
_SEEN: dict[str, Any] = {}
_SEEN_MAX = 4096


def _parse_lines(text: str) -> dict[str, Any] | None:
    """The usual record, every line ``key: one-line value``: matched in one pass.
    None when some line is anything else (a list item, a block): :func:`_parse` reads it."""
    pairs = _KEY_LINES.findall(text)
    lines = text.count("\n") + (not text.endswith("\n"))
    if len(pairs) != lines or not pairs:
        return None
    out: dict[str, Any] = {}
    seen = _SEEN
    for key, value in pairs:
        if key in out:
            raise _Unsure()  # a duplicate key: the full parser says what it thinks
        if not value:
            out[key] = None
        elif value in seen:
            out[key] = seen[value]
        elif value[0] == "|":
            return None  # a block with no lines: _parse reads it
        else:
            scalar = out[key] = _scalar(value)
            if isinstance(scalar, (str, int, float, type(None))) and len(seen) < _SEEN_MAX:
                seen[value] = scalar
    return out


def _parse(lines: list[str]) -> dict[str, Any] | None:
    if lines and lines[-1] == "":
        lines.pop()
    out: dict[str, Any] = {}
    i, count = 0, len(lines)
    while i < count:
        line = lines[i]
        match = _KEY.match(line)
        if match is None:
            raise _Unsure()  # a comment, a document marker, a nested or odd line
        key, value = match.group(1), match.group(2)
        if key in out:
            raise _Unsure()  # a duplicate key: the full parser says what it thinks
        i += 1
        if value is None or value == "":
            # a block list, or null
            items: list[Any] = []
            while i < count and lines[i].startswith("- "):
                items.append(_scalar(lines[i][2:]))
                i += 1
            if i < count and lines[i][:1] in (" ", "-"):
                raise _Unsure()
            out[key] = items if items else None
        elif value[0] == "|":
            block, i = _literal(value, lines, i)
            out[key] = block
        else:
            if i < count and lines[i][:1] == " ":
                raise _Unsure()  # a continued scalar
            out[key] = _scalar(value)
    if not out:
        raise _Unsure()  # an empty document is null, not a mapping
    return out


def _scalar(text: str) -> Any:
    if text != text.rstrip(" "):
        text = text.rstrip(" ")
    if text in _SPECIAL:
        return _SPECIAL[text]
    if text == "[]":
        return []
    if text == "{}":
        return {}
    first = text[:1]
    if first == "'":
        if len(text) < 2 or not text.endswith("'"):
            raise _Unsure()
        inner = text[1:-1]
        if "'" in inner.replace("''", ""):
            raise _Unsure()
        return inner.replace("''", "'")
    if first.isdigit() or first == "-":
        if _INT.match(text):
            return int(text)
        if _FLOAT.match(text):
            return float(text)
        if _FEEDBACK_ID.match(text):
            return text
        if _hex_word(text):
            return text
        raise _Unsure()
    if ": " in text or " #" in text or text.endswith(":"):
        raise _Unsure()
    if _PLAIN_COLON.match(text) is None:
        raise _Unsure()
    if text.lower() in ("yes", "no", "on", "off", "y", "n", "nan", "inf"):
        raise _Unsure()  # strings in YAML 1.2, but let the full parser say so
    return text


def _hex_word(text: str) -> bool:
    """An id in hex that every resolver reads as a string (not 1234, 12e45 or 0b101)."""
    return (
        _HEX.match(text) is not None
        and not text.isdigit()
        and not _EXPONENT.match(text)
        and not _BINARY.match(text)
    )


def _literal(header: str, lines: list[str], i: int) -> tuple[str, int]:
    """A ``|``, ``|-`` or ``|+`` block scalar starting at ``lines[i]``."""
    if header not in ("|", "|-", "|+"):
        raise _Unsure()  # an indentation indicator, a comment
    body: list[str] = []
    indent = 0
    count = len(lines)
    while i < count:
        line = lines[i]
        stripped = line.lstrip(" ")
        if not stripped:
            if line:
                raise _Unsure()  # spaces only: content or not, depending on the indent
            body.append("")
            i += 1
            continue
        depth = len(line) - len(stripped)
        if indent == 0:
            if depth == 0:
                break
            indent = depth
        if depth < indent:
            if depth:
                raise _Unsure()  # less indented but not at column 0
            break
        body.append(line[indent:])
        i += 1
    trailing = 0
    while body and body[-1] == "":
        body.pop()
        trailing += 1
    text = "\n".join(body)
    if header == "|-":
        return text, i
    if header == "|":
        return (text + "\n" if body else ""), i
    if i < count:
        raise _Unsure()  # keep-chomping followed by more keys: rare, let ruamel say
    return text + "\n" * (trailing + 1 if body else trailing), i


# -- writing ---------------------------------------------------------------------------

# what ruamel.yaml writes unquoted for certain: a letter, then letters, digits and a
# few marks (no ':', '#', quotes, brackets or indicators), not ending in a blank
_DUMP_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9 ._/<>@+=(),;-]*(?<! )\Z")
_DUMP_QUOTED = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?Z\Z")
_DUMP_WIDTH = 4000  # under ruamel.yaml's 4096 (yamlio's dumper), with room for its indent
_RESOLVED_WORDS = {"null", "true", "false", "yes", "no", "on", "off", "y", "n", "nan", "inf"}


def dump_flat(data: dict[str, Any]) -> str | None:
    """``data`` as :func:`gittask.store.yamlio.dump` (ruamel.yaml) writes it, byte for
    byte, when every value is one this function is certain about; else None (the
    caller uses ruamel.yaml). Certain: null, booleans, integers, ``[]``/``{}``, lists
    of such strings, and strings that are plain words (see ``_DUMP_PLAIN``), hex ids,
    feedback ids or UTC timestamps (quoted). Floats, nesting, multi-line text and
    anything unusual go to ruamel.yaml: ``tests/test_flatyaml.py`` compares the two."""
    lines: list[str] = []
    for key, value in data.items():
        if not isinstance(key, str) or _KEY.match(f"{key}:") is None:
            return None
        if key in _SPECIAL or key.lower() in _RESOLVED_WORDS:
            return None  # a key YAML reads as null or a boolean: ruamel.yaml quotes it
        if isinstance(value, list) and value:
            lines.append(f"{key}:")
            for item in value:
                text = _dump_scalar(item)
                if text is None or isinstance(item, list | dict):
                    return None
                lines.append(f"- {text}")
            continue
        text = _dump_scalar(value)
        if text is None:
            return None
        lines.append(f"{key}: {text}")
    if not lines or any(len(line) > _DUMP_WIDTH for line in lines):
        return None  # ruamel.yaml folds a line past its width (4096)
    return "\n".join(lines) + "\n"


def _dump_scalar(value: Any) -> str | None:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if value == [] or value == {}:
        return "[]" if isinstance(value, list) else "{}"
    if not isinstance(value, str):
        return None  # floats and the rest: ruamel.yaml's notation
    if _DUMP_PLAIN.match(value):
        return None if value.lower() in _RESOLVED_WORDS else value
    if _hex_word(value) or _FEEDBACK_ID.match(value):
        return value
    if _DUMP_QUOTED.match(value):
        return f"'{value}'"
    return None
