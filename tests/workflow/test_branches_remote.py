"""A task's branch and base are checked against the configured remote, not ``origin``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import CliResult, git

Cli = Callable[..., CliResult]


def _upstream_only(tmp_path: Path, repo: Path, cli: Cli) -> None:
    """``repo`` pushes to ``upstream`` (config ``remote``), which alone has ``feature``
    and ``taken``; there is no ``origin``."""
    upstream = tmp_path / "upstream.git"
    git(tmp_path, "init", "-q", "--bare", str(upstream))
    git(repo, "remote", "add", "upstream", str(upstream))
    git(repo, "push", "-q", "upstream", "HEAD:refs/heads/feature", "HEAD:refs/heads/taken")
    git(repo, "fetch", "-q", "upstream")
    assert cli(repo, "config", "set", "remote", "upstream").returncode == 0


def test_a_base_only_on_the_configured_remote_is_accepted(
    cli: Cli, repo: Path, tmp_path: Path
) -> None:
    _upstream_only(tmp_path, repo, cli)
    made = cli(repo, "task", "create", "--no-run", "-m", "Work on feature", "--base", "feature")
    assert made.returncode == 0, made.stderr
    shown = json.loads(cli(repo, "task", "show", made.stdout.strip(), "--json").stdout)
    assert shown["base_branch"] == "feature"


def test_a_branch_taken_on_the_configured_remote_is_refused(
    cli: Cli, repo: Path, tmp_path: Path
) -> None:
    _upstream_only(tmp_path, repo, cli)
    refused = cli(repo, "task", "create", "--no-run", "-m", "x", "--branch", "taken")
    assert refused.returncode == 2
    assert "branch 'taken' already exists on upstream" in refused.stderr
    missing = cli(repo, "task", "create", "--no-run", "-m", "x", "--base", "nowhere")
    assert missing.returncode == 2
    assert "base branch 'nowhere' does not exist here or on upstream" in missing.stderr
