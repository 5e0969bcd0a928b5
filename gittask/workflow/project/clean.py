"""``clean``: what crashed runs left, the image, old logs, and (asked) the task data."""

from __future__ import annotations

import contextlib
import functools
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gittask.errors import GittaskError
from gittask.runner import live
from gittask.store import layout, runlogs
from gittask.store.fastpath import INDEX_FILE
from gittask.store.repo import GitRepo
from gittask.store.workcopy import WORKCOPY_DIR

if TYPE_CHECKING:
    from docker import DockerClient

    from gittask.runner.leftovers import Leftovers
from gittask.workflow.project.build import (
    BUILD_KEY_LABEL,
    labelled_image,
)
from gittask.workflow.project.paths import image_tag, project_dir


@dataclass
class CleanPlan:
    leftovers: Leftovers
    images: list[str] = field(default_factory=list)
    task_data: list[str] = field(default_factory=list)  # refs and paths, as shown
    interrupted: list[str] = field(default_factory=list)  # task ids with a stale marker
    notes: list[str] = field(default_factory=list)
    client: DockerClient | None = None

    def describe(self) -> list[str]:
        lines = [f"container {c.name} (task {c.task_id[:8]})" for c in self.leftovers.containers]
        lines += [f"worktree {p.name}" for p in self.leftovers.worktrees]
        lines += [f"stale run marker of task {m.task_id[:8]}" for m in self.leftovers.markers]
        lines += [f"credential files {p}" for p in self.leftovers.credential_folders]
        lines += [f"image {tag}" for tag in self.images]
        lines += [f"task data {item}" for item in self.task_data]
        return lines

    def to_json(self) -> dict[str, Any]:
        return {
            "containers": [
                {"id": c.id, "name": c.name, "task_id": c.task_id, "status": c.status}
                for c in self.leftovers.containers
            ],
            "worktrees": [str(p) for p in self.leftovers.worktrees],
            "stale_markers": [m.task_id for m in self.leftovers.markers],
            "credential_folders": [str(p) for p in self.leftovers.credential_folders],
            "interrupted_tasks": list(self.interrupted),
            "images": list(self.images),
            "task_data": list(self.task_data),
            "notes": list(self.notes),
        }


def _task_data_items(repo: GitRepo) -> list[tuple[str, Callable[[], None]]]:
    """What ``--task-data`` deletes: (shown name, remover), only what exists."""
    items: list[tuple[str, Callable[[], None]]] = []
    refs = [layout.DATA_REF, layout.NOTES_REF]
    # the local copies of a remote's task state: left behind, the next command
    # would merge them straight back (the remote itself is not touched)
    listed = repo.git(
        "for-each-ref",
        "--format=%(refname)",
        f"refs/remotes/*/{layout.REMOTE_BRANCH}",
        f"refs/notes/remotes/*/{layout.REMOTE_BRANCH}",
        runlogs.LOGS_REF_PREFIX,  # the run logs, and the copies fetched of a remote's
        runlogs.TRACKING_PREFIX,
        check=False,
    ).stdout.split()
    for ref in [*refs, *listed]:
        if repo.git("rev-parse", "--verify", "-q", ref, check=False).returncode == 0:
            items.append((ref, functools.partial(_delete_ref, repo, ref)))
    for path in sorted(repo.state_dir.glob(f"{INDEX_FILE}*")):
        items.append((str(path), functools.partial(path.unlink, missing_ok=True)))
    workcopy = project_dir(repo) / WORKCOPY_DIR
    if workcopy.exists():
        items.append((str(workcopy), lambda: shutil.rmtree(workcopy, ignore_errors=True)))
    return items


def _delete_ref(repo: GitRepo, ref: str) -> None:
    repo.git("update-ref", "-d", ref)


def plan_clean(
    repo: GitRepo,
    containers: bool = True,
    worktrees: bool = True,
    images: bool = False,
    task_data: bool = False,
    force: bool = False,
) -> CleanPlan:
    """What ``clean`` would remove; nothing is changed. An image is only removed when
    this tool built it (its ``gittask.build-key`` label), or with ``force``."""
    from gittask.runner import leftovers

    client: DockerClient | None = None
    notes: list[str] = []
    if containers or images:
        from gittask.runner.container import EngineUnavailable, connect

        try:
            from gittask.config import load_config

            client = connect(pinned=load_config(repo).engine)
        except EngineUnavailable as exc:
            if images:
                raise
            notes.append(f"containers not checked: {exc.message}")
    found = leftovers.find(repo, client if containers else None)
    if not worktrees:
        found.worktrees = []
        found.markers = []
        found.credential_folders = []
    plan = CleanPlan(leftovers=found, notes=notes, client=client)
    plan.interrupted = [m.task_id for m in live.all_markers(repo) if not m.alive]
    if images and client is not None:
        from gittask.runner.image import image_exists

        tag = image_tag(repo)
        found_image = labelled_image(client, tag) if image_exists(tag, client) else None
        if found_image is not None and (found_image[1].get(BUILD_KEY_LABEL) or force):
            plan.images.append(tag)
        elif found_image is not None:
            plan.notes.append(
                f"kept image {tag}: claude-container did not build it (no {BUILD_KEY_LABEL} "
                "label); clean --images --force removes it"
            )
        else:
            plan.notes.append(f"no image {tag} to remove")
    if task_data:
        plan.task_data = [name for name, _ in _task_data_items(repo)]
    return plan


def _settle_interrupted(repo: GitRepo, task_ids: list[str]) -> list[str]:
    """Records still ``running`` for a run whose process died here become ``failed``.

    Only runs of this machine (a dead local marker) are settled: a task running
    in another clone has no marker here and is left alone.
    """
    from gittask.workflow.database import database_for
    from gittask.workflow.run import recover_stale_run

    if not task_ids:
        return []
    db = database_for(repo)
    done = []
    for task_id in task_ids:
        if db.exists(task_id) and recover_stale_run(db, task_id):
            done.append(f"recorded task {task_id[:8]} as failed (its run's process died)")
    if done:
        from gittask.workflow.publish import after_change

        after_change(db)
    return done


def apply_clean(repo: GitRepo, plan: CleanPlan, task_data: bool = False) -> list[str]:
    """Remove what ``plan`` lists; one line per thing done."""
    from gittask.runner import leftovers

    if task_data:
        running = [m for m in live.all_markers(repo) if m.alive]
        if running:
            raise GittaskError(
                f"task {running[0].task_id[:8]} is running: nothing was removed",
                "wait for the run to end, then run clean --task-data again",
            )
    done = _settle_interrupted(repo, plan.interrupted) if plan.leftovers.markers else []
    done += leftovers.remove(repo, plan.client, plan.leftovers)
    for tag in plan.images:
        from gittask.runner.image import remove_image

        try:
            remove_image(tag, plan.client)
            done.append(f"removed image {tag}")
        except GittaskError as exc:
            done.append(f"could not remove image {tag}: {exc.message}")
    if task_data:
        for name, remove in _task_data_items(repo):
            with contextlib.suppress(FileNotFoundError):
                remove()
            done.append(f"removed {name}")
        from gittask.store.sync import unconfigure_remote

        done += unconfigure_remote(repo)
    return done
