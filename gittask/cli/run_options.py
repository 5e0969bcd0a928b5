"""The options the run commands share (``create``, ``start``, ``continue``): ``--queue``,
``--base-local`` and the ``--allow-*`` flags, and :class:`Allowed`, which carries the
latter to the run (and to the background process of ``--detach``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import typer

QueueOpt = Annotated[
    bool, typer.Option("--queue", help="Leave the run to a worker (status queued).")
]
BASE_LOCAL_HELP = (
    "Start the first run from the local base branch (with its unpushed commits), "
    "not the remote's copy."
)
AllowHostNetworkOpt = Annotated[
    bool,
    typer.Option(
        "--allow-host-network",
        help="Let `network host` run: the agent gets this machine's network (a warning says so).",
    ),
]
AllowOddFilesOpt = Annotated[
    bool,
    typer.Option(
        "--allow-odd-files",
        help="Push the agent's work even with files over files.max_bytes, nested "
        "repositories (gitlinks) or symlinks pointing outside the worktree.",
    ),
]


@dataclass(frozen=True)
class Allowed:
    """What a run's ``--allow-*`` flags let through."""

    host_network: bool = False
    odd_files: bool = False

    def flags(self) -> tuple[str, ...]:
        """The flags again, for the background process of --detach."""
        given = (("--allow-host-network", self.host_network), ("--allow-odd-files", self.odd_files))
        return tuple(flag for flag, on in given if on)
