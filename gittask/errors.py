"""Expected failures: each carries a one-line message and, optionally, how to fix it.

The CLI prints these as a single line on stderr and exits non-zero; anything else
that escapes is a bug and keeps its traceback.
"""

from __future__ import annotations


class GittaskError(Exception):
    """An expected failure the user can act on."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} ({self.hint})"
        return self.message


class UsageError(GittaskError):
    """Bad command-line input (exit code 2, as for argument errors)."""

    exit_code = 2


class NotARepositoryError(GittaskError):
    pass


class TaskNotFoundError(GittaskError):
    pass


class AmbiguousTaskIdError(GittaskError):
    def __init__(self, prefix: str, candidates: list[str]) -> None:
        shown = ", ".join(candidates[:10]) + (" ..." if len(candidates) > 10 else "")
        super().__init__(
            f"'{prefix}' matches {len(candidates)} tasks: {shown}",
            "type more characters of the id",
        )
        self.candidates = candidates


class InvalidTransitionError(GittaskError):
    pass


class ConcurrentUpdateError(GittaskError):
    """The data ref kept moving under us; nothing was written."""


class CorruptRecordError(GittaskError):
    """A stored record cannot be read (malformed or hand-edited YAML)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"unreadable task record {path}: {reason}")
        self.path = path
        self.reason = reason
