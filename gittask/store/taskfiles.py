"""A task as files: the folder ``tasks/<ab>/<id>/`` read into a :class:`TaskMetadata`
(``metadata.yaml``, ``description.md``, one ``feedback/<id>.yaml`` per entry), and
the files written for one. A bad file is a :class:`CorruptRecordError` naming it;
a record the reader would refuse is never written."""

from __future__ import annotations

from typing import Any

import pygit2

from gittask.errors import CorruptRecordError, GittaskError, UsageError
from gittask.model import FeedbackEntry, TaskMetadata
from gittask.store import layout, yamlio
from gittask.store.trees import blob_text, subtree

FEEDBACK_SUFFIX = ".yaml"


def _reason(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    if isinstance(exc, (ValueError, GittaskError)) and text:
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def parse_task_tree(repo: pygit2.Repository, tree: pygit2.Tree, path: str) -> TaskMetadata:
    """Read one task folder; raises CorruptRecordError naming the bad file."""
    meta_text = blob_text(repo, tree, layout.METADATA_FILE)
    if meta_text is None:
        raise CorruptRecordError(f"{path}/{layout.METADATA_FILE}", "file is missing")
    try:
        metadata = yamlio.load(meta_text)
        if not isinstance(metadata, dict):
            raise ValueError("expected a mapping of fields")
    except Exception as exc:
        raise CorruptRecordError(f"{path}/{layout.METADATA_FILE}", _reason(exc)) from None
    description = blob_text(repo, tree, layout.DESCRIPTION_FILE) or ""
    feedback: list[FeedbackEntry] = []
    fb_tree = subtree(repo, tree, layout.FEEDBACK_DIR)
    if fb_tree is not None:
        for entry in fb_tree:
            name = entry.name or ""
            if not name.endswith(FEEDBACK_SUFFIX):
                continue  # not an entry (a note left by hand): kept, never rewritten
            fb_path = f"{path}/{layout.FEEDBACK_DIR}/{name}"
            try:
                if not isinstance(entry, pygit2.Blob):  # an entry is its object
                    continue
                data = yamlio.load(entry.data)
                if not isinstance(data, dict):
                    raise ValueError("expected a mapping of fields")
                # the file's name is the entry's id: the entry is written back to
                # <id>.yaml, so an id missing or changed by hand would otherwise add
                # a copy of the entry on every update
                data["id"] = name.removesuffix(FEEDBACK_SUFFIX)
                feedback.append(FeedbackEntry.from_dict(data))
            except Exception as exc:  # whatever a hand edit did, it is this file's fault
                raise CorruptRecordError(fb_path, _reason(exc)) from None
    try:
        task = TaskMetadata.from_parts(metadata, description, feedback)
    except Exception as exc:
        raise CorruptRecordError(f"{path}/{layout.METADATA_FILE}", _reason(exc)) from None
    folder_id = path.rsplit("/", 1)[-1]
    if task.id != folder_id:
        raise CorruptRecordError(
            f"{path}/{layout.METADATA_FILE}", f"id {task.id} does not match its folder"
        )
    return task


def record_bytes(path: str, data: dict[str, Any]) -> bytes:
    """One YAML record as stored; never one the reader would refuse (UsageError)."""
    text = yamlio.dump(data).encode()
    if len(text) > yamlio.MAX_RECORD_BYTES:
        raise UsageError(
            f"{path} would be {len(text):,} bytes, over the {yamlio.MAX_RECORD_BYTES:,} bytes "
            "a task record may have; nothing was changed",
            "shorten the text (feedback is stored in one record per entry)",
        )
    return text


def task_files(task: TaskMetadata) -> dict[str, Any]:
    """The folder written for a task (merged over what is already stored)."""
    folder = layout.task_dir(task.id)
    feedback = {
        f"{entry.id}.yaml": record_bytes(
            f"{folder}/{layout.FEEDBACK_DIR}/{entry.id}.yaml", entry.to_dict()
        )
        for entry in task.feedback_history
    }
    files: dict[str, Any] = {
        layout.METADATA_FILE: record_bytes(
            f"{folder}/{layout.METADATA_FILE}", task.metadata_dict()
        ),
        layout.DESCRIPTION_FILE: task.description.encode(),
    }
    if feedback:
        files[layout.FEEDBACK_DIR] = feedback
    return files
