"""YAML as stored on the data ref: stable key order, readable block style.

Reading uses ruamel.yaml's safe loader, which runs on libyaml's C parser when
``ruamel.yaml.clib`` is installed (about 5x faster than pure Python; it matters
when the index is rebuilt from thousands of records).
"""

from __future__ import annotations

import io
from functools import cache
from typing import Any


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


def dump(data: dict[str, Any]) -> str:
    buf = io.StringIO()
    _dumper().dump(data, buf)
    return buf.getvalue()


def load(text: str | bytes) -> Any:
    """Parse YAML; raises ValueError with the parser's reason on bad input."""
    from gittask.store.flatyaml import parse_flat

    flat = parse_flat(text)  # the tool's own records, fast; None: let ruamel.yaml decide
    if flat is not None:
        return flat
    from ruamel.yaml.error import YAMLError

    try:
        return _plain(_loader().load(text))
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
