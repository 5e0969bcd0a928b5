"""What the scripted model answers: turns made of output items, errors, or silence.

A test builds the script with the helpers below and hands it to the server::

    model.turn(write("hello.py", "print(1)\\n"), text("writing it"))  # one API answer
    model.turn(text("all done"))                                     # the next one
    model.error(500, times=2)                                        # two failing answers

Each ``POST /v1/responses`` consumes one entry, in order.  Strings inside the
items may hold two placeholders, filled per request: ``{cwd}`` (the working
directory Codex told the model in its ``<environment_context>``, so one script
works on the host and at ``/workspace`` in a container) and ``{api_key}`` (the
key the request carried, to script a model that leaks it).  Nothing else in
braces is touched.

The tools are the ones Codex 0.171 offers a model such as ``gpt-5.5``:
``exec_command`` (a function taking ``cmd``) and ``apply_patch`` (a custom,
free-form tool taking the patch text).  The default model of that release
(``gpt-6.2-sol``) only gets a JavaScript ``exec`` tool (code mode): scripts that
want plain shell calls run Codex with ``-m gpt-5.5``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ERRORS",
    "ErrorReply",
    "Hang",
    "Item",
    "Reply",
    "Turn",
    "Usage",
    "apply_patch",
    "fill",
    "shell",
    "text",
    "tool",
    "write",
]

#: OpenAI's ``error.type``, ``error.code`` and message for each HTTP status it uses.
ERRORS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request"),
    401: (
        "invalid_request_error",
        "invalid_api_key",
        "Incorrect API key provided: {key}. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
    ),
    403: ("invalid_request_error", "unsupported_country_region_territory", "Forbidden"),
    404: ("invalid_request_error", "model_not_found", "The model does not exist"),
    429: (
        "requests",
        "rate_limit_exceeded",
        "Rate limit reached for requests. Please try again in 1s.",
    ),
    500: (
        "server_error",
        None,
        "The server had an error while processing your request. Sorry about that!",
    ),
    503: ("server_error", None, "The engine is currently overloaded, please try again later"),
}


@dataclass(frozen=True)
class Item:
    """One output item of an answer: ``message``, ``function_call`` or ``custom_tool_call``."""

    type: str
    text: str = ""
    name: str = ""
    #: ``function_call``: the arguments (sent JSON-encoded); ``custom_tool_call``: ``{"input": …}``.
    arguments: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Usage:
    """The token counts an answer reports in ``response.completed``."""

    input_tokens: int = 100
    output_tokens: int = 20
    cached_tokens: int = 0
    reasoning_tokens: int = 0


@dataclass(frozen=True)
class Turn:
    """One successful answer: its output items and usage."""

    items: tuple[Item, ...]
    usage: Usage = Usage()


@dataclass(frozen=True)
class ErrorReply:
    """An HTTP error with OpenAI's JSON shape, and optional extra headers."""

    status: int
    message: str = ""
    code: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def body(self, key: str = "") -> dict[str, Any]:
        kind, code, default = ERRORS.get(self.status, ("server_error", None, "Error"))
        masked = (key[:3] + "*" * 6 + key[-4:]) if len(key) > 8 else "***"
        message = self.message or default.replace("{key}", masked)
        return {
            "error": {
                "message": message,
                "type": kind,
                "param": None,
                "code": self.code if self.code is not None else code,
            }
        }


@dataclass(frozen=True)
class Hang:
    """Never answer: the request stays open until the server stops."""


Reply = Turn | ErrorReply | Hang


def text(value: str) -> Item:
    """An assistant ``message`` with one ``output_text`` part."""
    return Item("message", text=value)


def tool(name: str, **arguments: Any) -> Item:
    """A ``function_call`` of *name* with *arguments*."""
    return Item("function_call", name=name, arguments=dict(arguments))


def shell(cmd: str, workdir: str | None = None) -> Item:
    """Run *cmd* with Codex's ``exec_command`` tool (in ``{cwd}`` unless *workdir*)."""
    arguments: dict[str, Any] = {"cmd": cmd}
    if workdir is not None:
        arguments["workdir"] = workdir
    return tool("exec_command", **arguments)


def apply_patch(patch: str) -> Item:
    """Codex's free-form ``apply_patch`` tool with *patch* (``*** Begin Patch`` …)."""
    return Item("custom_tool_call", name="apply_patch", arguments={"input": patch})


def write(path: str, content: str) -> Item:
    """Create *path* (relative to the working directory) holding *content* via apply_patch."""
    lines = content.splitlines() or [""]
    body = "".join(f"+{line}\n" for line in lines)
    return apply_patch(f"*** Begin Patch\n*** Add File: {path}\n{body}*** End Patch\n")


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


def encode_arguments(item: Item, placeholders: Mapping[str, str]) -> str:
    """The ``arguments`` string of a function call (JSON, as the API sends it)."""
    return json.dumps(fill(dict(item.arguments), placeholders))
