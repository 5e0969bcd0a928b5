"""Task tables at 80 columns, status words, list filters and the pager."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gittask.cli.tables import TaskLine, distinctive_branch, pr_cell, relative_time, render
from gittask.model.outcome import outcome
from tests.conftest import CliResult, git
from tests.pty_support import Terminal

Cli = Callable[..., CliResult]
ANSI = re.compile(r"\x1b\[[0-9;]*m")
LONG = "Refactor the configuration loader so that every key is validated with a clear message"


def create(cli: Cli, repo: Path, text: str, *extra: str) -> str:
    result = cli(repo, "task", "create", "--no-run", "-m", text, *extra)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_status_words() -> None:
    assert outcome("created", None, "https://github.com/o/r/pull/7") == "ready for review"
    assert outcome("continued", None, None) == "done"
    assert outcome("failed", "the agent finished but changed nothing: x", None) == "no changes"
    assert outcome("failed", "stopped with `task stop` by A during run 1", None) == "stopped"
    assert outcome("failed", "agent exited with code 3", None) == "failed"
    assert outcome("pending") == "pending" and outcome("merged") == "merged"


def test_cells() -> None:
    assert distinctive_branch("claude/fix-the-login-3f2a9c1e", "3f2a9c1e") == "fix-the-login"
    assert distinctive_branch("feature/dark", "3f2a9c1e") == "feature/dark"
    assert pr_cell("https://github.com/o/r/pull/123") == "#123" and pr_cell(None) == ""
    now = datetime(2025, 1, 10, 12, tzinfo=UTC)
    ago = {
        timedelta(seconds=5): "just now",
        timedelta(minutes=7): "7m ago",
        timedelta(hours=3, minutes=5): "3h ago",
        timedelta(days=2): "2d ago",
        timedelta(days=15): "2w ago",
    }
    for delta, words in ago.items():
        assert relative_time((now - delta).isoformat(), now) == words
    assert relative_time("2024-05-01T00:00:00Z", now) == "2024-05-01"


def test_rendered_width_is_80_columns() -> None:
    lines = [
        TaskLine(
            "3f2a9c1e",
            "ready for review",
            "claude/" + "x" * 60 + "-3f2a9c1e",
            "#12345",
            datetime.now(UTC).isoformat(),
            LONG,
        ),
        TaskLine("0badf00d", "pending", "b", "", None, "short"),
    ]
    text = render(lines, terminal=True, width=80)
    assert all(len(ANSI.sub("", line)) <= 80 for line in text), text
    assert text[1].endswith("…") and "#12345" in text[1] and "just now" in text[1]
    assert text[2].endswith("short")


def test_list_on_an_80_column_terminal(cli: Cli, repo: Path) -> None:
    first = create(cli, repo, LONG)
    create(cli, repo, "Short one", "--branch", "feature/short")
    term = Terminal(repo, "task", "list", columns=80)
    assert term.finish() == 0, term.seen
    shown = [x for x in term.seen.splitlines() if x.strip()]
    assert len(shown) == 3  # the header and one line per task
    assert all(len(ANSI.sub("", line)) <= 80 for line in shown), shown
    plain = ANSI.sub("", shown[2])
    assert plain.startswith(first[:8]) and plain.endswith("…")
    assert "refactor-the-configur" in plain and "claude/" not in plain
    assert f"-{first[:8]}" not in plain.split()[2]  # the branch's distinctive part
    assert "\x1b[33mpending" in shown[2]  # coloured
    nocolour = Terminal(repo, "task", "list", env={"NO_COLOR": "1"})
    assert nocolour.finish() == 0 and "\x1b[" not in nocolour.seen


def test_long_lists_go_through_the_pager(cli: Cli, repo: Path, tmp_path: Path) -> None:
    for n in range(26):
        create(cli, repo, f"Task number {n}")
    paged = tmp_path / "paged.txt"
    pager = tmp_path / "pager.sh"
    pager.write_text(f"#!/bin/sh\ncat > {paged}\n")
    pager.chmod(0o755)
    term = Terminal(repo, "task", "list", env={"PAGER": str(pager)})
    assert term.finish() == 0, term.seen
    assert paged.read_text().count("Task number") == 26 and "Task number" not in term.seen
    paged.unlink()
    direct = Terminal(repo, "task", "list", "--no-pager", env={"PAGER": str(pager)})
    assert direct.finish() == 0 and not paged.exists()
    assert direct.seen.count("Task number") == 26


def test_list_filters(cli: Cli, repo: Path) -> None:
    a = create(cli, repo, "Alpha task", "--branch", "alpha")
    b = create(cli, repo, "Beta task")
    git(repo, "config", "user.name", "Other Person")
    git(repo, "config", "user.email", "other@example.com")
    c = create(cli, repo, "Gamma task")

    def ids(*args: str) -> list[str]:
        result = cli(repo, "task", "list", "--json", *args)
        assert result.returncode == 0, result.stderr
        return [t["id"] for t in json.loads(result.stdout)]

    assert ids() == [c, b, a]
    assert ids("--limit", "2") == [c, b]
    assert ids("--author", "test user") == [b, a]
    assert ids("--mine") == [c]
    assert ids("--branch", "alpha") == [a]
    assert ids("--branch", "beta-task") == [b]  # the distinctive part works too
    assert ids("--since", "1h") == [c, b, a] and ids("--since", "2999-01-01") == []
    assert ids("--status", "pending") == [c, b, a] and ids("--status", "done") == []
    listed = json.loads(cli(repo, "task", "list", "--json").stdout)
    assert listed[0]["outcome"] == "pending"
    jq = cli(repo, "task", "list", "--jq", ".[].title")
    assert jq.returncode == 0 and jq.stdout == "Gamma task\nBeta task\nAlpha task\n"
    fmt = cli(repo, "task", "list", "--format", "{short_id}|{title}", "--limit", "1")
    assert fmt.stdout == f"{c[:8]}|Gamma task\n"
    for args, words in [
        (["--since", "soon"], "cannot read --since 'soon'"),
        (["--jq", ".[] |||"], "--jq '.[] |||' failed"),
        (["--format", "{nope}"], "bad --format"),
        (["--json", "--format", "{id}"], "one of --json, --jq and --format"),
        (["--mine", "--author", "x"], "--mine and --author"),
        (["--limit", "0"], "0"),
    ]:
        result = cli(repo, "task", "list", *args)
        assert result.returncode == 2, (args, result.stderr)
        assert words in result.stderr, (args, result.stderr)


def test_show_says_why_there_is_no_pull_request(cli: Cli, repo: Path) -> None:
    task_id = create(cli, repo, "Not run yet")
    shown = cli(repo, "task", "show", task_id).stdout
    assert f"pull request:  none yet: the task has not run ('task start {task_id[:8]}')" in shown
    assert json.loads(cli(repo, "task", "show", task_id, "--json").stdout)["outcome"] == "pending"
