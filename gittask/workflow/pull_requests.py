"""Tasks and their pull requests: open, adopt, comment, follow, collect reviews."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gittask.config import ProjectConfig, remote_of
from gittask.errors import GittaskError, TaskNotFoundError, UsageError
from gittask.forge.github import (
    ForgeError,
    GitHubForge,
    PullInfo,
    api_url_for,
    marker_task_id,
    task_marker,
)
from gittask.forge.sanitize import clean_untrusted
from gittask.forge.token import find_token
from gittask.forge.urls import PullRef, RepoRef, apply_instead_of, parse_remote_url
from gittask.model import FeedbackEntry, FeedbackType, TaskMetadata, TaskStatus
from gittask.model.clock import utcnow
from gittask.store.database import TaskDatabase
from gittask.workflow.publish import after_change, fetch_and_merge

if TYPE_CHECKING:
    from gittask.workflow.run_info import RunInfo


#: key of a review feedback entry listing the reviews and comments it took
REVIEW_ITEMS = "review_items"


class ForgeUnavailable(GittaskError):
    """No GitHub repository or no token: runs still push, without a PR."""


def github_repo(db: TaskDatabase, config: ProjectConfig) -> RepoRef | None:
    """The repository pull requests go to: config ``github_repo``, else the remote's."""
    from_url = remote_repo(db, config)
    configured = config.github_repo
    if configured:
        owner, name = configured.split("/", 1)
        return RepoRef(owner, name, host=from_url.host if from_url else "github.com")
    return from_url


def remote_repo(db: TaskDatabase, config: ProjectConfig) -> RepoRef | None:
    """The GitHub repository the task branches are pushed to (the configured remote's)."""
    remote = remote_of(config)
    url = db.repo.config_get(f"remote.{remote}.url")
    from_url = None
    if url:
        rewrites: dict[str, str] = {}
        proc = db.repo.git("config", "--get-regexp", r"^url\..*\.insteadof$", check=False)
        for line in proc.stdout.splitlines():
            key, _, prefix = line.partition(" ")
            base = key[len("url.") : -len(".insteadof")]
            rewrites[prefix] = base
        from_url = parse_remote_url(apply_instead_of(url, rewrites)) or parse_remote_url(url)
    return from_url


def _forge_target(
    db: TaskDatabase, config: ProjectConfig, env: Mapping[str, str]
) -> tuple[RepoRef, str]:
    """The repository pull requests go to and the token for it; ForgeUnavailable if none."""
    repo = github_repo(db, config)
    if repo is None:
        raise ForgeUnavailable(
            "no pull request: origin is not a GitHub repository",
            "set one with 'claude-container config set github_repo OWNER/NAME'",
        )
    token = find_token(env, repo.host)
    if token is None:
        raise ForgeUnavailable(
            "no pull request: no GitHub token",
            "set GH_TOKEN (or GITHUB_TOKEN), or log in with 'gh auth login'; then 'task pr ID'",
        )
    return repo, token


def unavailable_note(
    db: TaskDatabase, config: ProjectConfig, env: Mapping[str, str] | None = None
) -> str | None:
    """Why no pull request can be opened at all (no GitHub repository, no token), or None.

    Known before the push, so a run records it with its result (one push, not two).
    """
    try:
        _forge_target(db, config, os.environ if env is None else env)
    except ForgeUnavailable as exc:
        return str(exc)
    return None


def forge_for(
    db: TaskDatabase, config: ProjectConfig, env: Mapping[str, str] | None = None
) -> GitHubForge:
    env = os.environ if env is None else env
    repo, token = _forge_target(db, config, env)
    api = api_url_for(repo, config.github_api_url, env.get("GITHUB_API_URL"))
    pushed_to = remote_repo(db, config)
    # a fork: the branches live under the fork's owner (GitHub's "owner:branch" head)
    head_owner = pushed_to.owner if pushed_to and not pushed_to.same_repo(repo) else None
    return GitHubForge(repo, token, api, head_owner=head_owner)


def pull_body(task: TaskMetadata, run_summary: str | None) -> str:
    parts = [task.description.strip()]
    if run_summary:
        parts += ["", "---", "", "**What the agent did:**", "", run_summary.strip()]
    parts += [
        "",
        f"_Opened by claude-container for task `{task.id[:8]}`; continue it with "
        f"`claude-container task continue {task.id[:8]}`._",
        "",
        task_marker(task.id),
    ]
    return "\n".join(parts)


