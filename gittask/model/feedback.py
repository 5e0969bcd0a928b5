"""One piece of feedback given to a task (a continue, a review, ...)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from gittask.model.clock import format_ts, parse_ts, utcnow


class FeedbackType(StrEnum):
    TEXT = "text"  # typed in the editor
    FILE = "file"  # read from --feedback-file
    INLINE = "inline"  # given with --feedback
    REVIEW = "review"  # collected from a pull request's review


def new_feedback_id(now: datetime) -> str:
    """A collision-free, time-ordered id: UTC time plus a random suffix.

    Two clones adding feedback to the same task at the same instant still get
    different ids (and so different file names on the data ref).
    """
    return now.strftime("%Y%m%dT%H%M%S%fZ") + "-" + secrets.token_hex(4)


@dataclass
class FeedbackEntry:
    feedback: str
    feedback_type: FeedbackType = FeedbackType.INLINE
    author: str | None = None
    timestamp: datetime = field(default_factory=utcnow)
    id: str = ""
    claude_response_summary: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.id:
            self.id = new_feedback_id(self.timestamp)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "timestamp": format_ts(self.timestamp),
            "feedback_type": self.feedback_type.value,
            "author": self.author,
            "claude_response_summary": self.claude_response_summary,
        }
        data.update(self.extra)
        data["feedback"] = self.feedback
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeedbackEntry:
        known = {
            "id",
            "timestamp",
            "feedback_type",
            "author",
            "claude_response_summary",
            "feedback",
        }
        ts = parse_ts(data.get("timestamp"))
        return cls(
            id=str(data.get("id") or ""),
            timestamp=ts or utcnow(),
            feedback=str(data.get("feedback") or ""),
            feedback_type=FeedbackType(data.get("feedback_type") or "inline"),
            author=_text(data.get("author")),
            claude_response_summary=_text(data.get("claude_response_summary")),
            extra={k: v for k, v in data.items() if k not in known},
        )


def _text(value: Any) -> str | None:
    """A hand-edited field may hold a list or a number: shown as text, never a crash."""
    return None if value is None else str(value)
