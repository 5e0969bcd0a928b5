"""``task continue``: its options as typer reads them; what it does is in
:mod:`gittask.cli.continuing` (shared with the fast path)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gittask.cli.completion import task_ids
from gittask.cli.run import DetachOpt, JsonOpt
from gittask.cli.run_options import Allowed, AllowHostNetworkOpt, AllowOddFilesOpt, QueueOpt


def register(app: typer.Typer) -> None:
    app.command("continue")(continue_)


TaskOrPullArg = Annotated[
    str,
    typer.Argument(
        metavar="ID",
        help="Task id, unique prefix, or its pull request URL.",
        autocompletion=task_ids,
    ),
]
FeedbackOpt = Annotated[str | None, typer.Option("--feedback", "-m", help="The feedback, inline.")]
FeedbackFileOpt = Annotated[
    Path | None,
    typer.Option("--feedback-file", "-f", help="Read the feedback from a file ('-': stdin)."),
]
FromReviewOpt = Annotated[
    bool,
    typer.Option(
        "--from-review", help="Use the pull request's review comments since the last run."
    ),
]


def continue_(
    task_id: TaskOrPullArg,
    feedback: FeedbackOpt = None,
    feedback_file: FeedbackFileOpt = None,
    from_review: FromReviewOpt = False,
    detach: DetachOpt = False,
    as_json: JsonOpt = False,
    allow_host_network: AllowHostNetworkOpt = False,
    allow_odd_files: AllowOddFilesOpt = False,
    queue: QueueOpt = False,
) -> None:
    """Run the task again with feedback (the editor opens when none is given)."""
    from gittask.cli.continuing import ContinueRequest, continue_task

    continue_task(
        ContinueRequest(
            task_id, feedback, feedback_file, from_review, detach, as_json,
            Allowed(allow_host_network, allow_odd_files), queue,
        )
    )  # fmt: skip
