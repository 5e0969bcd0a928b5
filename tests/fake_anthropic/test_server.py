"""The scripted Messages API server, spoken to with plain urllib."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from typing import Any

from tests.fake_anthropic import FakeAnthropic, text, write
from tests.fake_anthropic.fixture import TEST_API_KEY


def post(
    server: FakeAnthropic, body: dict[str, Any], key: str = TEST_API_KEY, path: str = ""
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(
        server.base_url + (path or "/v1/messages?beta=true"),
        data=json.dumps(body).encode(),
        headers={"x-api-key": key, "content-type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def sse(payload: bytes) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for chunk in payload.decode().split("\n\n"):
        if chunk.strip():
            name, data = chunk.split("\n")
            events.append((name.removeprefix("event: "), json.loads(data.removeprefix("data: "))))
    return events


def request_body(cwd: str = "/workspace") -> dict[str, Any]:
    return {
        "model": "claude-test",
        "stream": True,
        "system": [{"type": "text", "text": "You are Claude Code."}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "write hello"}]},
            {"role": "system", "content": f"# Environment\n - Primary working directory: {cwd}\n"},
        ],
    }


def test_a_tool_turn_streams_in_anthropic_order_with_the_cwd_filled(
    fake_anthropic: FakeAnthropic,
) -> None:
    fake_anthropic.turn(text("writing"), write("{cwd}/hello.py", "key={api_key} {x}\n"))
    status, headers, payload = post(fake_anthropic, request_body("/tmp/w"))
    assert status == 200 and headers["Content-Type"].startswith("text/event-stream")
    events = sse(payload)
    names = [name for name, _ in events if name != "ping"]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    assert names.count("content_block_start") == 2 == names.count("content_block_stop")
    usage = events[0][1]["message"]["usage"]
    assert set(usage) >= {"input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"}
    pieces = [
        data["delta"]["partial_json"]
        for name, data in events
        if name == "content_block_delta" and data["delta"]["type"] == "input_json_delta"
    ]
    assert len(pieces) > 1
    assert json.loads("".join(pieces)) == {
        "file_path": "/tmp/w/hello.py",
        "content": f"key={TEST_API_KEY} {{x}}\n",
    }
    delta = next(data for name, data in events if name == "message_delta")
    assert delta["delta"]["stop_reason"] == "tool_use" and delta["usage"]["output_tokens"] == 20
    recorded = fake_anthropic.message_requests[0]
    assert recorded.query == {"beta": "true"} and recorded.cwd == "/tmp/w"
    assert recorded.headers["x-api-key"] != TEST_API_KEY
    assert recorded.texts("user") == ["write hello"]


def test_errors_bad_keys_unknown_paths_and_an_exhausted_script(
    fake_anthropic: FakeAnthropic,
) -> None:
    fake_anthropic.error(529, times=2, retry_after=3).turn(text("ok"))
    status, _, payload = post(fake_anthropic, request_body(), key="sk-wrong")
    assert status == 401 and json.loads(payload)["error"]["type"] == "authentication_error"
    for _ in range(2):
        status, headers, payload = post(fake_anthropic, request_body())
        assert status == 529 and headers["retry-after"] == "3"
        assert json.loads(payload) == {
            "type": "error",
            "error": {"type": "overloaded_error", "message": "Overloaded"},
        }
    status, _, payload = post(fake_anthropic, request_body())
    assert status == 200 and sse(payload)[-1][0] == "message_stop"
    assert post(fake_anthropic, {}, path="/api/hello")[0] == 404
    assert [r.reply for r in fake_anthropic.requests] == [
        "bad key",
        "error 529",
        "error 529",
        "turn 2",
        "404",
    ]
    assert fake_anthropic.remaining == 0
    assert post(fake_anthropic, request_body())[0] == 500
    assert fake_anthropic.problems == ["request 5: the script has no answer left"]
    fake_anthropic.problems.clear()  # expected here: keep the fixture's teardown quiet


def test_a_hanging_answer_is_released_when_the_server_stops() -> None:
    server = FakeAnthropic().start()
    server.hang()
    outcome: list[object] = []
    thread = threading.Thread(target=lambda: outcome.append(_try_post(server)))
    thread.start()
    assert server.wait_for_requests(1, timeout=5)
    assert thread.is_alive()  # no answer yet
    server.stop()
    thread.join(timeout=5)
    assert not thread.is_alive() and outcome and outcome[0] != 200


def _try_post(server: FakeAnthropic) -> object:
    try:
        return post(server, request_body())[0]
    except Exception as exc:
        return exc
