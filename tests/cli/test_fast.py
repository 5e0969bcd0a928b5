"""The commands answered without typer print exactly what the typer path prints."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import CliResult, Team, run_cli
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
