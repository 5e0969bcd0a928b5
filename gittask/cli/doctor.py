"""``claude-container doctor``: can tasks run here (engine, image, credentials, remote,
GitHub token)? Its check lines are also what ``build --check`` prints. Then
everything derived from git is checked and rebuilt (:mod:`gittask.workflow.repair`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from gittask.cli import output
from gittask.cli.shared import JsonOpt, open_repo

if TYPE_CHECKING:
    from gittask.workflow.doctor import Check
    from gittask.workflow.repair import Finding


def doctor(
    as_json: JsonOpt = False,
    no_repair: Annotated[
        bool, typer.Option("--no-repair", help="Only report what is wrong; change nothing.")
    ] = False,
) -> None:
    """Check that tasks can run (engine, image, credentials, remote, GitHub token), then
    check everything derived from git (index, working copy, refspecs, ref locks, what
    crashed runs left) and rebuild what is wrong. Exits 1 when something is still wrong."""
    from gittask.workflow.doctor import run_checks
    from gittask.workflow.repair import check_derived

    repo = open_repo()
    checks = run_checks(repo)
    findings = check_derived(repo, repair=not no_repair)
    unrepaired = [f for f in findings if f.done is None]
    # a missing remote or GitHub token still lets tasks run (locally, without a PR)
    ok = all(c.ok for c in checks if c.required) and not unrepaired
    if as_json:
        output.print_json(
            {
                "ok": ok,
                "checks": [c.to_json() for c in checks],
                "derived": [f.to_json() for f in findings],
            }
        )
    else:
        print_checks(checks)
        print_findings(findings)
    if not ok:
        raise typer.Exit(1)


def print_findings(findings: list[Finding]) -> None:
    if not findings:
        typer.echo(f"ok   {'derived':<12} index, working copy, refspecs, locks: as in git")
    for found in findings:
        mark = "FAIL" if found.done is None else "fix "
        did = f": {found.done}" if found.done else " (run doctor without --no-repair)"
        typer.echo(f"{mark} {found.what:<12} {found.problem}{did}")


def print_checks(checks: list[Check]) -> None:
    for item in checks:
        mark = "ok  " if item.ok else ("FAIL" if item.required else "warn")
        hint = f" ({item.hint})" if item.hint and not item.ok else ""
        typer.echo(f"{mark} {item.name:<12} {item.detail}{hint}")
