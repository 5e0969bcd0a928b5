"""``claude-container doctor``: can tasks run here (engine, image, credentials, remote,
GitHub token)? Its check lines are also what ``build --check`` prints."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from gittask.cli import output
from gittask.cli.shared import JsonOpt, open_repo

if TYPE_CHECKING:
    from gittask.workflow.doctor import Check


def doctor(as_json: JsonOpt = False) -> None:
    """Check that tasks can run: engine, image (Claude Code, uid, git), credentials,
    remote, GitHub token. Exits 1 when a check fails."""
    from gittask.workflow.doctor import run_checks

    checks = run_checks(open_repo())
    if as_json:
        ok = all(c.ok for c in checks)
        output.print_json({"ok": ok, "checks": [c.to_json() for c in checks]})
    else:
        print_checks(checks)
    # a missing remote or GitHub token still lets tasks run (locally, without a PR)
    if not all(c.ok for c in checks if c.required):
        raise typer.Exit(1)


def print_checks(checks: list[Check]) -> None:
    for item in checks:
        mark = "ok  " if item.ok else ("FAIL" if item.required else "warn")
        hint = f" ({item.hint})" if item.hint and not item.ok else ""
        typer.echo(f"{mark} {item.name:<12} {item.detail}{hint}")
