"""A task record as a row of the index (its list columns, its search text, its JSON),
or the row of a record that cannot be read (listed with its error)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from gittask.store.index.schema import BRIEF_KEYS


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


def put(conn: sqlite3.Connection, fan: str, oid: str, record: dict[str, Any]) -> None:
    parts = [str(record.get("description") or "")]
    parts += [str(f.get("feedback") or "") for f in record.get("feedback_history") or []]
    conn.execute(
        "INSERT OR REPLACE INTO tasks VALUES (?,?,?,?,?,?,?,?,?,?,NULL,?)",
        (
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
            brief_json(record),
        ),
    )


def put_error(conn: sqlite3.Connection, fan: str, task_id: str, oid: str, error: str) -> None:
    from gittask.model.task import title_of

    conn.execute(
        "INSERT OR REPLACE INTO tasks VALUES (?,?,?,NULL,NULL,NULL,?,NULL,'',NULL,?,NULL)",
        (task_id, fan, oid, title_of(""), error),
    )
