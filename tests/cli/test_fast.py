"""The commands answered without typer print exactly what the typer path prints."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import CliResult, Team, git, run_cli
from tests.paths import ROOT

SLOW = {"GITTASK_NO_FASTPATH": "1"}


def _same(cwd: Path, *args: str) -> CliResult:
    fast = run_cli(cwd, *args)
    slow = run_cli(cwd, *args, env=SLOW)
    assert (fast.returncode, fast.stdout, fast.stderr) == (
        slow.returncode,
        slow.stdout,
        slow.stderr,
    ), args
    return fast


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["--version"]])
def test_top_level_help_and_version_match_typer(tmp_path: Path, args: list[str]) -> None:
    result = _same(tmp_path, *args)
    assert result.returncode == 0 and result.stdout


def test_task_list_matches_typer(repo: Path) -> None:
    empty = _same(repo, "task", "list")
    assert "no tasks" in empty.stderr
    for i in range(3):
        made = run_cli(repo, "task", "create", "--no-run", "-m", f"task number {i}")
        assert made.returncode == 0, made.stderr
    for args in (
        ["task", "list"],
        ["task", "list", "--json"],
        ["task", "list", "--status", "pending"],
        ["task", "list", "-s", "failed"],
        ["task", "list", "--status=pending", "--json"],
        ["task", "list", "--status", "nonsense"],
    ):
        _same(repo, *args)
    assert run_cli(repo, "task", "list", "--status", "nonsense").returncode == 2
    assert "task number 2" in run_cli(repo, "task", "list").stdout


def _typer_loaded(cwd: Path, *args: str) -> bool:
    """Whether answering ``args`` imported typer (False: the fast path answered)."""
    import os
    import subprocess
    import sys

    code = "\n".join(
        [
            "import sys",
            "from gittask.cli.app import main",
            f"sys.argv = ['claude-container', *{list(args)!r}]",
            "try:",
            "    main()",
            "finally:",
            "    print('typer' in sys.modules, file=sys.stderr)",
        ]
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True
    )
    return done.stderr.strip().splitlines()[-1] == "True"


def test_task_show_matches_typer_and_skips_it(team: Team) -> None:
    clone = team.clone("alice")
    made = [
        run_cli(clone, "task", "create", "--no-run", "-m", f"Show me {n}\n\nWith\ttabs é \x1b[31m")
        for n in range(3)
    ]
    ids = [m.stdout.strip().splitlines()[-1] for m in made]
    from gittask.model import FeedbackEntry
    from gittask.store.database import TaskDatabase

    entry = FeedbackEntry("More, please", claude_response_summary="Done:\n\tall of it")
    TaskDatabase.open(clone).add_feedback(ids[0], entry)
    assert (
        run_cli(clone, "task", "sync").returncode == 0
    )  # the tracking ref: index provably current
    for task_id in ids:
        for args in (
            ["task", "show", task_id[:8]],
            ["task", "show", task_id, "--json"],
            ["task", "view", "--feedback-history", task_id[:10]],
        ):
            assert _same(clone, *args).returncode == 0
    assert not _typer_loaded(clone, "task", "show", ids[0][:8])
    # errors, an unknown option: the typer path says them
    for args in (
        ["task", "show", "ffffffff"],
        ["task", "show", "zz"],
        ["task", "show", "--bad", "x"],
    ):
        assert _same(clone, *args).returncode != 0
    assert _typer_loaded(clone, "task", "show", "ffffffff")


def test_task_show_of_waiting_blocked_and_templated_tasks_matches_typer(team: Team) -> None:
    clone = team.clone("alice")

    def made(*args: str) -> str:
        result = run_cli(clone, "task", "create", "--no-run", *args)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip().splitlines()[-1]

    template = run_cli(clone, "task", "template", "create", "fix", "-m", "Fix {issue}")
    assert template.returncode == 0, template.stderr
    base = made("-m", "Base work")
    gone = made("-m", "Deleted soon")
    waiting = made("--depends-on", base[:8], "--template", "fix", "--var", "issue=42")
    chained = made("Further on top", "--depends-on", waiting)  # the description as argument
    blocked = made("-m", "Needs the deleted one", "--depends-on", gone, "--depends-on", base)
    deleted = run_cli(clone, "task", "delete", gone, "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert run_cli(clone, "task", "sync").returncode == 0  # the index provably current
    for task_id in (base, waiting, chained, blocked):
        for args in (["task", "show", task_id[:8]], ["task", "show", task_id, "--json"]):
            assert _same(clone, *args).returncode == 0
        assert not _typer_loaded(clone, "task", "show", task_id[:8])
    shown = fields(run_cli(clone, "task", "show", waiting).stdout)
    assert shown["status"] == "waiting (stored: pending)"
    assert shown["depends on"] == base[:8]
    assert shown["dependencies"] == f"waiting for {base[:8]} (pending)"
    assert shown["template"].startswith("fix (blob ") and shown["template"].endswith("): issue=42")
    shown = fields(run_cli(clone, "task", "show", blocked).stdout)
    assert shown["status"] == "blocked (stored: pending)"
    assert shown["depends on"] == f"{gone[:8]} {base[:8]}"
    assert shown["dependencies"] == f"dependency {gone[:8]} was deleted"
    shown = fields(run_cli(clone, "task", "show", chained).stdout)
    assert shown["dependencies"] == f"waiting for {waiting[:8]} (pending)"
    assert "dependencies" not in fields(run_cli(clone, "task", "show", base).stdout)


def fields(shown: str) -> dict[str, str]:
    """``task show``'s fields (the lines above the description)."""
    head = shown.split("\n\n", 1)[0]
    return {k: v.strip() for k, _, v in (line.partition(":") for line in head.splitlines())}


