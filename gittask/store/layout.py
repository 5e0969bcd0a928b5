"""Where things live on the data ref ``refs/claude-tasks``.

    README.md                               what this ref is, for people browsing it
    tasks/<ab>/<id>/metadata.yaml           scalar fields of the task
    tasks/<ab>/<id>/description.md          the task description
    tasks/<ab>/<id>/feedback/<fid>.yaml     one file per feedback entry
    tombstones/<ab>/<id>.yaml               a deleted task: who, when, what
    templates/<name>.yaml                   a task template (a deleted one keeps its
                                            file as a tombstone: deleted_at, deleted_by)
    schedules/<id>.yaml                     a schedule (likewise)

``<ab>`` is the first two hex digits of the id: one update rewrites only the
trees on its path, so its cost does not grow with the number of tasks.
"""

from __future__ import annotations

DATA_REF = "refs/claude-tasks"
NOTES_REF = "refs/notes/claude-tasks"
REMOTE_BRANCH = "claude-tasks"  # the data ref's name on a remote (refs/heads/claude-tasks)
#: The remote when nobody names one (the project's config ``remote`` does: see
#: :func:`gittask.config.remote_of`).
DEFAULT_REMOTE = "origin"

TASKS_DIR = "tasks"
TOMBSTONES_DIR = "tombstones"
METADATA_FILE = "metadata.yaml"
DESCRIPTION_FILE = "description.md"
FEEDBACK_DIR = "feedback"
README_FILE = "README.md"
TEMPLATES_DIR = "templates"
SCHEDULES_DIR = "schedules"
#: folders of named records, one YAML file each, merged key by key
RECORD_DIRS = (TEMPLATES_DIR, SCHEDULES_DIR)


def notes_tracking_ref(remote: str) -> str:
    """Where a fetch leaves the remote's task notes."""
    return f"refs/notes/remotes/{remote}/" + NOTES_REF.removeprefix("refs/notes/")


def fan(task_id: str) -> str:
    return task_id[:2]


def task_dir(task_id: str) -> str:
    return f"{TASKS_DIR}/{fan(task_id)}/{task_id}"


def tombstone_path(task_id: str) -> str:
    return f"{TOMBSTONES_DIR}/{fan(task_id)}/{task_id}.yaml"


def template_path(name: str) -> str:
    return f"{TEMPLATES_DIR}/{name}.yaml"


def schedule_path(schedule_id: str) -> str:
    return f"{SCHEDULES_DIR}/{schedule_id}.yaml"


README_TEXT = """\
# Task records of claude-container

This branch is a database kept by `claude-container`; it is not source code.
Every commit is one change to one task, so `git log` on it is the audit trail.

- `tasks/<ab>/<id>/metadata.yaml`: the task's fields (status, branch, PR, ...)
- `tasks/<ab>/<id>/description.md`: what the task asks for
- `tasks/<ab>/<id>/feedback/*.yaml`: one file per piece of feedback, oldest first
- `tombstones/<ab>/<id>.yaml`: tasks that were deleted, and by whom
- `templates/<name>.yaml`: task templates; `schedules/<id>.yaml`: schedules

Use `claude-container task list|show|history` rather than editing it by hand.
"""
