"""The project commands: ``init``, ``build``, ``config`` and ``clean``.

- :func:`init_project` writes ``.claude-container/container_config.json`` and
  ``Dockerfile.claude`` (never overwriting an edited one without ``force``),
  ignores the derived working copy in ``.gitignore`` and makes plain
  ``git fetch``/``git push`` carry the task refs. Running it twice changes nothing.
- :func:`build_project_image` validates the Dockerfile and builds the image
  under the project's tag (config ``image``, else derived from the repository).
  The context is the ``.claude-container`` folder minus the task working copy;
  declared ``USER_UID``/``USER_GID`` build arguments get the builder's ids.
- :func:`config_show` / :func:`config_get` / :func:`config_set`: typed keys from
  :mod:`gittask.config`; a bad key or value changes nothing.
- :func:`plan_clean` / :func:`apply_clean`: what crashed runs left (found by
  :mod:`gittask.runner.leftovers`, live runs never touched), the project's image,
  and, only when asked with ``yes``, the task data itself.
"""

from __future__ import annotations

from gittask.workflow.project.build import (
    BUILD_KEY_LABEL,
    CODEX_VERSION_LABEL,
    DEBOOTSTRAP,
    VERSION_LABEL,
    BuildResult,
    build_project_image,
    labelled_image,
)
from gittask.workflow.project.clean import CleanPlan, apply_clean, plan_clean
from gittask.workflow.project.initialise import (
    FALLBACK_UID,
    GITIGNORE_LINE,
    InitResult,
    default_config_text,
    ensure_gitignore,
    image_user_ids,
    init_project,
    uninit_project,
)
from gittask.workflow.project.paths import config_dir, image_tag, project_dir
from gittask.workflow.project.settings import (
    config_get,
    config_set,
    config_show,
    config_unset,
    format_value,
)

__all__ = [
    "BUILD_KEY_LABEL",
    "CODEX_VERSION_LABEL",
    "DEBOOTSTRAP",
    "FALLBACK_UID",
    "GITIGNORE_LINE",
    "VERSION_LABEL",
    "BuildResult",
    "CleanPlan",
    "InitResult",
    "apply_clean",
    "build_project_image",
    "config_dir",
    "config_get",
    "config_set",
    "config_show",
    "config_unset",
    "default_config_text",
    "ensure_gitignore",
    "format_value",
    "image_tag",
    "image_user_ids",
    "init_project",
    "labelled_image",
    "plan_clean",
    "project_dir",
    "uninit_project",
]
