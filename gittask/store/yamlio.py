"""YAML as stored on the data ref: stable key order, readable block style.

Reading uses ruamel.yaml's safe loader, which runs on libyaml's C parser when
``ruamel.yaml.clib`` is installed (about 5x faster than pure Python; it matters
when the index is rebuilt from thousands of records).

Records come from teammates and remotes, so reading one is bounded work: a
record over :data:`MAX_RECORD_BYTES`, nested deeper than :data:`MAX_DEPTH`, or
holding an anchor or alias (nine aliases nested nine deep are a "billion
laughs": 387 million strings from 1 KiB) is refused with a ValueError before
anything is built from it. :func:`problem` applies the same rules without
building anything (the incoming check of a sync).
"""

from __future__ import annotations

import io
import re
import threading
from functools import cache
from typing import Any

from gittask.store.flatyaml import dump_flat

#: The largest record (``metadata.yaml``, one feedback entry) read or written.
MAX_RECORD_BYTES = 1 << 20
#: The deepest nesting of mappings and lists a record may have (ours have 2).
MAX_DEPTH = 64

# A record needs the event scan below unless it provably has no anchor, alias,
# tag or deep nesting: block nesting deepens at most every second level with
# the column a collection starts at, which is at most the run of blanks and
# indicators opening its line (under 16 here, so block depth <= 32); flow
# nesting is bounded by the number of brackets (<= 30 here); so depth <= 62.
# Any line break other than \n (and NUL: UTF-16/32) could hide a line start.
_NEEDS_SCAN = re.compile(rb"[&*!\r\x00]|\xc2\x85|\xe2\x80[\xa8\xa9]|^[ \t?:-]{16}", re.M)
_MAX_FAST_BRACKETS = 30


@cache
def _loader() -> Any:
    from ruamel.yaml import YAML

    return YAML(typ="safe")


@cache
def _dumper() -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.representer import RoundTripRepresenter

    yaml = YAML()
    yaml.default_flow_style = False
    yaml.width = 4096  # never fold long lines

    def represent_str(dumper: RoundTripRepresenter, data: str) -> Any:
        if "\n" in data:
            return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
        return dumper.represent_str(data)

    def represent_none(dumper: RoundTripRepresenter, data: None) -> Any:
        return dumper.represent_scalar("tag:yaml.org,2002:null", "null")

    yaml.representer.add_representer(str, represent_str)
    yaml.representer.add_representer(type(None), represent_none)
    return yaml


#: ruamel's YAML objects keep state while they work: one user at a time (threads)
_LOCK = threading.Lock()


def dump(data: dict[str, Any]) -> str:
    """``data`` as YAML: the tool's flat records by :func:`flatyaml.dump_flat` (the
    same bytes, without loading ruamel.yaml), anything else by ruamel.yaml."""
    fast = dump_flat(data)
    if fast is not None:
        return fast
    buf = io.StringIO()
    with _LOCK:
        _dumper().dump(data, buf)
    return buf.getvalue()


@cache
def c_parser() -> Any:
    """libyaml's parser class from ruamel.yaml.clib, or None when it is not installed."""
    try:
        from _ruamel_yaml import CParser  # type: ignore[import-not-found]
    except ImportError:
        try:
            from ruamel.yaml.clib._ruamel_yaml import CParser
        except ImportError:
            return None
    return CParser


def _events(data: bytes) -> Any:
    """The parser's events, one at a time (libyaml's parser is not recursive)."""
    parser_class = c_parser()
    if parser_class is None:
        from ruamel.yaml import YAML

        yield from YAML(typ="safe", pure=True).parse(data)
        return
    parser = parser_class(data)
    try:
        while True:
            event = parser.get_event()
            if event is None:
                return
            yield event
    finally:
        parser.dispose()


def _scan(data: bytes) -> None:
    """Refuse anchors, aliases and deep nesting; raises ValueError (also for bad syntax)."""
    from ruamel.yaml.events import (
        AliasEvent,
        CollectionEndEvent,
        CollectionStartEvent,
        NodeEvent,
    )

    depth = 0
    for event in _events(data):
        if isinstance(event, AliasEvent):
            raise ValueError(
                f"it uses the alias *{event.anchor}: anchors and aliases are not allowed "
                "in task records"
            )
        if isinstance(event, NodeEvent) and event.anchor is not None:
            raise ValueError(
                f"it uses the anchor &{event.anchor}: anchors and aliases are not allowed "
                "in task records"
            )
        if isinstance(event, CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise ValueError(f"it is nested more than {MAX_DEPTH} levels deep")
        elif isinstance(event, CollectionEndEvent):
            depth -= 1


def check(data: bytes) -> None:
    """Refuse what a record may not be before it is built: too large, an anchor or
    alias, too deep. Raises ValueError; may pass bad syntax (the parser finds it)."""
    if len(data) > MAX_RECORD_BYTES:
        raise ValueError(
            f"it is {len(data):,} bytes, over the {MAX_RECORD_BYTES:,} bytes a record may have"
        )
    if (
        _NEEDS_SCAN.search(data) is not None
        or data.count(b"[") + data.count(b"{") > _MAX_FAST_BRACKETS
    ):
        try:
            _scan(data)
        except ValueError:
            raise
        except Exception as exc:  # the parser's own error (MarkedYAMLError): bad syntax
            raise ValueError(" ".join(str(exc).split()) or type(exc).__name__) from None


def problem(data: bytes) -> str | None:
    """Why ``data`` is not a record this tool reads (size, structure, syntax), or None.

    Builds nothing, so it costs tens of microseconds for a usual record.
    """
    try:
        check(data)
        parser_class = c_parser()
        if parser_class is not None:
            parser_class(data).raw_parse()
        else:
            load(data)
    except Exception as exc:  # the C parser raises ruamel's MarkedYAMLError family
        return " ".join(str(exc).split()) or type(exc).__name__
    return None


def load(text: str | bytes) -> Any:
    """Parse one record; raises ValueError with the reason on bad or refused input."""
    from gittask.store.flatyaml import parse_flat

    # the tool's own flat records, fast (it refuses anchors, aliases, tags and
    # anything over 64 KiB); None: the checked full parse below decides
    flat = parse_flat(text)
    if flat is not None:
        return flat
    from ruamel.yaml.error import YAMLError

    check(text.encode("utf-8", errors="replace") if isinstance(text, str) else text)
    try:
        with _LOCK:
            loaded = _loader().load(text)
        return _plain(loaded)
    except YAMLError as exc:
        reason = " ".join(str(exc).split())
        raise ValueError(reason) from None
    except RecursionError:  # an alias that refers to itself (`a: &x [*x]`), or deep nesting
        raise ValueError("a value refers to itself or is nested too deeply") from None


def _plain(value: Any) -> Any:
    """JSON's types only: a hand-written date, timestamp or non-string key (``due:
    2024-05-01``, ``1: x``) becomes text, so a valid record always indexes and prints."""
    if isinstance(value, dict):
        return {k if isinstance(k, str) else _text(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    return _text(value)


def _text(value: Any) -> str:
    iso = getattr(value, "isoformat", None)
    return str(iso()) if callable(iso) else str(value)
