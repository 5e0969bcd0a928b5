"""Every change reaches the team: publish task data after each command that writes it.

With ``sync.auto`` (the default) and a configured, reachable remote, a command
that changed task data pushes it (with the work branches and run logs it names)
by compare-and-swap, merging first when the remote moved: see
:func:`gittask.store.sync.publish`. Without a remote nothing happens. An
unreachable remote never fails the command: it says once that the change is
saved locally and goes with the next ``task sync``. ``sync.auto false`` keeps
everything local until ``task sync``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from gittask.config import ProjectConfig, load_config, remote_of
from gittask.errors import GittaskError
from gittask.notices import notice
from gittask.store import sync
from gittask.store.database import TaskDatabase
from gittask.store.merge import InvalidHistoryError

#: remotes that did not answer in this process: not tried again (one notice, one wait)
_unreachable: set[str] = set()


def unreachable_remotes() -> frozenset[str]:
    return frozenset(_unreachable)


def mark_unreachable(remote: str) -> None:
    _unreachable.add(remote)


def unreachable_line(remote: str) -> str:
    return (
        f"{remote} is unreachable: the change is saved locally and goes with the next `task sync`"
    )


def auto_remote(db: TaskDatabase, config: ProjectConfig | None = None) -> str | None:
    """The remote changes go to at once: None when sync.auto is off or there is none."""
    config = config or load_config(db.repo)
    if not config.sync_auto:
        return None
    remote = remote_of(config)
    return remote if sync.remote_exists(db.repo, remote) else None


def publish_now(
    db: TaskDatabase,
    remote: str,
    branches: Sequence[str] = (),
    extra_refs: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    on_remote_moved: Callable[[], None] | None = None,
    attempts: int = sync.MAX_PUSH_ATTEMPTS,
) -> sync.PushResult:
    """Publish and raise what went wrong (RemoteUnreachable, PushRejected, GittaskError);
    ``on_remote_moved`` and ``attempts``: see :func:`gittask.store.sync.publish`."""
    if remote in _unreachable:
        raise sync.RemoteUnreachable(f"{remote} is unreachable")
    try:
        result = sync.publish(
            db.repo,
            remote,
            branches,
            extra_refs,
            env=env,
            on_remote_moved=on_remote_moved,
            attempts=attempts,
        )
    except sync.RemoteUnreachable:
        _unreachable.add(remote)
        raise
    if result.merges:
        db.refresh()  # the index and working copy follow the merged ref
    return result


def after_change(
    db: TaskDatabase,
    config: ProjectConfig | None = None,
    branches: Sequence[str] = (),
    extra_refs: Sequence[str] = (),
    on_remote_moved: Callable[[], None] | None = None,
    attempts: int = sync.MAX_PUSH_ATTEMPTS,
) -> sync.PushResult | None:
    """Publish what a command changed, when sync.auto is on. Never raises a GittaskError
    (``on_remote_moved`` may raise its own)."""
    try:
        remote = auto_remote(db, config)
    except GittaskError:
        return None
    if remote is None:
        return None
    try:
        return publish_now(
            db,
            remote,
            branches,
            extra_refs,
            env={"GIT_TERMINAL_PROMPT": "0"},
            on_remote_moved=on_remote_moved,
            attempts=attempts,
        )
    except sync.RemoteUnreachable:
        notice(unreachable_line(remote))
    except GittaskError as exc:
        notice(
            f"warning: the change is saved locally but not on {remote}: {exc.message}; "
            "`task sync` tries again"
        )
    return None


def refresh_from_remote(db: TaskDatabase, config: ProjectConfig | None = None) -> bool:
    """Fetch and merge the remote's task data first (sync.auto); never raises.

    True when something arrived. An unreachable or broken remote is a notice:
    the command goes on with local data.
    """
    try:
        remote = auto_remote(db, config)
    except GittaskError:
        return False
    if remote is None or remote in _unreachable:
        return False
    return fetch_and_merge(db, remote)


def fetch_and_merge(db: TaskDatabase, remote: str) -> bool:
    """Fetch and integrate the remote's task data and notes; never raises."""
    if not sync.remote_exists(db.repo, remote):
        return False
    try:
        fetched = sync.fetch(db.repo, remote)
    except GittaskError as exc:
        _unreachable.add(remote)
        notice(f"warning: could not fetch tasks from {remote} ({exc.message}): using local data")
        return False
    try:
        merged = sync.integrate(db.repo, remote)
        sync.merge_notes(db.repo, remote)
    except InvalidHistoryError as exc:
        notice(sync.broken_remote_warning(remote, exc))
        return False
    except GittaskError as exc:
        notice(f"warning: could not merge tasks from {remote}: {exc.message}")
        return False
    db.refresh()
    return fetched.moved or merged.changed
