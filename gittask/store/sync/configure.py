"""The clone's git settings for tasks: fetch refspecs and notes settings, added and taken back."""

from __future__ import annotations

import pygit2

from gittask.errors import GittaskError
from gittask.store import layout
from gittask.store.repo import GitRepo
from gittask.store.sync.refs import (
    DEFAULT_REMOTE,
    NOTES_GLOB,
    NOTES_MERGE_STRATEGY,
    NOTES_PUSH_REFSPEC,
    config_values,
    data_fetch_refspec,
    notes_fetch_refspec,
    refspec_covers,
    remote_exists,
)

#: notes settings ``init`` makes: amend and rebase keep the task notes
NOTES_SETTINGS = (
    ("notes.rewrite.amend", "true"),
    ("notes.rewrite.rebase", "true"),
    ("notes.rewriteMode", NOTES_MERGE_STRATEGY),
)


def configure_remote(
    repo: GitRepo, remote: str = DEFAULT_REMOTE, branch: str = layout.REMOTE_BRANCH
) -> list[str]:
    """Make plain ``git fetch`` bring the task refs and amend/rebase keep the notes.

    Idempotent; returns one line per setting it changed.

    - notes: ``notes.rewriteRef`` (the glob ``refs/notes/claude-tasks*``: the
      exact name warns while it does not exist), ``notes.rewrite.amend``,
      ``notes.rewrite.rebase``, ``notes.rewriteMode``;
    - fetch: the notes into ``refs/notes/remotes/<remote>/claude-tasks`` (the
      branch ``claude-tasks`` already comes with ``+refs/heads/*``; a narrowed
      fetch refspec gets a partial glob for it). Both force-update tracking refs
      only, so no state of the remote's task data can make ``git fetch`` fail.

    Nothing is added to ``remote.<name>.push`` (any push line changes what a
    bare ``git push`` does, and a rejected task ref would make it exit 1): the
    tool publishes task data itself (:func:`publish`). What older versions added
    there, and ``notes.displayRef`` (it doubles the notes in
    ``git log --notes=claude-tasks``), is removed.
    """
    done = remove_legacy(repo, remote, branch)
    if not _notes_setting_present(repo, "notes.rewriteRef"):
        _add(repo, "notes.rewriteRef", NOTES_GLOB)
        done.append(f"set notes.rewriteRef = {NOTES_GLOB} (amend and rebase keep task notes)")
    for key, value in NOTES_SETTINGS:
        if repo.config_get(key) != value:
            repo.git("config", key, value)
            done.append(f"set {key} = {value}")
    if not remote_exists(repo, remote):
        return done
    fetch_key = f"remote.{remote}.fetch"
    if not any(refspec_covers(s, f"refs/heads/{branch}") for s in config_values(repo, fetch_key)):
        spec = data_fetch_refspec(remote, branch)
        _add(repo, fetch_key, spec)
        done.append(f"added {fetch_key} = {spec} (git fetch brings the tasks)")
    spec = notes_fetch_refspec(remote)
    if spec not in config_values(repo, fetch_key):
        _add(repo, fetch_key, spec)
        done.append(f"added {fetch_key} = {spec} (git fetch brings the task notes)")
    return done


def remove_legacy(
    repo: GitRepo, remote: str = DEFAULT_REMOTE, branch: str = layout.REMOTE_BRANCH
) -> list[str]:
    """Remove the push refspecs and ``notes.displayRef`` older versions added."""
    done = []
    for key in _keys_matching(repo, r"^remote\..*\.push$"):
        values = config_values(repo, key)
        ours = [v for v in values if _legacy_push(v)]
        if not ours:
            continue
        # `HEAD` was ours when it stood only next to our refspecs
        extra = ["HEAD"] if set(values) - set(ours) == {"HEAD"} else []
        for value in [*ours, *extra]:
            _unset(repo, key, value)
            done.append(f"removed {key} = {value}")
    for value in config_values(repo, "notes.displayRef"):
        if value in (NOTES_GLOB, layout.NOTES_REF):
            _unset(repo, "notes.displayRef", value)
            done.append(f"removed notes.displayRef = {value}")
    return done


def unconfigure_remote(
    repo: GitRepo, remote: str = DEFAULT_REMOTE, branch: str = layout.REMOTE_BRANCH
) -> list[str]:
    """Remove every setting :func:`configure_remote` (or an older version) made."""
    done = remove_legacy(repo, remote, branch)
    for key in _keys_matching(repo, r"^remote\..*\.fetch$"):
        name = key[len("remote.") : -len(".fetch")]
        for value in config_values(repo, key):
            if value in (data_fetch_refspec(name, branch), notes_fetch_refspec(name)):
                _unset(repo, key, value)
                done.append(f"removed {key} = {value}")
    for value in config_values(repo, "notes.rewriteRef"):
        if value in (NOTES_GLOB, layout.NOTES_REF):
            _unset(repo, "notes.rewriteRef", value)
            done.append(f"removed notes.rewriteRef = {value}")
    for key, value in NOTES_SETTINGS:
        if repo.config_get(key) == value:
            repo.git("config", "--unset-all", key, check=False)
            done.append(f"removed {key} = {value}")
    return done


def _legacy_push(value: str) -> bool:
    return value == NOTES_PUSH_REFSPEC or value.startswith(f"{layout.DATA_REF}:")


def _keys_matching(repo: GitRepo, pattern: str) -> list[str]:
    listed = repo.git("config", "--local", "--get-regexp", pattern, check=False).stdout
    keys: list[str] = []
    for line in listed.splitlines():
        key = line.partition(" ")[0]
        if key not in keys:
            keys.append(key)
    return keys


def forget_data_push(repo: GitRepo) -> None:
    """Drop push refspecs for the data ref that older versions added."""
    for key in _keys_matching(repo, r"^remote\..*\.push$"):
        for value in config_values(repo, key):
            if value.startswith(f"{layout.DATA_REF}:"):
                _unset(repo, key, value)


def _notes_setting_present(repo: GitRepo, key: str) -> bool:
    return bool({NOTES_GLOB, layout.NOTES_REF} & set(config_values(repo, key)))


def _add(repo: GitRepo, key: str, value: str) -> None:
    if value not in config_values(repo, key):
        # --replace-all with a literal value pattern: idempotent even when racing
        repo.git("config", "--fixed-value", "--replace-all", key, value, value)


def _unset(repo: GitRepo, key: str, value: str) -> None:
    repo.git("config", "--local", "--fixed-value", "--unset-all", key, value, check=False)


def needs_configuration(
    repo: GitRepo, remote: str = DEFAULT_REMOTE, branch: str = layout.REMOTE_BRANCH
) -> bool:
    """A cheap check (config reads only): would configure_remote change anything?"""
    if not _notes_setting_present(repo, "notes.rewriteRef"):
        return True
    if _notes_setting_present(repo, "notes.displayRef"):
        return True  # an older version's: to be removed
    if not remote_exists(repo, remote):
        return False
    if any(_legacy_push(v) for v in config_values(repo, f"remote.{remote}.push")):
        return True
    return notes_fetch_refspec(remote) not in config_values(repo, f"remote.{remote}.fetch")


def ensure_configured(repo: GitRepo, remote: str = DEFAULT_REMOTE) -> bool:
    """configure_remote if the cheap check says so; never fails (best effort).

    Called after writes to the data ref, so the first task configures the
    clone (and removes what older versions configured). True if it ran.
    """
    try:
        if not needs_configuration(repo, remote):
            return False
        configure_remote(repo, remote)
    except (GittaskError, pygit2.GitError, OSError):
        return False
    return True
