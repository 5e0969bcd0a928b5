"""Run logs and agent sessions in git: one ref per task, one commit per run.

    refs/claude-tasks-logs/<task id>        the same name on a remote
        run-001/run.json                    run number, times, outcome
        run-001/agent.log.gz                the agent's output (Claude's stream-json)
        run-001/execution.log.gz            what the tool did, with timestamps
        run-001/session.jsonl.gz            the agent's session transcript, when it has one
        pruned                              run numbers ``clean --logs`` dropped, one a line

The logs live apart from ``refs/claude-tasks`` so the task ref stays small, and
outside ``refs/heads`` so a plain ``git fetch`` never downloads them: the tool
fetches one task's logs when a command needs a run it does not have.

Each run folder is written once, by the clone that ran it (the run number is
its claim). Two clones' refs combine by union: the combined commit sits on top
of the *remote's* tip and holds the remote's runs plus the local runs the remote
has not pruned. So a pruned run never comes back, and no merge makes the blobs a
prune dropped reachable again. A prune writes a new root commit (no parent).

Content arrives here already scrubbed and capped (``workflow/tasklogs.py``);
this module gzips it (``mtime=0``: equal logs give equal blobs) and moves refs
by compare-and-swap. Everything that talks to a remote uses the git executable.
"""

from __future__ import annotations

import gzip
import json
import re
import time
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pygit2

from gittask.errors import ConcurrentUpdateError, GittaskError
from gittask.store.repo import GitRepo

LOGS_REF_PREFIX = "refs/claude-tasks-logs/"
#: Where ``fetch`` puts a remote's logs refs until they are combined with ours.
TRACKING_PREFIX = "refs/claude-tasks-logs-remotes/"
RUN_INFO = "run.json"
AGENT_LOG = "agent.log"
EXECUTION_LOG = "execution.log"
SESSION = "session.jsonl"
PRUNED = "pruned"
GZ = ".gz"
MAX_ATTEMPTS = 20
MAX_PUSH_ATTEMPTS = 4
#: What a stored log may inflate to when read (writers cap at ``logs.max_bytes``).
MAX_UNCOMPRESSED = 256 * 1024 * 1024
_RUN_DIR = re.compile(r"^run-(\d+)$")
_TASK_ID = re.compile(r"^[0-9a-f]{6,64}$")
#: git push/fetch with no terminal prompt: these run in the background of a command
_NO_PROMPT = {"GIT_TERMINAL_PROMPT": "0"}


def _check_id(task_id: str) -> str:
    if not _TASK_ID.match(task_id):
        raise GittaskError(f"not a task id: {task_id!r}")
    return task_id


def logs_ref(task_id: str) -> str:
    """The task's logs ref, locally and on a remote (where SYNC's publish pushes it)."""
    return LOGS_REF_PREFIX + _check_id(task_id)


def push_refspec(task_id: str) -> str:
    """The refspec that publishes the task's logs (never forced)."""
    ref = logs_ref(task_id)
    return f"{ref}:{ref}"


def tracking_ref(remote: str, task_id: str) -> str:
    return f"{TRACKING_PREFIX}{remote}/{_check_id(task_id)}"


def run_dir(run: int) -> str:
    return f"run-{run:03d}"


