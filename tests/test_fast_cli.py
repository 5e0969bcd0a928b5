"""The commands answered without typer print exactly what the typer path prints."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import CliResult, run_cli

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
