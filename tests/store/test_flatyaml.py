"""The fast reader of the tool's own flat records agrees with ruamel.yaml, or steps aside."""

from __future__ import annotations

from typing import Any

import pytest

from gittask.model import FeedbackEntry, TaskMetadata
from gittask.store import yamlio
from gittask.store.flatyaml import dump_flat, parse_flat
from gittask.store.taskfiles import task_files

TRICKY = [
    "plain",
    "two words",
    "",
    " leading space",
    "trailing space ",
    "a: colon",
    "a:b",
    "http://x.example/pull/1",
    "hash # here",
    "#start",
    "'quoted'",
    'double "q"',
    "it's",
    "yes",
    "No",
    "on",
    "null",
    "~",
    "true",
    "1",
    "012",
    "1.5",
    "1e3",
    ".inf",
    "0x1F",
    "2024-05-01",
    "2024-05-01T10:00:00Z",
    "- dash",
    "[x]",
    "{x}",
    "&anchor",
    "*alias",
    "!tag",
    "%pct",
    "@at",
    "`tick",
    "tab\there",
    "ünïcödé ✓",
    "line\nbreak",
    "two\n\nparagraphs\n",
    "ends with newlines\n\n\n",
    "\nstarts with newline",
    "  indented\nblock",
    "spaces only line\n   \nafter",
    "control \x07 bell",
    "bom \ufeff inside",
    "x" * 300,
    "20261202T014822107148Z-1c6886b5",
    "20261202T014822107148Z",
    "20261202T01",
    "4375d0341e4f6f2ae8af30f7c70b53bf",
    "12e45",
    "1234e5678abc",
    "0000000000000000000000000000000a",
    "1234567",
    "0123456",
    "1e",
    "0b101010",
    "Bench Mark <bench@example.com>",
    "claude/fix-the-parser-4375d034",
]


def _ruamel(text: str) -> Any:
    return yamlio._plain(yamlio._loader().load(text))


def _check(text: str) -> dict[str, Any] | None:
    fast = parse_flat(text)
    if fast is not None:
        assert fast == _ruamel(text), text
        assert [type(v) for v in fast.values()] == [type(v) for v in _ruamel(text).values()]
    return fast


@pytest.mark.parametrize("value", TRICKY)
def test_dumped_strings_read_back_the_same(value: str) -> None:
    text = yamlio.dump({"id": "abc", "value": value, "after": "x", "n": None})
    _check(text)
    _check(yamlio.dump({"id": "abc", "last": value}))
    _check(yamlio.dump({"id": "abc", "items": [value, "b"], "k": 1}))


@pytest.mark.parametrize(
    "value", [0, -3, 10**17, 10**30, 1.25, -0.5, 1e-9, 1e300, True, False, None, [], {}, ["a", 1]]
)
def test_dumped_scalars_read_back_the_same(value: Any) -> None:
    _check(yamlio.dump({"id": "abc", "value": value, "z": "end"}))


def test_the_tools_records_take_the_fast_path() -> None:
    task = TaskMetadata(
        id="ab" * 16,
        description="Fix it\n\nproperly",
        branch_name="claude/fix-it",
        base_branch="main",
        author="A B <a@b.example>",
        commits=["1" * 40, "2" * 40],
        cost_usd=0.1234,
        run_count=2,
    )
    task.feedback_history.append(FeedbackEntry(feedback="more\n\n  code:\n    x = 1\n"))
    files = task_files(task)
    meta = _check(files["metadata.yaml"].decode())
    assert meta is not None and meta["commits"] == ["1" * 40, "2" * 40]
    for data in files["feedback"].values():
        assert _check(data.decode()) is not None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "# a comment\nid: x\n",
        "id: x # trailing comment\n",
        "---\nid: x\n",
        "id: x\nid: y\n",
        "id: &a x\nother: *a\n",
        "id: !!str 1\n",
        'id: "double"\n',
        "id: [a, b]\n",
        "id: {a: 1}\n",
        "nested:\n  a: 1\n",
        "id: plain\n  continued\n",
        "items:\n  - indented\n",
        "text: |2\n   x\n",
        "text: >\n  folded\n",
        "text: |\n  a\n b\n",
        "- a list\n",
        "just text\n",
        "id: x\r\n",
        "date: 2024-05-01\n",
        "big: " + "x" * 70000 + "\n",
    ],
)
def test_anything_else_goes_to_the_full_parser(text: str) -> None:
    assert parse_flat(text) is None
    assert parse_flat(text.encode()) is None