@dataclass(frozen=True)
class PullOutcome:
    task: TaskMetadata
    pull: PullInfo | None
    created: bool
    note: str | None  # why there is no PR, when there is none


def open_pull_request(
    db: TaskDatabase,
    task_id: str,
    config: ProjectConfig,
    run_summary: str | None = None,
    env: Mapping[str, str] | None = None,
) -> PullOutcome:
    """Open (or adopt) the task's PR and record it; never raises for a missing forge."""
    task = db.task(task_id)
    try:
        forge = forge_for(db, config, env)
        title = task.title
        pull, created = forge.open_pull(
            title,
            pull_body(task, run_summary),
            task.branch_name,
            task.base_branch or forge.default_branch(),
            draft=config.pr_draft,
        )
    except (ForgeUnavailable, ForgeError) as exc:
        note = str(exc)
        if task.pr_note == note:  # recorded with the run's result already
            return PullOutcome(task, None, False, note)

        def record_note(t: TaskMetadata) -> str:
            t.pr_note = note
            return note

        noted = db.update(task_id, record_note, "pr")
        after_change(db, config)
        return PullOutcome(noted, None, False, note)

    def record_pull(t: TaskMetadata) -> str:
        t.pr_url, t.pr_number, t.pr_note = pull.url, pull.number, None
        return f"{'opened' if created else 'adopted'} {pull.url}"

    recorded = db.update(task_id, record_pull, "pr")
    after_change(db, config)
    return PullOutcome(recorded, pull, created, None)


def comment_on_continue(
    db: TaskDatabase,
    task: TaskMetadata,
    config: ProjectConfig,
    feedback: FeedbackEntry | None,
    run_summary: str | None,
    env: Mapping[str, str] | None = None,
) -> str | None:
    """Post a comment on the task's PR; returns a one-line note if it could not."""
    if not task.pr_number:
        return open_pull_request(db, task.id, config, run_summary, env).note
    lines = [f"**claude-container** ran task `{task.id[:8]}` again (run {task.run_count})."]
    if feedback is not None:
        quoted = "\n".join("> " + x for x in feedback.feedback.strip().splitlines()[:20])
        lines += ["", f"Feedback answered ({feedback.feedback_type.value}):", "", quoted]
    if run_summary:
        lines += ["", "What changed:", "", run_summary.strip()]
    if task.commit_hash:
        lines += ["", f"Head is now `{task.commit_hash[:12]}`."]
    try:
        forge_for(db, config, env).comment(task.pr_number, "\n".join(lines))
    except (ForgeUnavailable, ForgeError) as exc:
        return str(exc)
    return None


_PR_STATUS = {"merged": TaskStatus.MERGED, "closed": TaskStatus.CLOSED}


def refresh_pull_states(
    db: TaskDatabase, config: ProjectConfig, task_ids: list[str] | None = None
) -> list[tuple[TaskMetadata, str]]:
    """Follow PR state: merged/closed PRs move their task. Returns (task, new status)."""
    from gittask.model.status import TRANSITIONS

    db.refresh()
    candidates = []
    for row in db.indexed_rows():
        if task_ids is not None and row.id not in task_ids:
            continue
        if row.pr_url and row.status in ("created", "continued", "failed", "closed"):
            candidates.append(row.id)
    if not candidates:
        return []
    forge = forge_for(db, config)
    moved = []
    for task_id in candidates:
        task = db.task(task_id)
        if not task.pr_number:
            continue
        pull = forge.get_pull(task.pr_number)
        target = _PR_STATUS.get(pull.status)
        if target is None:  # open (or reopened on GitHub: continuing the task runs it)
            continue
        if target is task.status or target not in TRANSITIONS[task.status]:
            continue

        def move(t: TaskMetadata, new: TaskStatus = target, why: str = pull.status) -> str:
            old = t.status
            t.set_status(new)
            return f"{old.value} -> {new.value} (pull request {why})"

        moved.append((db.update(task_id, move, "status"), target.value))
    if moved:
        after_change(db, config)
    return moved


