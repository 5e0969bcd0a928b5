"""``claude-container build``: the agent image from .claude-container/Dockerfile.claude,
with progress on stderr (milestones stay, the rest replace each other on a terminal)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from gittask.cli import output
from gittask.cli.doctor import print_checks
from gittask.cli.shared import JsonOpt, open_repo, say

if TYPE_CHECKING:
    from collections.abc import Callable

    from gittask.workflow.project import BuildResult


NoCacheOpt = Annotated[
    bool, typer.Option("--no-cache", help="Build every step afresh (and the base).")
]
ForceOpt = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Build even when the Dockerfile fails validation, or when the tag names "
        "an image claude-container did not build.",
    ),
]
BaseFromDebianOpt = Annotated[
    bool,
    typer.Option(
        "--base-from-debian",
        help="Make the base from Debian's packages (debootstrap, the machine's apt "
        "mirror) and install Claude Code with the host's npm: no registry needed.",
    ),
]
CheckOpt = Annotated[
    bool,
    typer.Option("--check", help="Then run the image: Claude Code version, uid, git."),
]


def build(
    no_cache: NoCacheOpt = False,
    force: ForceOpt = False,
    base_from_debian: BaseFromDebianOpt = False,
    check: CheckOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Build the agent image from .claude-container/Dockerfile.claude.

    The base is the base_image setting; Claude Code claude_code_version comes from
    npm inside the build, or from the host's npm (claude_install). A second build
    with nothing changed reuses the image. The tag is config 'image', else one
    derived from the repository; the image's user gets your uid/gid.
    """
    from gittask.workflow.project import build_project_image

    repo = open_repo()

    def run(progress: Callable[[str], None]) -> BuildResult:
        return build_project_image(
            repo,
            nocache=no_cache,
            force=force,
            progress=progress,
            base_from_debian=base_from_debian,
        )

    if output.stdout_is_terminal() and sys.stderr.isatty() and not as_json:
        result = _with_status_line(run)
    else:
        result = run(_milestones_only if as_json else say)
    report = None
    if check:
        from gittask.config import load_config
        from gittask.workflow.doctor import probe_built_image

        config = load_config(repo)
        report = probe_built_image(result.tag, config.agent, config.engine)  # where it was built
    if as_json:
        data = result.to_json()
        if report is not None:
            data["check"] = [c.to_json() for c in report.checks()]
        output.print_json(data)
    else:
        say(result.describe())
        if report is not None:
            print_checks(report.checks())
        typer.echo(result.tag)
    if report is not None and not all(c.ok for c in report.checks()):
        raise typer.Exit(1)


def _with_status_line(run: Callable[[Callable[[str], None]], BuildResult]) -> BuildResult:
    """On a terminal: the milestones stay on screen, the other lines replace each other
    on one status line."""
    from rich.console import Console
    from rich.text import Text

    console = Console(stderr=True, highlight=False)
    step = "building the agent image"
    with console.status(step) as status:

        def show(line: str) -> None:
            nonlocal step
            if line.startswith(_MILESTONES):
                console.print(Text(line))  # the steps stay on screen
                step = line.split(" :", 1)[0][:60]
                return
            status.update(Text(f"{step}: {line.strip()}"[:120]))

        return run(show)


#: Build progress lines that stay on screen (the rest replace each other).
_MILESTONES = (
    "Step ",
    "warning:",
    "note:",
    "making ",
    "importing ",
    "installing ",
    "base image ",
    "Claude Code ",
)


def _milestones_only(line: str) -> None:
    if line.startswith(_MILESTONES):
        say(line)
