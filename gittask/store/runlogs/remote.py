"""Logs refs and a remote: fetch one task's (or every) logs ref, push with a lease."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pygit2

from gittask.store.repo import GitRepo
from gittask.store.runlogs.names import (
    LOGS_REF_PREFIX,
    MAX_PUSH_ATTEMPTS,
    NO_PROMPT,
    TASK_ID_NAME,
    TRACKING_PREFIX,
    logs_ref,
    tracking_ref,
)
from gittask.store.runlogs.read import (
    ref_target,
)
from gittask.store.runlogs.write import combine, swap_ref


def git_reason(proc: Any) -> str:
    lines = [x.strip() for x in (proc.stderr or "").splitlines() if x.strip()]
    picked = [x for x in lines if x.startswith(("fatal:", "error:", "remote:", "!"))]
    text = (picked or lines or [f"exit code {proc.returncode}"])[-1]
    return " ".join(text.split())[:300]


@dataclass
class Fetched:
    """What a fetch of logs refs brought: task id -> the remote's commit."""

    tips: dict[str, pygit2.Oid] = field(default_factory=dict)
    missing: bool = False  # the remote has no such ref
    error: str | None = None  # the remote could not be asked


def fetch(repo: GitRepo, remote: str, task_id: str | None = None) -> Fetched:
    """Fetch one task's logs ref (or all of them) into tracking refs and combine
    each with the local ref."""
    if task_id is not None:
        spec = f"+{logs_ref(task_id)}:{tracking_ref(remote, task_id)}"
        args = ["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", remote, spec]
    else:
        spec = f"+{LOGS_REF_PREFIX}*:{TRACKING_PREFIX}{remote}/*"
        args = ["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--prune", remote, spec]
    proc = repo.git(*args, check=False, env=NO_PROMPT)
    out = Fetched()
    if proc.returncode != 0:
        if "couldn't find remote ref" in proc.stderr:
            out.missing = True
        else:
            out.error = git_reason(proc)
        return out
    prefix = f"{TRACKING_PREFIX}{remote}/"
    listed = repo.git("for-each-ref", "--format=%(objectname) %(refname)", prefix, check=False)
    for line in listed.stdout.splitlines():
        oid_text, _, name = line.partition(" ")
        tid = name[len(prefix) :]
        if task_id is not None and tid != task_id:
            continue
        if TASK_ID_NAME.match(tid):
            out.tips[tid] = pygit2.Oid(hex=oid_text)
    git = repo.pygit
    for tid, tip in out.tips.items():
        combine(repo, tid, tip)
        # the copy has done its job; kept, it would keep pruned blobs alive here
        swap_ref(git, tracking_ref(remote, tid), tip, None, "combined")
    if task_id is not None and task_id not in out.tips:
        out.missing = True
    return out


def _push_once(repo: GitRepo, remote: str, task_id: str, lease: str | None) -> tuple[bool, str]:
    ref = logs_ref(task_id)
    args = ["push", "--porcelain", "--quiet"]
    if lease is not None:
        args.append(f"--force-with-lease={ref}:{lease}")
    proc = repo.git(*args, remote, f"{ref}:{ref}", check=False, env=NO_PROMPT)
    if proc.returncode == 0:
        return True, ""
    rejected = [
        line.rsplit("\t", 1)[-1].strip()
        for line in proc.stdout.splitlines()
        if line.startswith("!")
    ]
    return False, "; ".join(rejected) or git_reason(proc)


def push(repo: GitRepo, remote: str, task_id: str) -> str | None:
    """Publish the task's logs ref (no force): a rejection fetches, combines and
    tries again. None when done, else why not (one line)."""
    if ref_target(repo.pygit, logs_ref(task_id)) is None:
        return None
    why = ""
    for _ in range(MAX_PUSH_ATTEMPTS):
        done, why = _push_once(repo, remote, task_id, None)
        if done:
            return None
        if not any(word in why for word in ("fetch first", "non-fast-forward", "rejected")):
            return why
        got = fetch(repo, remote, task_id)
        if got.error:
            return got.error
    return why


def push_rewritten(
    repo: GitRepo,
    remote: str,
    task_id: str,
    expected: pygit2.Oid | None,
) -> str | None:
    """Replace the remote's logs ref with ours if it still holds ``expected``
    (``--force-with-lease``); None when done, else why not."""
    lease = str(expected) if expected is not None else ""
    done, why = _push_once(repo, remote, task_id, lease)
    return None if done else why