def task_for_pull(db: TaskDatabase, ref: PullRef, config: ProjectConfig) -> str:
    """The task a PR belongs to: by stored URL, by the marker in its body, by head branch.

    When this clone does not know it yet (a fresh clone, a teammate's task), the
    remote's task data is fetched and merged first, then looked up again.
    """
    here = github_repo(db, config)
    if here is not None and not here.same_repo(ref.repo):
        raise UsageError(
            f"pull request {ref.repo.full_name}#{ref.number} belongs to another repository",
            f"this repository is {here.full_name}",
        )
    db.refresh()
    found = _by_stored_url(db, ref)
    if found is not None:
        return found
    pull = forge_for(db, config).get_pull(ref.number)
    marked = marker_task_id(pull.body)
    found = _by_pull(db, marked, pull.head_branch)
    if found is None and fetch_and_merge(db, remote_of(config)):
        found = _by_stored_url(db, ref) or _by_pull(db, marked, pull.head_branch)
    if found is not None:
        return found
    if marked:
        raise TaskNotFoundError(
            f"pull request {ref.repo.full_name}#{ref.number} names task {marked[:8]} "
            f"(marker '{task_marker(marked)}'), but no clone has published it",
            "run `task push` in the clone that created it, then try again",
        )
    raise TaskNotFoundError(
        f"no task belongs to pull request {ref.repo.full_name}#{ref.number}",
        "it has no claude-container marker and its branch is not a task's; try 'task sync'",
    )


def _by_stored_url(db: TaskDatabase, ref: PullRef) -> str | None:
    from gittask.forge.urls import parse_pull_ref

    for row in db.indexed_rows():
        if row.pr_url:
            stored = parse_pull_ref(row.pr_url)
            if stored and stored.number == ref.number and stored.repo.same_repo(ref.repo):
                return row.id
    return None


def _by_pull(db: TaskDatabase, marked: str | None, head_branch: str) -> str | None:
    if marked and db.indexed_record(marked):
        return marked
    return db.branch_owner(head_branch)


def review_feedback(db: TaskDatabase, task: TaskMetadata, config: ProjectConfig) -> FeedbackEntry:
    """The PR's reviews and review comments since the last run, as one feedback entry."""
    if not task.pr_number:
        raise UsageError(
            f"task {task.id[:8]} has no pull request", f"open one with 'task pr {task.id[:8]}'"
        )
    # new: posted after the last run started (what it could see) and not yet taken
    taken = [f for f in task.feedback_history if f.feedback_type is FeedbackType.REVIEW]
    times = [task.started_at, *(f.timestamp for f in taken)]
    since = max((t for t in times if t is not None), default=None)
    seen = frozenset(str(k) for f in taken for k in f.extra.get(REVIEW_ITEMS, None) or ())
    items = forge_for(db, config).review_feedback(task.pr_number, since, seen)
    if not items:
        raise UsageError(
            f"no review comments on {task.pr_url} since the last run",
            "give feedback with --feedback instead",
        )
    text = "\n\n".join(item.render() for item in items)
    authors = sorted({item.author for item in items})
    return FeedbackEntry(
        feedback=clean_untrusted(text),
        feedback_type=FeedbackType.REVIEW,
        author=", ".join(authors),
        timestamp=utcnow(),
        extra={"source": task.pr_url, REVIEW_ITEMS: [item.key for item in items]},
    )


def after_push(db: TaskDatabase, task: TaskMetadata, run_info: RunInfo) -> str | None:
    """The run loop's after-push step: open the PR after a first run, comment after a continue.

    Returns a one-line note for the user. A missing forge or token never fails a run:
    the branch is pushed and the task records why there is no pull request.
    """
    if not run_info.pushed:
        return None
    if run_info.kind == "continue" and task.pr_number:
        failed = comment_on_continue(db, task, run_info.config, run_info.feedback, run_info.summary)
        return f"pull request not updated: {failed}" if failed else f"commented on {task.pr_url}"
    outcome = open_pull_request(db, task.id, run_info.config, run_info.summary)
    if outcome.pull is None:
        return outcome.note
    verb = "opened" if outcome.created else "adopted existing"
    return f"{verb} pull request {outcome.pull.url}"
