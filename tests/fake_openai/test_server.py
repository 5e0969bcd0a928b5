"""The scripted Responses API server, spoken to with plain urllib."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from typing import Any

from tests.fake_openai import FakeOpenAI, shell, text, write
from tests.fake_openai.fixture import TEST_OPENAI_KEY


def call(
    server: FakeOpenAI,
    body: dict[str, Any] | None,
    key: str = TEST_OPENAI_KEY,
    path: str = "/responses",
    method: str = "POST",
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(
        server.base_url + path,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"authorization": f"Bearer {key}", "content-type": "application/json"}
        | (headers or {}),
        method=method,
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def sse(payload: bytes) -> list[dict[str, Any]]:
    events = []
    for chunk in payload.decode().split("\n\n"):
        if chunk.strip():
            name, data = chunk.split("\n")
            event = json.loads(data.removeprefix("data: "))
            assert name.removeprefix("event: ") == event["type"]
            events.append(event)
    return events


def request_body(cwd: str = "/workspace") -> dict[str, Any]:
    context = f"<environment_context>\n  <cwd>{cwd}</cwd>\n</environment_context>"
    return {
        "model": "gpt-5.5",
        "stream": True,
        "input": [
            {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": context}],
            },
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "go"}]},
        ],
    }


def test_a_tool_turn_streams_in_responses_api_order_with_placeholders_filled(
    fake_openai: FakeOpenAI,
) -> None:
    fake_openai.turn(text("writing in {cwd}"), write("hello.py", "key={api_key} {x}\n"))
    fake_openai.turn(shell("git status"))
    status, headers, payload = call(fake_openai, request_body("/tmp/w"))
    assert status == 200 and headers["Content-Type"].startswith("text/event-stream")
    events = sse(payload)
    kinds = [e["type"] for e in events]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert (
        kinds.count("response.output_item.added") == 2 == kinds.count("response.output_item.done")
    )
    deltas = [e["delta"] for e in events if e["type"] == "response.output_text.delta"]
    assert len(deltas) > 1 and "".join(deltas) == "writing in /tmp/w"
    done = [e["item"] for e in events if e["type"] == "response.output_item.done"]
    assert done[0]["content"][0]["text"] == "writing in /tmp/w"
    assert done[1]["type"] == "custom_tool_call" and done[1]["name"] == "apply_patch"
    assert done[1]["input"] == (
        f"*** Begin Patch\n*** Add File: hello.py\n+key={TEST_OPENAI_KEY} {{x}}\n*** End Patch\n"
    )
    usage = events[-1]["response"]["usage"]
    assert (usage["input_tokens"], usage["output_tokens"], usage["total_tokens"]) == (100, 20, 120)
    status, _, payload = call(fake_openai, request_body())
    call_item = next(e["item"] for e in sse(payload) if e["type"] == "response.output_item.done")
    assert call_item["type"] == "function_call" and call_item["name"] == "exec_command"
    assert json.loads(call_item["arguments"]) == {"cmd": "git status"}
    recorded = fake_openai.response_requests[0]
    assert recorded.cwd == "/tmp/w" and recorded.texts("user")[-1] == "go"
    assert recorded.headers["authorization"] != f"Bearer {TEST_OPENAI_KEY}"


def test_websockets_are_refused_errors_bad_keys_and_an_exhausted_script(
    fake_openai: FakeOpenAI,
) -> None:
    fake_openai.error(500, times=2).turn(text("ok"))
    upgrade = {"connection": "Upgrade", "upgrade": "websocket"}
    assert call(fake_openai, None, method="GET", headers=upgrade)[0] == 426
    status, _, payload = call(fake_openai, request_body(), key="sk-wrong-0123456789")
    error = json.loads(payload)["error"]
    assert status == 401 and error["code"] == "invalid_api_key"
    assert "sk-wrong" not in error["message"] and "6789" in error["message"]
    for _ in range(2):
        status, _, payload = call(fake_openai, request_body())
        assert status == 500 and json.loads(payload)["error"]["type"] == "server_error"
    status, _, payload = call(fake_openai, request_body())
    assert status == 200 and sse(payload)[-1]["type"] == "response.completed"
    assert call(fake_openai, {}, path="/models", method="GET")[0] == 404
    assert [r.reply for r in fake_openai.requests] == [
        "websocket refused",
        "bad key",
        "error 500",
        "error 500",
        "turn 2",
        "404",
    ]
    assert call(fake_openai, request_body())[0] == 500
    assert fake_openai.problems == ["request 5: the script has no answer left"]
    fake_openai.problems.clear()  # expected here: keep the fixture's teardown quiet


def test_a_hanging_answer_is_released_when_the_server_stops() -> None:
    server = FakeOpenAI().start()
    server.hang()
    outcome: list[object] = []
    thread = threading.Thread(target=lambda: outcome.append(_try_call(server)))
    thread.start()
    assert server.wait_for_requests(1, timeout=5)
    assert thread.is_alive()
    server.stop()
    thread.join(timeout=5)
    assert not thread.is_alive() and outcome and outcome[0] != 200


def _try_call(server: FakeOpenAI) -> object:
    try:
        return call(server, request_body())[0]
    except Exception as exc:
        return exc
