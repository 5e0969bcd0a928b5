"""What the scripted model answers: turns made of blocks, errors, or silence.

A test builds the script with the helpers below and hands it to the server::

    model.turn(write("{cwd}/hello.py", "print(1)\\n"), text("done"))  # one API answer
    model.turn(text("all done"))                                      # the next one
    model.error(529, times=2)                                         # two failing answers

Each ``POST /v1/messages`` consumes one entry, in order.  Strings inside tool
inputs may hold two placeholders, filled per request: ``{cwd}`` (the working
directory the CLI told the model, so one script works on the host and at
``/workspace`` in a container) and ``{api_key}`` (the key the request carried,
to script a model that leaks it).  Nothing else in braces is touched.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ERROR_TYPES",
    "Block",
    "ErrorReply",
    "Hang",
    "Reply",
    "Turn",
    "Usage",
    "bash",
    "edit",
    "read",
    "text",
    "tool",
    "write",
]

#: Anthropic's ``error.type`` for each HTTP status it uses.
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
_DEFAULT_MESSAGES = {
    400: "Invalid request",
    401: "invalid x-api-key",
    403: "Your API key does not have permission to use the specified resource.",
    404: "Not found",
    413: "Request exceeds the maximum allowed number of bytes.",
    429: "Number of request tokens has exceeded your per-minute rate limit",
    500: "Internal server error",
    529: "Overloaded",
}


@dataclass(frozen=True)
class Block:
    """One content block of an answer: ``text`` or ``tool_use``."""

    type: str
    text: str = ""
    name: str = ""
    input: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Usage:
    """The token counts an answer reports (the CLI prices them)."""

    input_tokens: int = 100
    output_tokens: int = 20
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0


@dataclass(frozen=True)
class Turn:
    """One successful answer: its blocks, stop reason and usage."""

    blocks: tuple[Block, ...]
    usage: Usage = Usage()
    stop_reason: str | None = None  # default: tool_use if a block is one, else end_turn

    @property
    def final_stop_reason(self) -> str:
        if self.stop_reason:
            return self.stop_reason
        return "tool_use" if any(b.type == "tool_use" for b in self.blocks) else "end_turn"


@dataclass(frozen=True)
class ErrorReply:
    """An HTTP error with Anthropic's JSON shape, and optional extra headers."""

    status: int
    message: str = ""
    retry_after: float | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def error_type(self) -> str:
        return ERROR_TYPES.get(self.status, "api_error")

    def body(self) -> dict[str, Any]:
        message = self.message or _DEFAULT_MESSAGES.get(self.status, "Error")
        return {"type": "error", "error": {"type": self.error_type, "message": message}}


@dataclass(frozen=True)
class Hang:
    """Never answer: the request stays open until the server stops."""


Reply = Turn | ErrorReply | Hang


def text(value: str) -> Block:
    """A text block."""
    return Block("text", text=value)


def tool(name: str, **tool_input: Any) -> Block:
    """A ``tool_use`` block calling *name* with *tool_input*."""
    return Block("tool_use", name=name, input=dict(tool_input))


def write(file_path: str, content: str) -> Block:
    """``Write`` *content* to *file_path* (absolute: start it with ``{cwd}/``)."""
    return tool("Write", file_path=file_path, content=content)


def edit(file_path: str, old_string: str, new_string: str) -> Block:
    """``Edit`` *file_path*: replace *old_string* by *new_string* (the file must be Read)."""
    return tool("Edit", file_path=file_path, old_string=old_string, new_string=new_string)


def read(file_path: str) -> Block:
    """``Read`` *file_path*."""
    return tool("Read", file_path=file_path)


def bash(command: str, description: str = "") -> Block:
    """Run *command* with the ``Bash`` tool."""
    return tool("Bash", command=command, description=description or command)


def fill(value: Any, placeholders: Mapping[str, str]) -> Any:
    """*value* with ``{name}`` replaced in every string it holds (dicts and lists too)."""
    if isinstance(value, str):
        for name, replacement in placeholders.items():
            value = value.replace("{" + name + "}", replacement)
        return value
    if isinstance(value, Mapping):
        return {key: fill(item, placeholders) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [fill(item, placeholders) for item in value]
    return value