def _without_ids(text: str, *ids: str) -> str:
    for task_id in ids:
        text = text.replace(task_id, "<id>").replace(task_id[:8], "<short>")
    return text


def _created(cwd: Path, *args: str, env: dict[str, str] | None = None) -> tuple[CliResult, str]:
    done = run_cli(cwd, "task", "create", *args, env=env)
    assert done.returncode == 0, done.stderr
    if "--json" in args:
        import json

        return done, json.loads(done.stdout)["id"]
    return done, done.stdout.strip().splitlines()[-1]


def test_task_create_no_run_skips_typer_and_says_what_typer_says(team: Team) -> None:
    clone = team.clone("alice")
    fast, fast_id = _created(clone, "--no-run", "-m", "Tune the widget", "--label", "perf")
    slow, slow_id = _created(clone, "--no-run", "-m", "Tune the widget", "-l", "perf", env=SLOW)
    assert fast.stdout.strip() == fast_id and len(fast_id) == 32
    assert _without_ids(fast.stderr, fast_id) == _without_ids(slow.stderr, slow_id)
    assert f"recorded task {fast_id[:8]} on branch claude/tune-the-widget-{fast_id[:8]}" in (
        fast.stderr
    )
    assert not _typer_loaded(clone, "task", "create", "--no-run", "-m", "Once more")
    # the records differ only in what makes each task itself
    import json

    records = [
        json.loads(run_cli(clone, "task", "show", t, "--json").stdout) for t in (fast_id, slow_id)
    ]
    mine = ("id", "branch_name", "created_at", "short_id")
    assert [{k: v for k, v in r.items() if k not in mine} for r in records] == [
        {k: v for k, v in records[1].items() if k not in mine}
    ] * 2
    assert records[0]["labels"] == ["perf"] and records[0]["status"] == "pending"
    # --json, --branch, --base and the description as an argument
    as_json, _ = _created(clone, "Ship it", "--no-run", "--json", "--branch", "ship-it")
    assert json.loads(as_json.stdout)["branch_name"] == "ship-it" and not as_json.stderr
    assert not _typer_loaded(clone, "task", "create", "Again", "--no-run", "--base", "trunk")


@pytest.mark.parametrize(
    "args",
    [
        ["--no-run", "-m", ""],  # an empty description
        ["--no-run", "-m", "x", "--branch", "bad..name"],  # a name git refuses
        ["--no-run", "-m", "x", "--branch", "taken"],  # another task's branch
        ["--no-run", "-m", "x", "--base", "nowhere"],  # a base that does not exist
        ["--no-run", "-m", "x", "--label", "two words"],  # a bad label
        ["--no-run", "-m", "x", "extra words"],  # an argument and -m
        ["--no-run", "--detach", "-m", "x"],  # flags that do not go together
        ["--no-run", "-m"],  # a missing value: typer's usage error
        ["--no-run", "--bogus", "-m", "x"],  # an unknown option: typer's usage error
    ],
)
def test_task_create_errors_are_typers_and_store_nothing(team: Team, args: list[str]) -> None:
    clone = team.clone("alice")
    _created(clone, "--no-run", "-m", "Holds a branch", "--branch", "taken")
    before = run_cli(clone, "task", "list", "--json").stdout
    result = _same(clone, "task", "create", *args)
    assert result.returncode != 0 and result.stderr.startswith("error:")
    assert run_cli(clone, "task", "list", "--json").stdout == before


