"""A scripted, Messages-API-compatible server on 127.0.0.1 for the real Claude Code CLI.

Point the CLI at it with ``ANTHROPIC_BASE_URL=<server.base_url>``.  It answers
``POST /v1/messages`` (any query string, e.g. ``?beta=true``) the way the
Anthropic API does: Server-Sent Events (``message_start`` with usage,
``content_block_start``/``content_block_delta``/``content_block_stop`` per block,
tool inputs as ``input_json_delta`` pieces, ``message_delta`` with the stop
reason and output tokens, ``message_stop``), or a JSON error.  The answers come
from a script (see :mod:`tests.fake_anthropic.script`), one entry per request.

Every request is recorded (headers with the key value masked, parsed body) so a
test can check what the CLI sent: the earlier turns on a resume, the tool
results, that every request reached this server.  Standard library only.
"""

from __future__ import annotations

import json
import re
import threading
import traceback
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.fake_anthropic.script import (
    Block,
    ErrorReply,
    Hang,
    Reply,
    Turn,
    Usage,
    fill,
)

__all__ = ["FakeAnthropic", "RecordedRequest"]

MASKED = "<masked>"
_CWD = re.compile(r"Primary working directory: (\S+)")
_KEY_HEADERS = ("x-api-key", "authorization")


@dataclass
class RecordedRequest:
    """One request as the server saw it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names; the key's value is masked
    body: Any  # the parsed JSON body, or None
    #: What the server did: ``turn N``, ``error S``, ``hang``, ``bad key``, ``exhausted``, ``404``.
    reply: str = ""
    #: The placeholders this request filled in (``cwd``, ``api_key``).
    placeholders: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The ``messages`` of a Messages API request (empty for anything else)."""
        messages = self.body.get("messages") if isinstance(self.body, dict) else None
        return [m for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []

    @property
    def conversation(self) -> list[dict[str, Any]]:
        """The user and assistant turns, without ``role: system`` environment entries."""
        return [m for m in self.messages if m.get("role") in ("user", "assistant")]

    def texts(self, role: str | None = None) -> list[str]:
        """Every text the conversation holds (of one role, if given), in order."""
        found: list[str] = []
        for message in self.conversation:
            if role is None or message.get("role") == role:
                found += [b["text"] for b in _blocks(message) if isinstance(b.get("text"), str)]
        return found

    def tool_results(self) -> list[dict[str, Any]]:
        """The ``tool_result`` blocks of the last user turn."""
        users = [m for m in self.conversation if m.get("role") == "user"]
        return [b for b in _blocks(users[-1]) if b.get("type") == "tool_result"] if users else []

    def tool_uses(self) -> list[dict[str, Any]]:
        """Every ``tool_use`` block the assistant turns hold, in order."""
        return [
            b
            for m in self.conversation
            if m.get("role") == "assistant"
            for b in _blocks(m)
            if b.get("type") == "tool_use"
        ]

    @property
    def cwd(self) -> str | None:
        """The working directory the CLI told the model (the latest, after a move)."""
        return working_directory(self.body)

    @property
    def session_id(self) -> str | None:
        return self.headers.get("x-claude-code-session-id")


def _blocks(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


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
    """The last ``Primary working directory: X`` in the request (system prompt or messages)."""
    found: str | None = None
    if isinstance(body, dict):
        for part in (body.get("system"), body.get("messages")):
            for string in _strings(part):
                for match in _CWD.finditer(string):
                    found = match.group(1)
    return found


# --------------------------------------------------------------------------------------
# The Anthropic SSE encoding


def _event(name: str, data: Mapping[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def _pieces(text: str, count: int = 3) -> list[str]:
    """*text* cut in up to *count* non-empty pieces, as a stream would deliver it."""
    if len(text) < count:
        return [text]
    size = -(-len(text) // count)
    return [text[i : i + size] for i in range(0, len(text), size)]


def _message(
    turn: Turn, model: str, message_id: str, content: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {
            "input_tokens": turn.usage.input_tokens,
            "cache_creation_input_tokens": turn.usage.cache_creation_input_tokens,
            "cache_read_input_tokens": turn.usage.cache_read_input_tokens,
            "output_tokens": 1,
        },
    }


def _content(block: Block, placeholders: Mapping[str, str]) -> dict[str, Any]:
    if block.type == "text":
        return {"type": "text", "text": fill(block.text, placeholders)}
    return {
        "type": "tool_use",
        "id": "toolu_" + uuid.uuid4().hex[:24],
        "name": block.name,
        "input": fill(dict(block.input), placeholders),
    }


def encode_stream(turn: Turn, model: str, placeholders: Mapping[str, str]) -> tuple[str, str]:
    """The SSE body of *turn* and its message id."""
    message_id = "msg_" + uuid.uuid4().hex[:24]
    events = [
        _event(
            "message_start",
            {
                "type": "message_start",
                "message": _message(turn, model, message_id, []),
            },
        )
    ]
    for index, block in enumerate(turn.blocks):
        content = _content(block, placeholders)
        if content["type"] == "text":
            start = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": p} for p in _pieces(content["text"])]
        else:
            start = {**content, "input": {}}
            deltas = [
                {"type": "input_json_delta", "partial_json": p}
                for p in _pieces(json.dumps(content["input"]))
            ]
        events.append(
            _event(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": start,
                },
            )
        )
        if index == 0:
            events.append(_event("ping", {"type": "ping"}))
        events += [
            _event(
                "content_block_delta", {"type": "content_block_delta", "index": index, "delta": d}
            )
            for d in deltas
        ]
        events.append(_event("content_block_stop", {"type": "content_block_stop", "index": index}))
    events.append(
        _event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": turn.final_stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": turn.usage.output_tokens},
            },
        )
    )
    events.append(_event("message_stop", {"type": "message_stop"}))
    return "".join(events), message_id


def encode_message(turn: Turn, model: str, placeholders: Mapping[str, str]) -> dict[str, Any]:
    """The JSON body of *turn* for a request without ``"stream": true``."""
    message_id = "msg_" + uuid.uuid4().hex[:24]
    content = [_content(b, placeholders) for b in turn.blocks]
    message = _message(turn, model, message_id, content)
    message["stop_reason"] = turn.final_stop_reason
    message["usage"]["output_tokens"] = turn.usage.output_tokens
    return message


# --------------------------------------------------------------------------------------
# The server


class FakeAnthropic:
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

    def turn(
        self, *blocks: Block, usage: Usage | None = None, stop_reason: str | None = None
    ) -> FakeAnthropic:
        """Add one successful answer made of *blocks*."""
        if not blocks:
            raise ValueError("a turn needs at least one block")
        self._add(Turn(tuple(blocks), usage or Usage(), stop_reason))
        return self

    def error(
        self,
        status: int,
        message: str = "",
        *,
        times: int = 1,
        retry_after: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> FakeAnthropic:
        """Add *times* error answers with HTTP *status* (Anthropic's JSON error shape)."""
        for _ in range(times):
            self._add(ErrorReply(status, message, retry_after, dict(headers or {})))
        return self

    def hang(self) -> FakeAnthropic:
        """Add an answer that never comes (the connection is dropped when the server stops)."""
        self._add(Hang())
        return self

    def _add(self, reply: Reply) -> None:
        with self._lock:
            self._script.append(reply)

    @property
    def remaining(self) -> int:
        """Script entries not consumed yet."""
        with self._lock:
            return len(self._script) - self._next

    # -- what was asked --------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received, in order."""
        with self._lock:
            return list(self._requests)

    @property
    def message_requests(self) -> list[RecordedRequest]:
        """The ``POST /v1/messages`` requests, in order."""
        return [r for r in self.requests if r.method == "POST" and r.path == "/v1/messages"]

    def wait_for_requests(self, count: int, timeout: float = 30.0) -> bool:
        """Block until *count* requests arrived (True) or *timeout* seconds passed."""
        with self._arrived:
            return self._arrived.wait_for(lambda: len(self._requests) >= count, timeout)

    # -- life cycle ------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the server is not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the server is not started")
        return int(self._httpd.server_address[1])

    def start(self) -> FakeAnthropic:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = ThreadingHTTPServer((self._host, 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="fake-anthropic", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # releases hanging requests
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeAnthropic:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- answering (called from the handler threads) ---------------------------

    def _record(self, request: RecordedRequest) -> None:
        with self._arrived:
            self._requests.append(request)
            self._arrived.notify_all()

    def _key_of(self, headers: Mapping[str, str]) -> str | None:
        key = headers.get("x-api-key")
        if key:
            return key
        auth = headers.get("authorization", "")
        return auth[7:].strip() if auth.lower().startswith("bearer ") else None

    def _take(self) -> tuple[int, Reply | None]:
        with self._lock:
            index = self._next
            if index >= len(self._script):
                return index, None
            self._next += 1
            return index, self._script[index]


class _Handler(BaseHTTPRequestHandler):
    fake: FakeAnthropic
    protocol_version = "HTTP/1.1"
    server_version = "fake-anthropic/1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
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
            self._json(500, ErrorReply(500, "fake_anthropic crashed").body())

    def _dispatch(self) -> None:
        fake = self.fake
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        headers = {k.lower(): v for k, v in self.headers.items()}
        key = fake._key_of(headers)
        for name in _KEY_HEADERS:
            if name in headers:
                headers[name] = MASKED
        placeholders = {"cwd": working_directory(body) or "", "api_key": key or ""}
        request = RecordedRequest(
            self.command,
            url.path,
            dict(parse_qsl(url.query)),
            headers,
            body,
            placeholders=placeholders,
        )
        if self.command != "POST" or url.path not in ("/v1/messages", "/v1/messages/count_tokens"):
            request.reply = "404"
            fake._record(request)
            self._json(404, ErrorReply(404, f"Not found: {self.command} {url.path}").body())
            return
        if fake.api_key is not None and key != fake.api_key:
            request.reply = "bad key"
            fake._record(request)
            self._json(401, ErrorReply(401).body())
            return
        if url.path.endswith("/count_tokens"):
            request.reply = "count_tokens"
            fake._record(request)
            self._json(200, {"input_tokens": 100})
            return
        index, reply = fake._take()
        if reply is None:
            request.reply = "exhausted"
            fake._record(request)
            problem = f"request {len(fake.message_requests)}: the script has no answer left"
            fake.problems.append(problem)
            self._json(500, ErrorReply(500, f"fake_anthropic: {problem}").body())
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
            extra = dict(reply.headers)
            if reply.retry_after is not None:
                extra["retry-after"] = f"{reply.retry_after:g}"
            self._json(reply.status, reply.body(), extra)
            return
        request.reply = f"turn {index}"
        model = str(body.get("model") or "claude-fake") if isinstance(body, dict) else "claude"
        fake._record(request)
        if isinstance(body, dict) and body.get("stream") is True:
            stream, _ = encode_stream(reply, model, placeholders)
            self._send(200, "text/event-stream; charset=utf-8", stream.encode())
        else:
            self._json(200, encode_message(reply, model, placeholders))

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
        self.send_header("request-id", "req_" + uuid.uuid4().hex[:24])
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
