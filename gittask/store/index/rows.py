"""A task record as a row of the index (its list columns, its search text, its JSON),
or the row of a record that cannot be read (listed with its error)."""

from __future__ import annotations

import json
from typing import Any

from gittask.store.index.schema import BRIEF_KEYS

#: one row of ``tasks``, in column order (what :func:`task_row` and :func:`error_row` give)
Row = tuple[Any, ...]
#: how a row is written
INSERT = "INSERT OR REPLACE INTO tasks VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"


def record_json(record: dict[str, Any]) -> str:
    """JSON for any record a YAML file can hold (dates, odd keys): never raises on types."""
    try:
        return json.dumps(record, ensure_ascii=False, default=str)
    except TypeError:  # a key JSON cannot take (a date, a tuple)
        return json.dumps(_str_keys(record), ensure_ascii=False, default=str)


def brief_json(record: dict[str, Any]) -> str | None:
    """The record's :data:`~.schema.BRIEF_KEYS` that are set (``dependency`` when
    present), as :func:`record_json` writes them; None when there are none."""
    brief = {
        key: record[key]
        for key in BRIEF_KEYS
        if key in record and (record[key] or key == "dependency")
    }
    return record_json(brief) if brief else None


def _str_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _str_keys(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_str_keys(v) for v in value]
    return value


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def task_row(fan: str, oid: str, record: dict[str, Any]) -> Row:
    """The row of a readable record; raises (ValueError, TypeError, KeyError,
    AttributeError) on a record it cannot index (see :func:`indexable_row`)."""
    parts = [str(record.get("description") or "")]
    parts += [str(f.get("feedback") or "") for f in record.get("feedback_history") or []]
    return (
        str(record["id"]),
        fan,
        oid,
        _text_or_none(record.get("status")),
        _text_or_none(record.get("branch_name")),
        _text_or_none(record.get("created_at")),
        _text_or_none(record.get("title")),
        _text_or_none(record.get("pr_url")),
        "\n".join(parts).lower(),
        record_json(record),
        None,
        brief_json(record),
    )


def error_row(fan: str, task_id: str, oid: str, error: str) -> Row:
    """The row of a record that cannot be read: listed with its error."""
    from gittask.model.task import title_of

    return (task_id, fan, oid, None, None, None, title_of(""), None, "", None, error, None)


def indexable_row(
    fan: str, task_id: str, oid: str, record: dict[str, Any] | None, error: str | None, path: str
) -> Row:
    """The row of a parsed record (``record``), or of its ``error``; a record whose
    values cannot be indexed is an error row naming ``path``."""
    if record is not None:
        try:
            return task_row(fan, oid, record)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            error = f"{path}: cannot be indexed: {type(exc).__name__}: {exc}"
    return error_row(fan, task_id, oid, error or "unreadable")