def test_task_create_that_runs_or_opens_the_editor_goes_to_typer(repo: Path) -> None:
    assert _typer_loaded(repo, "task", "create", "-m", "a run")
    assert _typer_loaded(repo, "task", "create", "--no-run")  # the editor
    assert _typer_loaded(repo, "task", "create", "--no-run", "-m", "x", "--template", "t")


def test_task_delete_yes_skips_typer_and_says_what_typer_says(team: Team) -> None:
    clone = team.clone("alice")
    _, first = _created(clone, "--no-run", "-m", "Doomed task", "--branch", "doomed-a")
    _, second = _created(clone, "--no-run", "-m", "Doomed task", "--branch", "doomed-b")
    fast = run_cli(clone, "task", "delete", "--yes", first[:8])
    slow = run_cli(clone, "task", "rm", "-y", second[:8], env=SLOW)
    assert (fast.returncode, slow.returncode) == (0, 0)
    assert _without_ids(fast.stderr, first).replace("doomed-a", "B") == _without_ids(
        slow.stderr, second
    ).replace("doomed-b", "B")
    assert f"deleted task {first[:8]}: Doomed task" in fast.stderr
    assert run_cli(clone, "task", "list", "--json").stdout.strip() == "[]"
    _, third = _created(clone, "--no-run", "-m", "Doomed too")
    assert not _typer_loaded(clone, "task", "delete", third, "--yes", "--json")
    assert run_cli(clone, "task", "list", "--json").stdout.strip() == "[]"
    for args in (["ffffffff", "--yes"], ["--yes"], [third[:8]], ["--yes", "--force", "x"]):
        assert _same(clone, "task", "delete", *args).returncode != 0


def _made(cwd: Path, *args: str) -> str:
    result = run_cli(cwd, "task", "create", "--no-run", *args)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_task_list_of_labelled_and_waiting_tasks_matches_typer(repo: Path) -> None:
    import json

    base = _made(repo, "-m", "Base work", "--label", "core")
    waiting = _made(repo, "-m", "On top \x1b[31m", "--depends-on", base[:8], "-l", "ui")
    for args in (
        ["task", "list"],
        ["task", "list", "--json"],
        ["task", "list", "--status", "waiting"],
        ["task", "list", "--status", "pending", "--json"],
    ):
        _same(repo, *args)
    assert not _typer_loaded(repo, "task", "list", "--json")
    listed = {t["id"]: t for t in json.loads(run_cli(repo, "task", "list", "--json").stdout)}
    # every task shows its labels (a pending task without dependencies too)
    assert listed[base]["labels"] == ["core"] and listed[waiting]["labels"] == ["ui"]
    assert listed[waiting]["outcome"] == "waiting" and "dependency" in listed[waiting]
    assert "\\x1b[31m" in run_cli(repo, "task", "list").stdout  # escaped as the typer path does


def test_task_search_matches_typer_and_skips_it(repo: Path) -> None:
    from gittask.model import TaskMetadata
    from gittask.model.task import new_task_id
    from gittask.store.database import TaskDatabase

    db = TaskDatabase.open(repo)
    # two ids sharing their first 8 digits: their short ids are longer
    for n, task_id in enumerate(("abcdef12" + "0" * 24, "abcdef12" + "f" * 24)):
        db.create(TaskMetadata(id=task_id, description=f"Twin cache {n}", branch_name=f"t{n}"))
    for n in range(70):  # more hits than are worked out one by one
        db.create(TaskMetadata(id=new_task_id(), description=f"Widget {n}", branch_name=f"w{n}"))
    _made(repo, "-m", "Cache the cache", "--label", "perf")
    _made(repo, "-m", "Widget cache \x1b[2J", "--depends-on", "abcdef120")
    for args in (
        ["task", "search", "cache"],
        ["task", "search", "CACHE", "--json"],
        ["task", "search", "twin cache"],
        ["task", "search", "widget"],
        ["task", "search", "--json", "widget"],
        ["task", "search", "nothing-like-this"],
        ["task", "search", "nothing-like-this", "--json"],
    ):
        assert _same(repo, *args).returncode == 0
    assert "abcdef120" in run_cli(repo, "task", "search", "twin").stdout
    assert not _typer_loaded(repo, "task", "search", "cache")
    for args in (["task", "search", " "], ["task", "search", "a", "b"], ["task", "search"]):
        assert _same(repo, *args).returncode == 2
    assert _typer_loaded(repo, "task", "search", " ")


