"""What a setting's value may be: each :class:`Kind` turns text (``config set``) or a
JSON value (the file) into one Python type, and says what it expected when it cannot.

A kind's ``parse`` raises ``ValueError`` when the value does not fit; the exception's
text, when there is any, is a detail added to "expected ...". A new setting usually
takes one of the kinds below (``whole(minimum=4096)``, ``choice("a", "b")``,
``optional(text)``); a new kind is a parse function and the words for what it expects.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

#: What ``config set`` (and the file, as JSON null) reads as "no value", for the
#: settings whose default is no value.
NULL_WORDS = ("", "null", "none")


@dataclass(frozen=True)
class Kind(Generic[T]):
    expected: str  # what the value must be, for errors and ``config show --json``
    parse: Callable[[object], T]  # ValueError when the value does not fit
    optional: bool = False  # null (none, nothing) is a value: "not set"


def _whole_number(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError  # JSON true is not 1
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
        return int(value)
    raise ValueError


def whole(minimum: int = 1) -> Kind[int]:
    """A whole number, ``minimum`` or more."""
    words = {1: "a positive whole number", 0: "a whole number, 0 or more"}

    def parse(value: object) -> int:
        number = _whole_number(value)
        if number < minimum:
            raise ValueError
        return number

    return Kind(words.get(minimum, f"a whole number, {minimum} or more"), parse)


def _positive_number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError
    number = float(value)  # ValueError for text that is no number
    if not math.isfinite(number) or number <= 0:
        raise ValueError
    return number


positive_number: Kind[float] = Kind("a positive number", _positive_number)


def _flag(value: object) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in ("true", "yes", "1", "on"):
        return True
    if word in ("false", "no", "0", "off"):
        return False
    raise ValueError


flag: Kind[bool] = Kind("true or false", _flag)


def choice(*words: str, lower: bool = False) -> Kind[str]:
    """One of ``words`` (``lower``: in any case, stored in lower case)."""

    def parse(value: object) -> str:
        word = str(value).strip()
        word = word.lower() if lower else word
        if word not in words:
            raise ValueError
        return word

    return Kind("one of " + ", ".join(words), parse)


def _matching(pattern: str, lower: bool = False) -> Callable[[object], str]:
    def parse(value: object) -> str:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise ValueError
        text = str(value).strip()
        text = text.lower() if lower else text
        if not re.fullmatch(pattern, text):
            raise ValueError
        return text

    return parse


memory_size: Kind[str] = Kind("a memory size such as 512m or 4g", _matching(r"\d+[bkmg]?", True))
release: Kind[str] = Kind(
    "an exact release such as 2.1.332", _matching(r"\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?")
)
image_ref: Kind[str] = Kind(
    "an image reference such as debian:bookworm-slim, or debootstrap",
    _matching(r"[a-z0-9][\w.\-/:@]*"),
)
repo_name: Kind[str] = Kind("owner/name", _matching(r"[\w.-]+/[\w.-]+"))


def _text(value: object) -> str:
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise ValueError
    text = str(value).strip()
    if not text:
        raise ValueError
    return text


text: Kind[str] = Kind("text", _text)


def _branch(value: object) -> str:
    name = _text(value)
    if name.startswith("-") or " " in name or ".." in name:
        raise ValueError
    return name


branch: Kind[str] = Kind("a branch name", _branch)


def _env_names(value: object) -> tuple[str, ...]:
    items = value if isinstance(value, (list, tuple)) else re.split(r"[,\s]+", str(value))
    names = tuple(str(i).strip() for i in items if str(i).strip())
    for name in names:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(f"'{name}' is not a variable name")
    return names


env_names: Kind[tuple[str, ...]] = Kind(
    "names of host variables such as FOO,BAR: names only, no values", _env_names
)


def _hosts(value: object) -> tuple[str, ...]:
    from gittask.runner.egress.allow import parse_rule

    items = value if isinstance(value, (list, tuple)) else re.split(r"[,\s]+", str(value))
    entries = tuple(str(i).strip() for i in items if str(i).strip())
    for entry in entries:
        parse_rule(entry)  # ValueError says what is wrong with it
    return entries


hosts: Kind[tuple[str, ...]] = Kind(
    "hosts such as github.com, *.npmjs.org, pypi.org:443 or [2001:db8::1]:443", _hosts
)


def optional(kind: Kind[T]) -> Kind[T | None]:
    """``kind``, or no value: JSON null, or ``null``, ``none`` or nothing as text."""

    def parse(value: object) -> T | None:
        if value is None or (isinstance(value, str) and value.strip().lower() in NULL_WORDS):
            return None
        return kind.parse(value)

    return Kind(f"{kind.expected}, or null", parse, optional=True)