def gzip_bytes(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


# -- reading -----------------------------------------------------------------------------


def _oid(git: pygit2.Repository, ref: str) -> pygit2.Oid | None:
    try:
        target = git.references[ref].resolve().target
    except (KeyError, pygit2.GitError):
        return None
    return target if isinstance(target, pygit2.Oid) else None


def _tree(git: pygit2.Repository, commit: pygit2.Oid | None) -> pygit2.Tree | None:
    if commit is None:
        return None
    obj = git[commit]
    return obj.peel(pygit2.Tree) if isinstance(obj, pygit2.Commit) else None


def _runs_of(git: pygit2.Repository, tree: pygit2.Tree | None) -> dict[int, pygit2.Oid]:
    """run number -> run folder tree id."""
    found: dict[int, pygit2.Oid] = {}
    if tree is None:
        return found
    for entry in tree:
        match = _RUN_DIR.match(entry.name or "")
        if match and entry.type_str == "tree":
            found[int(match.group(1))] = entry.id
    return found


def _pruned_of(git: pygit2.Repository, tree: pygit2.Tree | None) -> set[int]:
    if tree is None or PRUNED not in tree:
        return set()
    blob = git[tree[PRUNED].id]
    if not isinstance(blob, pygit2.Blob):
        return set()
    text = blob.data.decode("ascii", "replace")
    return {int(word) for word in text.split() if word.isdigit()}


@dataclass
class StoredRun:
    """One run as the logs ref holds it."""

    run: int
    info: dict[str, Any]
    _git: pygit2.Repository
    _tree: pygit2.Tree

    @property
    def names(self) -> list[str]:
        """The files stored (without ``.gz``)."""
        return sorted(
            (e.name or "").removesuffix(GZ) for e in self._tree if e.name and e.name != RUN_INFO
        )

    def read(self, name: str) -> bytes | None:
        """A file's content (uncompressed), or None when this run has none."""
        for candidate in (name + GZ, name):
            if candidate in self._tree:
                blob = self._git[self._tree[candidate].id]
                if not isinstance(blob, pygit2.Blob):
                    return None
                data = blob.data
                if candidate.endswith(GZ):
                    return _gunzip(data, f"the stored {name} of run {self.run}")
                return bytes(data)
        return None

    def size(self) -> int:
        """Bytes its blobs take (compressed)."""
        return sum(_blob_sizes(self._git, self._tree).values())


def _gunzip(data: bytes, what: str) -> bytes:
    """Uncompressed, at most :data:`MAX_UNCOMPRESSED` bytes (a teammate's logs
    are not trusted to be small)."""
    inflate = zlib.decompressobj(wbits=31)
    try:
        out = inflate.decompress(data, MAX_UNCOMPRESSED + 1)
    except zlib.error as exc:
        raise GittaskError(f"{what} is damaged: {exc}") from None
    if len(out) > MAX_UNCOMPRESSED:
        raise GittaskError(f"{what} is larger than {MAX_UNCOMPRESSED} bytes uncompressed")
    return out


def _blob_sizes(git: pygit2.Repository, tree: pygit2.Tree) -> dict[pygit2.Oid, int]:
    sizes: dict[pygit2.Oid, int] = {}
    for entry in tree:
        obj = git[entry.id]
        if isinstance(obj, pygit2.Blob):
            sizes[entry.id] = obj.size
        elif isinstance(obj, pygit2.Tree):
            sizes.update(_blob_sizes(git, obj))
    return sizes


def _info_of(git: pygit2.Repository, tree: pygit2.Tree) -> dict[str, Any]:
    if RUN_INFO not in tree:
        return {}
    blob = git[tree[RUN_INFO].id]
    if not isinstance(blob, pygit2.Blob):
        return {}
    try:
        data = json.loads(blob.data.decode("utf-8", "replace"))
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def stored_runs(repo: GitRepo, task_id: str) -> list[int]:
    """Run numbers the local logs ref holds, oldest first."""
    git = repo.pygit
    return sorted(_runs_of(git, _tree(git, _oid(git, logs_ref(task_id)))))


def read_run(repo: GitRepo, task_id: str, run: int) -> StoredRun | None:
    git = repo.pygit
    tree = _tree(git, _oid(git, logs_ref(task_id)))
    folder = _runs_of(git, tree).get(run)
    if folder is None:
        return None
    sub = git[folder]
    assert isinstance(sub, pygit2.Tree)
    return StoredRun(run, _info_of(git, sub), git, sub)


def all_refs(repo: GitRepo) -> list[str]:
    """Task ids that have a local logs ref."""
    proc = repo.git("for-each-ref", "--format=%(refname)", LOGS_REF_PREFIX, check=False)
    return [line[len(LOGS_REF_PREFIX) :] for line in proc.stdout.split() if line.strip()]


# -- writing -----------------------------------------------------------------------------


def _write_error(repo: GitRepo, exc: Exception) -> GittaskError:
    text = " ".join(str(exc).split())
    return GittaskError(
        f"cannot write the run logs to {repo.common_dir / 'objects'}: {text}",
        "check free disk space and that you may write to the repository's .git folder",
    )


def _swap(
    git: pygit2.Repository, ref: str, old: pygit2.Oid | None, new: pygit2.Oid | None, message: str
) -> bool:
    """Move (or create, or delete when ``new`` is None) ``ref`` if it still holds ``old``."""
    try:
        if old is None:
            if new is not None:
                git.create_reference_direct(ref, new, False, message=message)
            return True
        current = git.references[ref]
        if current.target != old:
            return False
        if new is None:
            current.delete()
        else:
            current.set_target(new, message)
    except (KeyError, pygit2.AlreadyExistsError, pygit2.GitError, OSError):
        return False
    return True


def _commit_on_ref(
    repo: GitRepo,
    ref: str,
    build: Callable[[pygit2.Oid | None], tuple[pygit2.Oid | None, list[pygit2.Oid], str] | None],
) -> pygit2.Oid | None:
    """One compare-and-swap write of ``ref``: ``build(tip)`` returns (tree, parents,
    message), or None for "nothing to do"; a None tree deletes the ref."""
    git = repo.pygit
    sig = repo.signature()
    for attempt in range(MAX_ATTEMPTS):
        tip = _oid(git, ref)
        plan = build(tip)
        if plan is None:
            return tip
        tree, parents, message = plan
        new: pygit2.Oid | None = None
        if tree is not None:
            try:
                new = git.create_commit(None, sig, sig, message, tree, parents)
            except (pygit2.GitError, OSError) as exc:
                raise _write_error(repo, exc) from None
        if _swap(git, ref, tip, new, message.splitlines()[0]):
            return new
        time.sleep(0.002 * (attempt + 1))
    raise ConcurrentUpdateError(f"could not move {ref} in {MAX_ATTEMPTS} attempts")


def _folder(
    git: pygit2.Repository, info: Mapping[str, Any], files: Mapping[str, bytes]
) -> pygit2.Oid:
    builder = git.TreeBuilder()
    text = json.dumps(dict(info), indent=1, sort_keys=True, default=str) + "\n"
    builder.insert(RUN_INFO, git.create_blob(text.encode()), pygit2.GIT_FILEMODE_BLOB)
    for name, data in files.items():
        blob = git.create_blob(gzip_bytes(data))
        builder.insert(name + GZ, blob, pygit2.GIT_FILEMODE_BLOB)
    return builder.write()


def _root(
    git: pygit2.Repository, runs: Mapping[int, pygit2.Oid], pruned: Iterable[int]
) -> pygit2.Oid:
    builder = git.TreeBuilder()
    for run, folder in runs.items():
        builder.insert(run_dir(run), folder, pygit2.GIT_FILEMODE_TREE)
    gone = sorted(set(pruned))
    if gone:
        text = "".join(f"{n}\n" for n in gone)
        builder.insert(PRUNED, git.create_blob(text.encode()), pygit2.GIT_FILEMODE_BLOB)
    return builder.write()


def store_run(
    repo: GitRepo,
    task_id: str,
    run: int,
    info: Mapping[str, Any],
    files: Mapping[str, bytes],
) -> str:
    """Commit one run's folder (``files``: name -> content, gzipped here) on the
    task's logs ref, replacing what this clone stored for that run before; returns
    the ref's name."""
    ref = logs_ref(task_id)
    git = repo.pygit
    try:
        folder = _folder(git, info, files)
    except (pygit2.GitError, OSError) as exc:
        raise _write_error(repo, exc) from None

    def build(tip: pygit2.Oid | None) -> tuple[pygit2.Oid, list[pygit2.Oid], str] | None:
        tree = _tree(git, tip)
        runs = _runs_of(git, tree)
        if runs.get(run) == folder:
            return None
        runs[run] = folder
        pruned = _pruned_of(git, tree) - {run}
        message = f"logs {task_id[:8]}: run {run}\n\nTask-Id: {task_id}\nTask-Run: {run}\n"
        return _root(git, runs, pruned), [tip] if tip is not None else [], message

    _commit_on_ref(repo, ref, build)
    return ref


def combine(repo: GitRepo, task_id: str, theirs: pygit2.Oid) -> bool:
    """Fold a remote's logs commit into the local ref (see the module's docstring);
    True when the local ref changed."""
    ref = logs_ref(task_id)
    git = repo.pygit
    their_tree = _tree(git, theirs)
    their_runs = _runs_of(git, their_tree)
    their_pruned = _pruned_of(git, their_tree)
    sig = repo.signature()
    for attempt in range(MAX_ATTEMPTS):
        tip = _oid(git, ref)
        if tip is not None and (tip == theirs or git.descendant_of(tip, theirs)):
            return False
        if tip is None or git.descendant_of(theirs, tip):
            new = theirs  # a fast-forward: their commit itself
        else:
            tree = _tree(git, tip)
            pruned = their_pruned | _pruned_of(git, tree)
            runs = {n: t for n, t in their_runs.items() if n not in pruned}
            for number, folder in _runs_of(git, tree).items():
                if number not in pruned and number not in runs:
                    runs[number] = folder
            message = f"logs {task_id[:8]}: combine with the remote's runs\n\nTask-Id: {task_id}\n"
            try:
                new = git.create_commit(None, sig, sig, message, _root(git, runs, pruned), [theirs])
            except (pygit2.GitError, OSError) as exc:
                raise _write_error(repo, exc) from None
        if _swap(git, ref, tip, new, f"logs {task_id[:8]}: combine"):
            return True
        time.sleep(0.002 * (attempt + 1))
    raise ConcurrentUpdateError(f"could not move {ref} in {MAX_ATTEMPTS} attempts")


@dataclass
class PruneResult:
    runs: list[int] = field(default_factory=list)
    freed: int = 0  # bytes of blobs no longer reachable from the ref


def prune(
    repo: GitRepo,
    task_id: str,
    drop: Callable[[int, dict[str, Any]], bool],
    rewrite: bool = False,
    dry_run: bool = False,
) -> PruneResult:
    """Drop the runs ``drop(run, info)`` selects: the ref becomes one root commit
    holding the rest (and the list of pruned runs, so no clone brings them back).
    ``rewrite`` makes that root commit even when nothing is dropped."""
    ref = logs_ref(task_id)
    git = repo.pygit
    result = PruneResult()

    def build(tip: pygit2.Oid | None) -> tuple[pygit2.Oid, list[pygit2.Oid], str] | None:
        result.runs, result.freed = [], 0
        tree = _tree(git, tip)
        if tree is None:
            return None
        runs = _runs_of(git, tree)
        gone = []
        for number, folder in runs.items():
            sub = git[folder]
            assert isinstance(sub, pygit2.Tree)
            if drop(number, _info_of(git, sub)):
                gone.append(number)
        head = git[tip] if tip is not None else None
        assert isinstance(head, pygit2.Commit)
        if not gone and not (rewrite and head.parent_ids):
            return None
        kept = {n: t for n, t in runs.items() if n not in gone}
        kept_blobs: set[pygit2.Oid] = set()
        for folder in kept.values():
            sub = git[folder]
            assert isinstance(sub, pygit2.Tree)
            kept_blobs |= set(_blob_sizes(git, sub))
        dropped: dict[pygit2.Oid, int] = {}
        for number in gone:
            sub = git[runs[number]]
            assert isinstance(sub, pygit2.Tree)
            dropped.update(_blob_sizes(git, sub))
        result.runs = sorted(gone)
        result.freed = sum(size for oid, size in dropped.items() if oid not in kept_blobs)
        if dry_run:
            return None
        pruned = _pruned_of(git, tree) | set(gone)
        listed = ", ".join(str(n) for n in sorted(gone)) or "none"
        message = f"logs {task_id[:8]}: pruned run(s) {listed}\n\nTask-Id: {task_id}\n"
        return _root(git, kept, pruned), [], message

    _commit_on_ref(repo, ref, build)
    return result


def delete_local(repo: GitRepo, task_id: str) -> None:
    repo.git("update-ref", "-d", logs_ref(task_id), check=False)


# -- remote ------------------------------------------------------------------------------


def _reason(proc: Any) -> str:
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
    proc = repo.git(*args, check=False, env=_NO_PROMPT)
    out = Fetched()
    if proc.returncode != 0:
        if "couldn't find remote ref" in proc.stderr:
            out.missing = True
        else:
            out.error = _reason(proc)
        return out
    prefix = f"{TRACKING_PREFIX}{remote}/"
    listed = repo.git("for-each-ref", "--format=%(objectname) %(refname)", prefix, check=False)
    for line in listed.stdout.splitlines():
        oid_text, _, name = line.partition(" ")
        tid = name[len(prefix) :]
        if task_id is not None and tid != task_id:
            continue
        if _TASK_ID.match(tid):
            out.tips[tid] = pygit2.Oid(hex=oid_text)
    git = repo.pygit
    for tid, tip in out.tips.items():
        combine(repo, tid, tip)
        # the copy has done its job; kept, it would keep pruned blobs alive here
        _swap(git, tracking_ref(remote, tid), tip, None, "combined")
    if task_id is not None and task_id not in out.tips:
        out.missing = True
    return out


def _push_once(repo: GitRepo, remote: str, task_id: str, lease: str | None) -> tuple[bool, str]:
    ref = logs_ref(task_id)
    args = ["push", "--porcelain", "--quiet"]
    if lease is not None:
        args.append(f"--force-with-lease={ref}:{lease}")
    proc = repo.git(*args, remote, f"{ref}:{ref}", check=False, env=_NO_PROMPT)
    if proc.returncode == 0:
        return True, ""
    rejected = [
        line.rsplit("\t", 1)[-1].strip()
        for line in proc.stdout.splitlines()
        if line.startswith("!")
    ]
    return False, "; ".join(rejected) or _reason(proc)


def push(repo: GitRepo, remote: str, task_id: str) -> str | None:
    """Publish the task's logs ref (no force): a rejection fetches, combines and
    tries again. None when done, else why not (one line)."""
    if _oid(repo.pygit, logs_ref(task_id)) is None:
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