def test_the_fast_json_text_is_what_json_dumps_writes() -> None:
    import datetime
    import json
    import random

    from gittask.cli.output import json_text

    values = [
        *("a", 'é\n"x', '": [1', '\\": {', "\u2028", "}, {"),
        *(None, True, 0, 1.5, float("nan"), 10**30, -0.0, datetime.date(2020, 1, 1)),
        *([], {}, (), ["x", "y"], ["z"], (1,), {"k": [1, {"z": None}]}, {"a": {}}, [{}], [[]]),
    ]
    keys = ["a", "b", 1, None, 2.5, True, "}, {"]
    generator = random.Random(7)
    for _ in range(1500):
        sizes = [generator.randint(0, 5) for _ in range(generator.randint(0, 4))]
        data = [{generator.choice(keys): generator.choice(values) for _ in range(n)} for n in sizes]
        if generator.random() < 0.5:
            data = [item for item in data if item]  # the usual case: no empty object
        assert json_text(data) == json.dumps(data, indent=2, ensure_ascii=False, default=str)
    for data in ([], {}, [1], [{}], [[]], "x", None, [{"a": 1}, 2], {"a": [{"b": 1}]}):
        assert json_text(data) == json.dumps(data, indent=2, ensure_ascii=False, default=str)


def test_the_json_of_listed_rows_is_json_dumps_of_their_row_json() -> None:
    import itertools
    import json

    from gittask.cli.listing import json_rows, row_json
    from gittask.store.index import IndexRow

    texts = [None, "", "plain", 'q"uote\\ \n\x1b[31m é \u2028', b"bytes", 7]
    rows = [
        IndexRow(f"{n:032x}", "oid", status, branch, "2025-01-01T00:00:00Z", title, pr, None)
        for n, (status, branch, title, pr) in enumerate(
            itertools.product(
                [None, "", "pending", "failed", "running", "created"],
                texts,
                texts,
                [None, "https://github.com/o/r/pull/4", 5],
            )
        )
    ]
    rows.append(IndexRow("f" * 32, "oid", None, None, None, "(no description)", None, "bad: x"))
    records = [
        {},
        {"worker": "w1", "labels": ["a", "b"]},
        {"error_message": "stopped with `task stop` by A"},
    ]
    records.append({"dependency": {"state": "waiting", "reason": "waiting for x"}})
    chosen = [(row, records[n % 7 if n % 7 < 4 else 0]) for n, row in enumerate(rows)]
    short = {rows[1].id: rows[1].id[:10]}
    expected = [row_json(row, record, short) for row, record in chosen]
    dumped = json.dumps(expected, indent=2, ensure_ascii=False, default=str)
    assert json_rows(chosen, short) == dumped
    assert json_rows([], short) == "[]"


def test_task_show_of_a_fetched_task_writes_its_folder_as_typer_does(team: Team) -> None:
    alice, bob = team.clone("alice"), team.clone("bob")
    _, task_id = _created(alice, "--no-run", "-m", "Made by Alice")
    assert run_cli(alice, "task", "sync").returncode == 0
    assert run_cli(bob, "task", "sync").returncode == 0
    folder = bob / ".claude-container" / "tasks" / "tasks" / task_id
    assert not (folder / "metadata.json").exists()  # listed, never read here
    assert not _typer_loaded(bob, "task", "show", task_id[:8])
    assert (folder / "metadata.json").is_file()
    assert (folder / "feedback" / "001_initial.md").read_text() == "Made by Alice\n"
    _same(bob, "task", "show", task_id[:8])


