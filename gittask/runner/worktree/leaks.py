"""Refusing a run's commits that hold a credential value passed to its container."""

from __future__ import annotations

import contextlib
import subprocess
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO

from gittask.errors import GittaskError
from gittask.runner.encodings import encoded_forms, squeeze
from gittask.store.repo import GitRepo

#: Credential values shorter than this are not looked for in commits.
MIN_SECRET_LENGTH = 8


@dataclass
class Leak:
    """Where a credential value was found in a run's new commits (never the value)."""

    name: str  # the variable whose value it is
    commit: str
    where: str  # a file's path, "the message", or "a file name"

    def describe(self) -> str:
        return f"{self.where} (commit {self.commit[:12]}) holds the value of {self.name}"


def credential_leak(
    repo: GitRepo, commits: list[str], credentials: Mapping[str, str]
) -> Leak | None:
    """The first place the new ``commits`` add a credential value, or None.

    Looks at each commit object (message, author, committer), at the paths each
    one adds or changes and at the content of those files (every blob that
    ``git diff-tree -m --root`` shows as new; a merge's resolution included),
    for each value as it is, in its usual disguises (base64, URL-encoded,
    reversed, hex: :func:`gittask.runner.encodings.encoded_forms`), and cut into
    lines (the content with its whitespace removed is searched too).
    Values shorter than :data:`MIN_SECRET_LENGTH` are not looked for.
    """
    values = credential_patterns(credentials)
    if not values or not commits:
        return None
    blobs: dict[str, tuple[str, str]] = {}  # blob -> (commit, path), first seen
    proc = git_bytes(
        repo,
        ["diff-tree", "--stdin", "-r", "-z", "--raw", "--no-renames", "--root", "-m"],
        ("\n".join(commits) + "\n").encode(),
    )
    current = commits[0]
    tokens = proc.split(b"\0")
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        if token.startswith(b":"):
            path = tokens[i] if i < len(tokens) else b""
            i += 1
            fields = token[1:].split()
            if len(fields) < 5 or fields[1] == b"160000":  # a submodule's commit: not ours
                continue
            for name, value in values:
                if value in path:
                    return Leak(name, current, "a file name")
            new = fields[3].decode("ascii", "replace")
            if new.strip("0") and new not in blobs:
                blobs[new] = (current, path.decode("utf-8", "replace"))
        elif token.strip():
            current = token.split()[0].decode("ascii", "replace")
    order = [*commits, *blobs]
    found = _scan_objects(repo, order, [v for _, v in values])
    if found is None:
        return None
    sha, index = found
    name = values[index][0]
    if sha in blobs and sha not in commits:
        commit, file = blobs[sha]
        return Leak(name, commit, file)
    return Leak(name, sha, "the commit message")


def credential_patterns(credentials: Mapping[str, str]) -> list[tuple[str, bytes]]:
    """(name, bytes) of each value long enough to look for and of its disguised
    forms, longest first."""
    found: set[tuple[str, bytes]] = set()
    for name, value in credentials.items():
        if value and len(value.strip()) >= MIN_SECRET_LENGTH:
            found.add((name, value.encode()))
            found.update((name, form.encode()) for form in encoded_forms(value))
    return sorted(found, key=lambda item: (-len(item[1]), item))


def git_bytes(repo: GitRepo, args: list[str], data: bytes) -> bytes:
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=repo.workdir or repo.git_dir,
            input=data,
            capture_output=True,
            check=False,
        )
    except FileNotFoundError:
        raise GittaskError("the git executable was not found", "install git") from None
    if proc.returncode != 0:
        reason = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GittaskError(f"git {args[0]} failed: {reason[-1] if reason else proc.returncode}")
    return proc.stdout


def _scan_objects(repo: GitRepo, shas: list[str], values: list[bytes]) -> tuple[str, int] | None:
    """(object, index in ``values``) of the first object whose content holds a value,
    as it is or with its whitespace removed (a value cut into lines)."""
    squeezed = [squeeze(v) if len(squeeze(v)) >= MIN_SECRET_LENGTH else b"" for v in values]
    keep = max(len(v) for v in values) - 1
    try:
        proc = subprocess.Popen(
            ["git", "cat-file", "--batch"],
            cwd=repo.workdir or repo.git_dir,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise GittaskError("the git executable was not found", "install git") from None
    assert proc.stdin is not None and proc.stdout is not None
    stdin, out = proc.stdin, proc.stdout

    def feed() -> None:
        with contextlib.suppress(OSError):
            stdin.write(("\n".join(shas) + "\n").encode())
        with contextlib.suppress(OSError):
            stdin.close()

    writer = threading.Thread(target=feed, name="cat-file-input", daemon=True)
    writer.start()
    try:
        for _ in shas:
            header = out.readline().split()
            if len(header) != 3:  # "<sha> missing" (or git died): nothing to read
                if not header:
                    break
                continue
            sha, size = header[0].decode("ascii", "replace"), int(header[2])
            hit = _scan_content(out, size, values, squeezed, keep)
            out.read(1)  # the newline after the content
            if hit is not None:
                return sha, hit
        return None
    finally:
        with contextlib.suppress(OSError):
            out.close()
        proc.kill()
        proc.wait()
        writer.join(timeout=5)


def _scan_content(
    out: IO[bytes], size: int, values: list[bytes], squeezed: list[bytes], keep: int
) -> int | None:
    """Read ``size`` bytes of one object; the index of the first value found in them."""
    tail = flat_tail = b""
    hit: int | None = None
    while size > 0:
        chunk = out.read(min(size, 1 << 20))
        if not chunk:
            raise GittaskError("git cat-file ended early while checking the commits")
        size -= len(chunk)
        if hit is not None:
            continue  # read to the end of the object
        window = tail + chunk
        flat = flat_tail + squeeze(chunk)
        for number, value in enumerate(values):
            if value in window or (squeezed[number] and squeezed[number] in flat):
                hit = number
                break
        tail = window[-keep:] if keep else b""
        flat_tail = flat[-keep:] if keep else b""
    return hit
