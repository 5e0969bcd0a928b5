"""The stream-json decoder, the transcript accumulator and the terminal rendering."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from gittask.runner.agents.claude_render import format_result_line, render
from gittask.runner.agents.claude_tools import summarize_tool_use
from gittask.runner.agents.claude_transcript import ClaudeTranscript
from gittask.runner.stream_json import Item, LineDecoder, StreamDecoder
from tests.paths import FIXTURES as ALL_FIXTURES

FIXTURES = ALL_FIXTURES / "claude"


def decode_in_pieces(data: bytes, cuts: list[int]) -> list[Item]:
    decoder = StreamDecoder()
    items: list[Item] = []
    start = 0
    for cut in [*sorted(cuts), len(data)]:
        items += decoder.feed(data[start:cut])
        start = cut
    return items + decoder.flush()


def transcript_of(name: str) -> ClaudeTranscript:
    transcript = ClaudeTranscript()
    transcript.consume_all(decode_in_pieces((FIXTURES / name).read_bytes(), []))
    return transcript


# -- decoding ---------------------------------------------------------------------------


def test_every_byte_boundary_and_random_chunkings_give_the_same_events() -> None:
    data = (FIXTURES / "non_json_multibyte.jsonl").read_bytes()
    assert any(b >= 0x80 for b in data)  # the fixture does contain multi-byte characters
    whole = decode_in_pieces(data, [])
    assert len(whole) == 8
    for cut in range(1, len(data)):
        assert decode_in_pieces(data, [cut]) == whole, cut
    rng = random.Random(1234)
    for _ in range(200):
        cuts = rng.sample(range(1, len(data)), rng.randint(2, 40))
        assert decode_in_pieces(data, cuts) == whole


def test_a_utf8_character_split_across_chunks_is_kept_whole() -> None:
    line = '{"type":"assistant","message":{"content":[{"type":"text","text":"日本 🚀 é"}]}}\n'
    data = line.encode()
    decoder = StreamDecoder()
    items: list[Item] = []
    for byte in data:  # one byte at a time: every multi-byte character is split
        items += decoder.feed(bytes([byte]))
    assert items == [json.loads(line)]
    assert decoder.flush() == []


def test_line_decoder_keeps_partial_lines_and_handles_crlf_and_bad_bytes() -> None:
    lines = LineDecoder()
    assert lines.feed(b"par") == []
    assert lines.feed(b"tial") == []
    assert lines.feed(b" line\r\nnext\n\nlast \xe6\x97") == ["partial line", "next", ""]
    assert lines.feed(b"\xa5") == []
    assert lines.flush() == ["last 日"]
    assert lines.flush() == []
    broken = LineDecoder()
    assert broken.feed(b"bad \xff\xfe byte\n") == ["bad \ufffd\ufffd byte"]
    assert broken.feed(b"cut \xe6") == []
    assert broken.flush() == ["cut \ufffd"]  # an incomplete character at the end


def test_non_json_lines_come_back_as_text_and_blank_lines_are_dropped() -> None:
    data = (
        b"npm WARN something\n"
        b"\n   \n"
        b'{"type":"system","subtype":"init","session_id":"s1"}\n'
        b'{"type": "trunc\n'
        b"42\n"
        b'["a", "list"]\n'
        b'{"type":"result","subtype":"success","is_error":false}'  # no final newline
    )
    items = decode_in_pieces(data, [])
    assert items == [
        "npm WARN something",
        {"type": "system", "subtype": "init", "session_id": "s1"},
        '{"type": "trunc',
        "42",
        '["a", "list"]',
        {"type": "result", "subtype": "success", "is_error": False},
    ]


def test_a_long_line_in_many_small_chunks() -> None:
    text = "x" * 300_000
    line = json.dumps({"type": "user", "message": {"content": [{"type": "text", "text": text}]}})
    data = (line + "\n").encode()
    decoder = StreamDecoder()
    items: list[Item] = []
    for start in range(0, len(data), 1000):
        items += decoder.feed(data[start : start + 1000])
    assert len(items) == 1 and isinstance(items[0], dict)


# -- the transcript ---------------------------------------------------------------------


def test_transcript_of_a_successful_run() -> None:
    t = transcript_of("success.jsonl")
    assert t.saw_init and t.saw_result and t.succeeded
    assert t.session_id == "3c5e9a1f-7b2d-4f8e-a6c4-1d9b0e2f7a53"
    assert t.model == "claude-sonnet-4-5-20250929"
    assert t.claude_code_version == "2.1.331"
    assert (t.subtype, t.is_error) == ("success", False)
    assert t.result is not None and t.result.startswith("Fixed `add`")
    assert (t.num_turns, t.duration_ms) == (12, 41213)
    assert t.cost_usd == pytest.approx(0.08312475)
    assert (t.input_tokens, t.output_tokens) == (38, 185)
    assert (t.cache_read_tokens, t.cache_creation_tokens) == (70099, 14619)
    assert t.tool_uses == 5 and t.non_json_lines == 0
    assert t.last_assistant_text == t.result
    assert t.error_detail() is None


def test_transcript_of_failures() -> None:
    max_turns = transcript_of("error_max_turns_errors.jsonl")
    assert max_turns.saw_result and not max_turns.succeeded
    assert max_turns.subtype == "error_max_turns" and max_turns.result is None
    assert max_turns.error_detail() == "Reached maximum number of turns (30)"
    api = transcript_of("api_error_overloaded.jsonl")
    assert api.subtype == "success" and api.is_error and not api.succeeded
    assert api.api_error == "overloaded"
    assert api.model == "claude-sonnet-4-5-20250929"  # not the "<synthetic>" message model
    assert (api.error_detail() or "").startswith("API Error: 529")


def test_older_cost_field_and_model_from_the_messages() -> None:
    t = transcript_of("old_cost_usd.jsonl")
    assert t.succeeded and t.cost_usd == pytest.approx(0.04207815)
    assert t.model == "claude-3-7-sonnet-20250219"  # the old init event had no model
    both = ClaudeTranscript()
    both.consume({"type": "result", "subtype": "success", "total_cost_usd": 0.5, "cost_usd": 0.1})
    assert both.cost_usd == 0.5


def test_the_latest_session_id_wins() -> None:
    t = ClaudeTranscript()
    t.consume({"type": "system", "subtype": "init", "session_id": "old"})
    t.consume("not json")
    t.consume({"type": "assistant", "message": {"content": []}, "session_id": "new"})
    assert t.session_id == "new" and not t.saw_result and t.non_json_lines == 1
    t.consume({"type": "result", "subtype": "success", "is_error": False, "session_id": "newer"})
    assert t.session_id == "newer" and t.succeeded


def test_odd_values_do_not_break_the_transcript() -> None:
    t = ClaudeTranscript()
    t.consume({"type": "assistant", "message": "not a dict"})
    t.consume({"type": "user", "message": {"content": "plain text"}})
    t.consume(
        {
            "type": "result",
            "subtype": None,
            "is_error": "yes",
            "num_turns": "3",
            "total_cost_usd": True,
            "usage": [],
            "result": 7,
        }
    )
    assert t.saw_result and not t.succeeded
    assert (t.subtype, t.is_error, t.num_turns, t.cost_usd, t.result) == (
        None,
        False,
        None,
        None,
        None,
    )


# -- rendering --------------------------------------------------------------------------


def rendered(name: str) -> list[str]:
    lines: list[str] = []
    for item in decode_in_pieces((FIXTURES / name).read_bytes(), []):
        shown = render(item)
        if shown is not None:
            lines += shown.splitlines()
    return lines


def test_rendering_of_a_successful_run() -> None:
    lines = rendered("success.jsonl")
    assert lines[0] == (
        "● Claude Code · claude-sonnet-4-5-20250929 · session 3c5e9a1f-7b2d-4f8e-a6c4-1d9b0e2f7a53"
    )
    assert "I'll start by running the failing test to see what's wrong." in lines
    assert "→ Bash: python -m pytest -q tests/test_calc.py" in lines
    assert "  ✗ 1 failed, 1 passed in 0.02s" in lines  # a long error shows its verdict
    assert "→ Read src/calc.py" in lines
    assert "→ Edit src/calc.py" in lines  # relative to /workspace
    assert "→ Grep: a - b in src" in lines
    assert lines[-1] == "✓ done in 12 turns, 41.2s, $0.0831"
    assert not any(line.lstrip().startswith("{") for line in lines)


def test_rendering_of_failures_and_noise() -> None:
    assert rendered("error_max_turns_errors.jsonl")[-1] == (
        "✗ error_max_turns after 31 turns, 321.1s, $1.4418: Reached maximum number of turns (30)"
    )
    assert "  ✗ Error: Cannot find module 'vitest' …" in rendered("error_max_turns_errors.jsonl")
    api = rendered("api_error_overloaded.jsonl")
    assert api[-1].startswith("✗ error after 1 turn, 18.6s, $0.0000: API Error: 529")
    noisy = rendered("non_json_multibyte.jsonl")
    assert noisy[0].startswith("(node:1) Warning:")  # non-JSON lines are shown as they are
    assert "→ Write docs/ÜBERSICHT.md" in noisy
    assert "Je vais traduire le fichier — 日本語のテキストも確認します 🚀" in noisy


@pytest.mark.parametrize(
    ("name", "tool_input", "expected"),
    [
        ("Edit", {"file_path": "/workspace/src/app.py"}, "→ Edit src/app.py"),
        ("Write", {"file_path": "/etc/hosts"}, "→ Write /etc/hosts"),
        ("Read", {}, "→ Read"),
        ("Bash", {"command": "pytest -q", "description": "Run tests"}, "→ Bash: pytest -q"),
        ("Bash", {"command": "cat <<EOF\nhello\nEOF"}, "→ Bash: cat <<EOF …"),
        ("Glob", {"pattern": "**/*.py"}, "→ Glob: **/*.py"),
        ("TodoWrite", {"todos": [{}, {}, {}]}, "→ TodoWrite (3 items)"),
        (
            "WebFetch",
            {"url": "https://example.com", "prompt": "x"},
            "→ WebFetch: https://example.com",
        ),
        ("Task", {"description": "Explore the repo", "prompt": "long"}, "→ Task: Explore the repo"),
        ("mcp__x__y", {"b": 1, "a": "z"}, '→ mcp__x__y: {"a": "z", "b": 1}'),
    ],
)
def test_tool_use_summaries(name: str, tool_input: dict[str, Any], expected: str) -> None:
    assert summarize_tool_use(name, tool_input) == expected


def test_long_tool_inputs_are_truncated() -> None:
    line = summarize_tool_use("Bash", {"command": "echo " + "y" * 500})
    assert line.startswith("→ Bash: echo yyy") and line.endswith("…")
    assert len(line) <= len("→ Bash: ") + 80


def test_render_of_single_events() -> None:
    assert render("  plain text  ") == "  plain text"
    assert render("   ") is None
    assert render({"type": "system", "subtype": "compact_boundary"}) is None
    assert render({"type": "stream_event", "event": {}}) is None
    fine = {"type": "user", "message": {"content": [{"type": "tool_result", "content": "ok"}]}}
    assert render(fine) is None
    tool_error = {
        "type": "user",
        "message": {
            "content": [
                {
                    "type": "tool_result",
                    "is_error": True,
                    "content": [{"type": "text", "text": "boom"}],
                }
            ]
        },
    }
    assert render(tool_error) == "  ✗ boom"
    both = {
        "type": "assistant",
        "message": {
            "content": [
                {"type": "thinking", "thinking": "hidden"},
                {"type": "text", "text": "  Let me look.  "},
                {"type": "tool_use", "name": "Bash", "input": {"command": "ls"}},
            ]
        },
    }
    assert render(both) == "Let me look.\n→ Bash: ls"
    assert render({"type": "assistant", "message": {"content": []}}) is None


def test_result_lines() -> None:
    one = ClaudeTranscript()
    one.consume({"type": "result", "subtype": "success", "is_error": False, "num_turns": 1})
    assert format_result_line(one) == "✓ done in 1 turn"
    bare = ClaudeTranscript()
    bare.consume({"type": "result", "subtype": "error_during_execution", "is_error": True})
    assert format_result_line(bare) == "✗ error_during_execution"
    line = render(
        {
            "type": "result",
            "subtype": "success",
            "is_error": True,
            "result": "Not logged in · Please run /login\nmore",
            "num_turns": 2,
            "duration_ms": 100,
            "total_cost_usd": 0,
        }
    )
    assert line == "✗ error after 2 turns, 0.1s, $0.0000: Not logged in · Please run /login …"