def test_task_history_matches_typer_and_skips_it(team: Team) -> None:
    clone = team.clone("alice")
    assert "no task history yet" in _same(clone, "task", "history").stderr
    first = _made(clone, "-m", "First: with a colon", "-b", "first")
    _made(clone, "-m", "Second \x1b[2J", "-b", "second")
    assert run_cli(clone, "task", "delete", first, "--yes").returncode == 0
    for args in (
        ["task", "history"],
        ["task", "history", "--json"],
        ["task", "history", "--limit", "1"],
        ["task", "history", "-n", "2", "--json"],
        ["task", "history", "--limit=2"],
        ["task", "history", "--branch", "second"],
    ):
        assert _same(clone, *args).returncode == 0
    assert not _typer_loaded(clone, "task", "history", "-n", "2")
    for args in (["task", "history", "-n", "0"], ["task", "history", "--limit", "x"]):
        assert _same(clone, *args).returncode == 2
    assert _typer_loaded(clone, "task", "history", "--branch", "second")
    # a teammate's task fetched by plain git, not merged yet: the typer path merges it first
    assert run_cli(clone, "task", "sync").returncode == 0
    bob = team.clone("bob")
    _made(bob, "-m", "From Bob")
    assert run_cli(bob, "task", "sync").returncode == 0
    git(clone, "fetch", "-q")
    assert _typer_loaded(clone, "task", "history", "-n", "1")
    assert "From Bob" in run_cli(clone, "task", "history").stdout
    assert not _typer_loaded(clone, "task", "history", "-n", "1")


def test_fetched_notes_leave_the_read_to_the_full_path_which_merges_them(team: Team) -> None:
    """A plain git fetch that brought only notes: the index is not provably current."""
    import json

    from gittask.store.notes import add_note
    from gittask.store.repo import GitRepo
    from tests.conftest import git

    alice, bob = team.clone("alice"), team.clone("bob")
    _, task_id = _created(alice, "--no-run", "-m", "Noted")
    for clone in (alice, bob):
        assert run_cli(clone, "task", "sync").returncode == 0
    assert not _typer_loaded(bob, "task", "show", task_id[:8])  # current: the fast path
    head = git(alice, "rev-parse", "HEAD")
    add_note(GitRepo.discover(alice), head, {"task_id": task_id, "run": 7})
    assert run_cli(alice, "task", "sync").returncode == 0
    git(bob, "fetch", "-q")
    assert _typer_loaded(bob, "task", "show", task_id[:8])  # and it merged them
    note = git(bob, "notes", "--ref=claude-tasks", "show", head)
    assert json.loads(note)["run"] == 7
    assert not _typer_loaded(bob, "task", "show", task_id[:8])  # current again


def test_task_continue_queue_skips_typer_and_says_what_typer_says(team: Team) -> None:
    import json

    clone = team.clone("alice")
    _, first = _created(clone, "--no-run", "-m", "Needs more", "--branch", "more-a")
    _, second = _created(clone, "--no-run", "-m", "Needs more", "--branch", "more-b")
    fast = run_cli(clone, "task", "continue", "-m", "Also the footer", first[:8], "--queue")
    slow = run_cli(clone, "task", "continue", second[:8], "--feedback=Also the footer",
                   "--queue", env=SLOW)  # fmt: skip
    assert (fast.returncode, slow.returncode) == (0, 0), fast.stderr + slow.stderr
    fast_entry = json.loads(run_cli(clone, "task", "show", first, "--json").stdout)
    slow_entry = json.loads(run_cli(clone, "task", "show", second, "--json").stdout)
    fast_fb, slow_fb = fast_entry["feedback_history"], slow_entry["feedback_history"]
    assert _without_ids(fast.stderr, first).replace(fast_fb[0]["id"], "F") == _without_ids(
        slow.stderr, second
    ).replace(slow_fb[0]["id"], "F")
    assert fast_entry["status"] == slow_entry["status"] == "queued"
    assert [f["feedback"] for f in fast_fb] == [f["feedback"] for f in slow_fb]
    assert fast_fb[0]["feedback"].strip() == "Also the footer"
    assert not _typer_loaded(clone, "task", "continue", first, "-m", "More", "--queue", "--json")
    assert _typer_loaded(clone, "task", "continue", first, "-m", "a run")  # runs: typer
    for args in (
        ["ffffffff", "-m", "x", "--queue"],  # no such task
        [first, "-m", "", "--queue"],  # empty feedback
        [first, "-m", "x", "-m", "y", "--queue"],  # given twice: typer's word
        [first, "-m", "x", "--queue", "--from-review"],  # not with -m
    ):
        assert _same(clone, "task", "continue", *args).returncode != 0
    # first is queued already: each refusal above stored no feedback
    after = json.loads(run_cli(clone, "task", "show", first, "--json").stdout)
    assert [f["feedback"] for f in after["feedback_history"]] == [f["feedback"] for f in fast_fb]
