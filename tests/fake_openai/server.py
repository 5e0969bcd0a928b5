"""A scripted, Responses-API-compatible server on 127.0.0.1 for the real Codex CLI.

Point Codex at it with ``-c openai_base_url=<server.base_url>/v1`` (what
:class:`~gittask.runner.agents.codex.CodexAgent` does with ``OPENAI_BASE_URL``).
What Codex 0.171 asks of it, and what it answers:

- ``GET /v1/responses`` with ``Upgrade: websocket``: Codex prefers the Responses
  API over a WebSocket.  The server refuses with ``426 Upgrade Required``, on
  which Codex falls back to HTTP at once (other statuses make it retry first,
  or fail the turn).
- ``POST /v1/responses`` (``"stream": true``): one Server-Sent Events answer per
  request from the script (see :mod:`tests.fake_openai.script`):
  ``response.created``, per output item ``response.output_item.added``
  (``response.output_text.delta`` pieces for a message) and
  ``response.output_item.done``, then ``response.completed`` with the usage;
  or an HTTP error with OpenAI's JSON shape.

Every request is recorded (headers with the key masked, parsed body) so a test
can check what the CLI sent: the earlier turns on a resume, the tool outputs,
that every request reached this server.  Standard library only.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import re
import threading
import traceback
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from tests.fake_openai.script import (
    ErrorReply,
    Hang,
    Item,
    Reply,
    Turn,
    Usage,
    encode_arguments,
    fill,
)

__all__ = ["FakeOpenAI", "RecordedRequest", "encode_stream"]

MASKED = "<masked>"
RESPONSES = "/v1/responses"
_CWD = re.compile(r"<cwd>([^<]+)</cwd>")
_TOOL_OUTPUTS = ("function_call_output", "custom_tool_call_output")


@dataclass
class RecordedRequest:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]  # lower-case names; the key's value is masked
    body: Any  # the parsed JSON body, or None
    #: What the server did: ``turn N``, ``error S``, ``hang``, ``bad key``,
    #: ``websocket refused``, ``exhausted``, ``404``.
    reply: str = ""
    placeholders: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def items(self) -> list[dict[str, Any]]:
        """The ``input`` items of a Responses request (empty for anything else)."""
        found = self.body.get("input") if isinstance(self.body, dict) else None
        return [i for i in found if isinstance(i, dict)] if isinstance(found, list) else []

    def texts(self, role: str | None = None) -> list[str]:
        """Every message text of the input (of one role, if given), in order."""
        texts: list[str] = []
        for item in self.items:
            if item.get("type") != "message" or (role and item.get("role") != role):
                continue
            content = item.get("content")
            if isinstance(content, str):
                texts.append(content)
            elif isinstance(content, list):
                texts += [
                    str(part["text"])
                    for part in content
                    if isinstance(part, dict) and isinstance(part.get("text"), str)
                ]
        return texts

    def tool_outputs(self) -> list[str]:
        """The outputs of the tool calls the input holds, in order (as text)."""
        outputs: list[str] = []
        for item in self.items:
            if item.get("type") in _TOOL_OUTPUTS:
                output = item.get("output")
                outputs.append(output if isinstance(output, str) else json.dumps(output))
        return outputs

    def tool_calls(self) -> list[dict[str, Any]]:
        """The earlier tool calls the input holds (``function_call``/``custom_tool_call``)."""
        return [i for i in self.items if i.get("type") in ("function_call", "custom_tool_call")]

    @property
    def cwd(self) -> str | None:
        """The working directory Codex told the model (the latest ``<cwd>``)."""
        return working_directory(self.body)

    @property
    def model(self) -> str | None:
        model = self.body.get("model") if isinstance(self.body, dict) else None
        return model if isinstance(model, str) else None

    @property
    def session_id(self) -> str | None:
        return self.headers.get("session-id") or self.headers.get("thread-id")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def working_directory(body: Any) -> str | None:
    found: str | None = None
    if isinstance(body, dict):
        for string in _strings(body.get("input")):
            for match in _CWD.finditer(string):
                found = match.group(1).strip()
    return found


# --------------------------------------------------------------------------------------
# The Responses API SSE encoding


def _event(data: Mapping[str, Any]) -> str:
    return f"event: {data['type']}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def _pieces(text: str, count: int = 3) -> list[str]:
    if len(text) < count:
        return [text]
    size = -(-len(text) // count)
    return [text[i : i + size] for i in range(0, len(text), size)]


def _output_item(item: Item, placeholders: Mapping[str, str]) -> dict[str, Any]:
    if item.type == "message":
        return {
            "type": "message",
            "id": "msg_" + uuid.uuid4().hex,
            "role": "assistant",
            "status": "completed",
            "content": [
                {"type": "output_text", "text": fill(item.text, placeholders), "annotations": []}
            ],
        }
    call_id = "call_" + uuid.uuid4().hex[:24]
    if item.type == "custom_tool_call":
        return {
            "type": "custom_tool_call",
            "id": "ctc_" + uuid.uuid4().hex,
            "status": "completed",
            "call_id": call_id,
            "name": item.name,
            "input": fill(str(item.arguments.get("input", "")), placeholders),
        }
    return {
        "type": "function_call",
        "id": "fc_" + uuid.uuid4().hex,
        "status": "completed",
        "call_id": call_id,
        "name": item.name,
        "arguments": encode_arguments(item, placeholders),
    }


def _usage(usage: Usage) -> dict[str, Any]:
    return {
        "input_tokens": usage.input_tokens,
        "input_tokens_details": {"cached_tokens": usage.cached_tokens},
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.input_tokens + usage.output_tokens,
    }


def encode_stream(turn: Turn, model: str, placeholders: Mapping[str, str]) -> str:
    """The SSE body answering one request with *turn*."""
    response_id = "resp_" + uuid.uuid4().hex
    response = {
        "id": response_id,
        "object": "response",
        "model": model,
        "status": "in_progress",
        "output": [],
    }
    events = [_event({"type": "response.created", "response": response})]
    done: list[dict[str, Any]] = []
    for index, item in enumerate(turn.items):
        output = _output_item(item, placeholders)
        if output["type"] == "message":
            added = {**output, "status": "in_progress", "content": []}
        else:
            added = {**output, "status": "in_progress"}
        events.append(
            _event({"type": "response.output_item.added", "output_index": index, "item": added})
        )
        if output["type"] == "message":
            events += [
                _event(
                    {
                        "type": "response.output_text.delta",
                        "item_id": output["id"],
                        "output_index": index,
                        "content_index": 0,
                        "delta": piece,
                    }
                )
                for piece in _pieces(output["content"][0]["text"])
            ]
        events.append(
            _event({"type": "response.output_item.done", "output_index": index, "item": output})
        )
        done.append(output)
    completed = {**response, "status": "completed", "output": done, "usage": _usage(turn.usage)}
    events.append(_event({"type": "response.completed", "response": completed}))
    return "".join(events)


# --------------------------------------------------------------------------------------
# The server


class FakeOpenAI:
    """The scripted model behind a loopback HTTP server.

    ``api_key``: when set, a request carrying any other key gets a 401 (and does
    not consume the script).  Use it as a context manager, or ``start()``/``stop()``.
    """

    def __init__(self, api_key: str | None = None, host: str = "127.0.0.1") -> None:
        self.api_key = api_key
        self._host = host
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._script: list[Reply] = []
        self._next = 0
        self._requests: list[RecordedRequest] = []
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        #: Requests the script had no answer for, and bugs of the server itself.
        self.problems: list[str] = []

    # -- the script ------------------------------------------------------------

    def turn(self, *items: Item, usage: Usage | None = None) -> FakeOpenAI:
        """Add one successful answer made of *items*."""
        if not items:
            raise ValueError("a turn needs at least one item")
        self._add(Turn(tuple(items), usage or Usage()))
        return self

    def error(
        self,
        status: int,
        message: str = "",
        *,
        code: str | None = None,
        times: int = 1,
        headers: Mapping[str, str] | None = None,
    ) -> FakeOpenAI:
        """Add *times* error answers with HTTP *status* (OpenAI's JSON error shape)."""
        for _ in range(times):
            self._add(ErrorReply(status, message, code, dict(headers or {})))
        return self

    def hang(self) -> FakeOpenAI:
        """Add an answer that never comes (the connection is dropped when the server stops)."""
        self._add(Hang())
        return self

    def _add(self, reply: Reply) -> None:
        with self._lock:
            self._script.append(reply)

    @property
    def remaining(self) -> int:
        with self._lock:
            return len(self._script) - self._next

    # -- what was asked --------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def response_requests(self) -> list[RecordedRequest]:
        """The ``POST /v1/responses`` requests, in order."""
        return [r for r in self.requests if r.method == "POST" and r.path == RESPONSES]

    def wait_for_requests(self, count: int, timeout: float = 30.0) -> bool:
        with self._arrived:
            return self._arrived.wait_for(lambda: len(self._requests) >= count, timeout)

    # -- life cycle ------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The API base URL Codex is given (``openai_base_url``): ends with ``/v1``."""
        if self._httpd is None:
            raise RuntimeError("the server is not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the server is not started")
        return int(self._httpd.server_address[1])

    def start(self) -> FakeOpenAI:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = ThreadingHTTPServer((self._host, 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="fake-openai", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- answering (called from the handler threads) ---------------------------

    def _record(self, request: RecordedRequest) -> None:
        with self._arrived:
            self._requests.append(request)
            self._arrived.notify_all()

    def _take(self) -> tuple[int, Reply | None]:
        with self._lock:
            index = self._next
            if index >= len(self._script):
                return index, None
            self._next += 1
            return index, self._script[index]


class _Handler(BaseHTTPRequestHandler):
    fake: FakeOpenAI
    protocol_version = "HTTP/1.1"
    server_version = "fake-openai/1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def handle(self) -> None:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            super().handle()  # Codex drops kept-alive connections when it exits

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        try:
            self._dispatch()
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception:
            self.fake.problems.append(traceback.format_exc())
            self._json(500, ErrorReply(500, "fake_openai crashed").body())

    def _read_body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        encoding = (self.headers.get("Content-Encoding") or "").lower()
        if encoding == "gzip":
            raw = gzip.decompress(raw)
        elif encoding:
            self.fake.problems.append(
                f"cannot read a request body with Content-Encoding {encoding}"
            )
            return None
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return None

    def _dispatch(self) -> None:
        fake = self.fake
        path = urlsplit(self.path).path
        body = self._read_body()
        headers = {k.lower(): v for k, v in self.headers.items()}
        auth = headers.get("authorization", "")
        key = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        if "authorization" in headers:
            headers["authorization"] = MASKED
        placeholders = {"cwd": working_directory(body) or "", "api_key": key}
        request = RecordedRequest(self.command, path, headers, body, placeholders=placeholders)
        if self.command == "GET" and headers.get("upgrade", "").lower() == "websocket":
            request.reply = "websocket refused"  # Codex falls back to HTTP on a 426
            fake._record(request)
            self._json(426, ErrorReply(426, "WebSockets are not supported here").body())
            return
        if self.command != "POST" or path != RESPONSES:
            request.reply = "404"
            fake._record(request)
            self._json(404, ErrorReply(404, f"Unknown endpoint: {self.command} {path}").body())
            return
        if fake.api_key is not None and key != fake.api_key:
            request.reply = "bad key"
            fake._record(request)
            self._json(401, ErrorReply(401).body(key))
            return
        index, reply = fake._take()
        if reply is None:
            request.reply = "exhausted"
            fake._record(request)
            problem = f"request {len(fake.response_requests)}: the script has no answer left"
            fake.problems.append(problem)
            self._json(500, ErrorReply(500, f"fake_openai: {problem}").body())
            return
        if isinstance(reply, Hang):
            request.reply = "hang"
            fake._record(request)
            fake._stopping.wait()
            self.close_connection = True
            return
        if isinstance(reply, ErrorReply):
            request.reply = f"error {reply.status}"
            fake._record(request)
            self._json(reply.status, reply.body(key), reply.headers)
            return
        request.reply = f"turn {index}"
        model = request.model or "gpt-fake"
        fake._record(request)
        payload = encode_stream(reply, model, placeholders).encode()
        self._send(200, "text/event-stream; charset=utf-8", payload)

    def _json(self, status: int, data: Any, headers: Mapping[str, str] | None = None) -> None:
        self._send(status, "application/json", json.dumps(data).encode(), headers)

    def _send(
        self,
        status: int,
        content_type: str,
        payload: bytes,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("x-request-id", "req_" + uuid.uuid4().hex)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)