def test_yamlio_load_uses_it_and_still_reads_hand_edits() -> None:
    assert yamlio.load("id: x\nn: 3\n") == {"id": "x", "n": 3}
    assert yamlio.load("# hand edit\nid: x\ndue: 2024-05-01\n") == {"id": "x", "due": "2024-05-01"}
    with pytest.raises(ValueError):
        yamlio.load("id: [unclosed\n")


def _ruamel_dump(data: dict[str, Any]) -> str:
    import io

    buf = io.StringIO()
    yamlio._dumper().dump(data, buf)
    return buf.getvalue()


def _agrees(data: dict[str, Any]) -> bool:
    """The fast writer wrote exactly ruamel.yaml's bytes (True), or stepped aside (False)."""
    fast = dump_flat(data)
    if fast is None:
        return False
    assert fast == _ruamel_dump(data), data
    return True


@pytest.mark.parametrize("value", TRICKY)
def test_the_fast_writer_writes_ruamels_bytes_or_steps_aside(value: str) -> None:
    _agrees({"id": "abc", "value": value, "n": None})
    _agrees({"id": "abc", "items": [value, "b"], "k": 1})


def test_the_fast_writer_on_random_strings() -> None:
    import random

    rng = random.Random(14)
    alphabet = "abcXYZ0189 ._/<>@+=(),;-:#'\"[]{}!&*|%`?~\\\n\tbe"
    decided = 0
    for _ in range(20_000):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 10)))
        decided += _agrees({"k": value, "list": [value]})
    assert decided > 500  # it does take the common case


def test_the_tools_records_are_written_without_ruamel() -> None:
    task = TaskMetadata(
        id="4375d0341e4f6f2ae8af30f7c70b53bf",
        description="Fix the parser",
        branch_name="claude/fix-the-parser-4375d034",
        base_branch="main",
        author="Ann Example <ann@example.com>",
    )
    metadata = task_files(task)["metadata.yaml"].decode()
    fields = _ruamel(metadata)
    assert dump_flat(fields) == metadata == _ruamel_dump(fields)
    task.cost_usd = 0.25  # a float: ruamel.yaml's notation, so ruamel.yaml writes it
    assert dump_flat(_ruamel(task_files(task)["metadata.yaml"].decode())) is None


def test_one_line_records_read_alike_however_often_their_values_repeat() -> None:
    # every line `key: value`: read in one pass, repeated values remembered
    for _ in range(3):
        first = _check("id: abc\nlist: []\nmap: {}\nn: 3\nf: 1.5\nok: true\nname: main\n")
        assert first is not None
        first["list"].append("changed")  # values a record may change are never shared
        first["map"]["k"] = 1
    again = _check("id: abc\nlist: []\nmap: {}\nname: main")  # no final line break
    assert again == {"id": "abc", "list": [], "map": {}, "name": "main"}
    assert _check("id: abc\ntext: |\nafter: x\n") == {"id": "abc", "text": "", "after": "x"}
    assert parse_flat("id: abc\n\nafter: x\n") is None  # a blank line: the full parser
    assert parse_flat("id: abc\nid: abd\n") is None


@pytest.mark.parametrize("key", ["null", "NULL", "true", "False", "yes", "no", "on", "plain"])
def test_the_fast_writer_leaves_keys_yaml_resolves_to_ruamel(key: str) -> None:
    decided = _agrees({key: "x", "id": "abc"})
    assert decided is (key == "plain")


def test_the_fast_writer_leaves_lines_ruamel_folds_to_ruamel() -> None:
    for n in (10, 3990, 4000, 4090, 4100, 5000):
        _agrees({"a": "x" * n})
        _agrees({"a": ("word " * n)[:n].strip() or "w"})
    assert _agrees({"a": "x" * 5000}) is False
