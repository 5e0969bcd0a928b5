"""A small, stateful, GitHub-compatible REST v3 server for tests.

PyGithub talks to it exactly as it talks to GitHub Enterprise::

    server = FakeGitHub().start()
    server.add_token("t0k", "alice")
    server.create_repo("alice", "proj", bare_path=tmp_path / "proj.git")
    gh = github.Github(auth=github.Auth.Token("t0k"), base_url=server.base_url)

Only the standard library is used.  The server binds 127.0.0.1 on an
ephemeral port and nothing else.  All state lives in memory behind one lock;
the Python "admin" methods let a test act as other people (reviewers,
maintainers merging a pull request, ...), inject faults and inspect state.

A repository may be bound to a bare git repository on disk: its branches and
their SHAs are then read live from it with ``git for-each-ref`` and merging a
pull request writes a real merge commit into it.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import re
import socket
import subprocess
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

__all__ = ["API_PREFIX", "FakeGitHub", "GitHubAPIError", "RecordedRequest"]

JSON = dict[str, Any]

API_PREFIX = "/api/v3"
HOST = "127.0.0.1"
DOCS = "https://docs.github.com/rest"
DOCS_CREATE_PULL = "https://docs.github.com/rest/pulls/pulls#create-a-pull-request"
DOCS_MERGE_PULL = "https://docs.github.com/rest/pulls/pulls#merge-a-pull-request"
DOCS_CREATE_REVIEW = "https://docs.github.com/rest/pulls/reviews#create-a-review-for-a-pull-request"
DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 100

_REVIEW_EVENTS = {
    "APPROVE": "APPROVED",
    "REQUEST_CHANGES": "CHANGES_REQUESTED",
    "COMMENT": "COMMENTED",
}
_REVIEW_STATES = {"APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED", "PENDING"}


class GitHubAPIError(Exception):
    """An error answer of the API; also raised by admin methods on bad input."""

    def __init__(
        self,
        status: int,
        message: str,
        errors: list[Any] | None = None,
        documentation_url: str = DOCS,
    ) -> None:
        super().__init__(f"{status} {message}" + (f" {errors}" if errors else ""))
        self.status = status
        self.message = message
        self.errors = errors
        self.documentation_url = documentation_url

    def payload(self) -> JSON:
        body: JSON = {"message": self.message}
        if self.errors is not None:
            body["errors"] = self.errors
        body["documentation_url"] = self.documentation_url
        body["status"] = str(self.status)
        return body


def _not_found() -> GitHubAPIError:
    return GitHubAPIError(404, "Not Found")


def _validation_failed(errors: list[Any], doc: str = DOCS) -> GitHubAPIError:
    return GitHubAPIError(422, "Validation Failed", errors, doc)


# --------------------------------------------------------------------------- records


@dataclass
class _User:
    login: str
    id: int
    name: str | None
    email: str | None
    type: str
    created_at: datetime


@dataclass
class _Review:
    id: int
    user: _User
    body: str
    state: str
    submitted_at: datetime | None
    commit_id: str


@dataclass
class _ReviewComment:
    id: int
    review_id: int | None
    user: _User
    path: str
    line: int | None
    original_line: int | None
    side: str
    start_line: int | None
    start_side: str | None
    body: str
    created_at: datetime
    updated_at: datetime
    commit_id: str
    original_commit_id: str
    diff_hunk: str
    in_reply_to_id: int | None
    subject_type: str


@dataclass
class _IssueComment:
    id: int
    user: _User
    body: str
    created_at: datetime
    updated_at: datetime


@dataclass
class _Pull:
    number: int
    id: int
    seq: int
    title: str
    body: str | None
    user: _User
    head_repo: _Repo
    head_ref: str
    head_sha: str
    base_ref: str
    base_sha: str
    draft: bool
    maintainer_can_modify: bool
    created_at: datetime
    updated_at: datetime
    state: str = "open"
    closed_at: datetime | None = None
    merged_at: datetime | None = None
    merged_by: _User | None = None
    merge_commit_sha: str | None = None
    reviews: list[_Review] = field(default_factory=list)
    review_comments: list[_ReviewComment] = field(default_factory=list)
    issue_comments: list[_IssueComment] = field(default_factory=list)
    # fields forced by FakeGitHub.set_pull(); they win over computed values
    overrides: JSON = field(default_factory=dict)


@dataclass
class _Repo:
    owner: _User
    name: str
    id: int
    default_branch: str
    private: bool
    html_base: str
    bare_path: Path | None
    clone_url: str | None
    created_at: datetime
    branches: dict[str, str] = field(default_factory=dict)
    collaborators: set[str] = field(default_factory=set)
    pulls: dict[int, _Pull] = field(default_factory=dict)
    next_number: int = 1

    @property
    def full_name(self) -> str:
        return f"{self.owner.login}/{self.name}"

    @property
    def html_url(self) -> str:
        return f"{self.html_base}/{self.owner.login}/{self.name}"


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it (path without the /api/v3 prefix and query)."""

    method: str
    path: str
    query: dict[str, str]
    status: int
    body: Any
    login: str | None
    headers: dict[str, str]


@dataclass
class _Fault:
    method: str | None
    pattern: re.Pattern[str]
    status: int
    remaining: int
    body: Any
    headers: dict[str, str]


@dataclass
class _Request:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    user: _User


@dataclass
class _Response:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[_Request, "re.Match[str]"], _Response]


# --------------------------------------------------------------------------- git


class _Git:
    """Thin wrapper around the git executable for one bare repository."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def run(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        check: bool = True,
        input: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        full_env = dict(os.environ)
        full_env.update(
            GIT_DIR=str(self.path),
            GIT_CONFIG_NOSYSTEM="1",
            GIT_TERMINAL_PROMPT="0",
            LC_ALL="C",
        )
        if env:
            full_env.update(env)
        proc = subprocess.run(
            ["git", *args],
            capture_output=True,
            text=True,
            env=full_env,
            input=input,
            check=False,
        )
        if check and proc.returncode != 0:
            raise RuntimeError(
                f"git {' '.join(args)} failed in {self.path} ({proc.returncode}): "
                f"{proc.stderr.strip()}"
            )
        return proc

    def branches(self) -> dict[str, str]:
        out = self.run("for-each-ref", "--format=%(objectname) %(refname)", "refs/heads/").stdout
        result: dict[str, str] = {}
        for line in out.splitlines():
            sha, _, ref = line.partition(" ")
            result[ref.removeprefix("refs/heads/")] = sha
        return result

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        return (
            self.run("merge-base", "--is-ancestor", ancestor, descendant, check=False).returncode
            == 0
        )

    def merge_tree(self, base: str, head: str) -> str | None:
        """The tree of merging ``head`` into ``base``, or None on conflict."""
        proc = self.run("merge-tree", "--write-tree", "--no-messages", base, head, check=False)
        if proc.returncode == 0:
            return proc.stdout.split()[0]
        if proc.returncode == 1 or "unrelated histories" in proc.stderr:
            return None
        raise RuntimeError(f"git merge-tree failed in {self.path}: {proc.stderr.strip()}")

    def commit_tree(
        self, tree: str, parents: list[str], message: str, env: Mapping[str, str]
    ) -> str:
        args = ["commit-tree", tree]
        for parent in parents:
            args += ["-p", parent]
        return self.run(*args, env=env, input=message).stdout.strip()

    def update_branch(self, branch: str, new: str, old: str) -> None:
        self.run("update-ref", f"refs/heads/{branch}", new, old)

    def delete_branch(self, branch: str) -> None:
        self.run("update-ref", "-d", f"refs/heads/{branch}")

    def count_commits(self, base: str, head: str) -> int:
        return int(self.run("rev-list", "--count", f"{base}..{head}").stdout.strip() or 0)

    def numstat(self, base: str, head: str) -> tuple[int, int, int]:
        out = self.run("diff", "--numstat", f"{base}...{head}").stdout
        additions = deletions = files = 0
        for line in out.splitlines():
            added, deleted, _ = line.split("\t", 2)
            files += 1
            additions += int(added) if added.isdigit() else 0
            deletions += int(deleted) if deleted.isdigit() else 0
        return additions, deletions, files

    def commit_info(self, rev: str) -> JSON | None:
        fmt = "%H%x00%T%x00%P%x00%an%x00%ae%x00%ad%x00%cn%x00%ce%x00%cd%x00%B"
        proc = self.run(
            "log",
            "-1",
            f"--format={fmt}",
            "--date=format-local:%Y-%m-%dT%H:%M:%SZ",
            rev,
            "--",
            env={"TZ": "UTC"},
            check=False,
        )
        if proc.returncode != 0 or not proc.stdout:
            return None
        sha, tree, parents, an, ae, ad, cn, ce, cd, message = proc.stdout.split("\x00", 9)
        return {
            "sha": sha,
            "tree": tree,
            "parents": parents.split(),
            "author": {"name": an, "email": ae, "date": ad},
            "committer": {"name": cn, "email": ce, "date": cd},
            "message": message.rstrip("\n"),
        }

    def rebase(self, base: str, head: str, committer_env: Mapping[str, str]) -> str | None:
        """Replay base..head onto base (trivial three-way merges); None on conflict."""
        commits = self.run("rev-list", "--reverse", "--no-merges", f"{base}..{head}").stdout.split()
        new = base
        with tempfile.TemporaryDirectory(prefix="fakegh-index-") as tmp:
            index = Path(tmp) / "index"
            index_env = {"GIT_INDEX_FILE": str(index)}
            for commit in commits:
                info = self.commit_info(commit)
                if info is None or not info["parents"]:
                    return None
                index.unlink(missing_ok=True)
                read = self.run(
                    "read-tree",
                    "-i",
                    "-m",
                    "--aggressive",
                    info["parents"][0],
                    new,
                    commit,
                    env=index_env,
                    check=False,
                )
                tree = self.run("write-tree", env=index_env, check=False)
                if read.returncode != 0 or tree.returncode != 0:
                    return None
                env = dict(committer_env)
                env.update(
                    GIT_AUTHOR_NAME=info["author"]["name"],
                    GIT_AUTHOR_EMAIL=info["author"]["email"],
                    GIT_AUTHOR_DATE=info["author"]["date"],
                )
                new = self.commit_tree(tree.stdout.strip(), [new], info["message"] + "\n", env)
        return new


# --------------------------------------------------------------------------- helpers


def _iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _fake_sha(*parts: object) -> str:
    return hashlib.sha1("\x00".join(map(str, parts)).encode()).hexdigest()


def _token_from(headers: Mapping[str, str]) -> str | None:
    value = headers.get("Authorization")
    if not value:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() in ("token", "bearer") and token.strip():
        return token.strip()
    return None


def _as_int(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _validation_failed(
            [{"resource": "PullRequestReviewComment", "code": "invalid", "field": name}]
        )
    return value


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    app: FakeGitHub


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer
    server_version = "FakeGitHub/1.0"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        # headers and body are two writes: without this, Nagle + delayed ACK cost ~200 ms
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.app._track_connection(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.app._track_connection(self.connection, add=False)

    def _serve(self) -> None:
        self.server.app._serve(self)

    do_GET = _serve
    do_POST = _serve
    do_PATCH = _serve
    do_PUT = _serve
    do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet; the request log is on the FakeGitHub instance."""


# --------------------------------------------------------------------------- server


class FakeGitHub:
    """In-memory GitHub REST v3 server (pull requests, reviews, comments)."""

    def __init__(
        self,
        *,
        html_base: str = "https://github.com",
        clock: Callable[[], datetime] | None = None,
        reject_empty_pulls: bool = True,
    ) -> None:
        """``html_base``: default base of html_url values (repos may override it).

        ``clock``: returns the current time (timezone-aware) for timestamps.
        ``reject_empty_pulls``: answer 422 "No commits between ..." like GitHub
        when the head branch has nothing the base branch lacks.
        """
        self.html_base = html_base.rstrip("/")
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.reject_empty_pulls = reject_empty_pulls
        self._lock = threading.RLock()
        self._ids = itertools.count(1001)
        self._seq = itertools.count(1)
        self._users: dict[str, _User] = {}
        self._tokens: dict[str, str] = {}
        self._repos: dict[tuple[str, str], _Repo] = {}
        self._faults: list[_Fault] = []
        self._requests: list[RecordedRequest] = []
        self._internal_errors: list[str] = []
        self._branch_cache: dict[int, dict[str, str]] | None = None
        self._connections: set[socket.socket] = set()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._install_routes()

    # ------------------------------------------------------------ lifecycle

    def start(self) -> FakeGitHub:
        """Bind 127.0.0.1 on an ephemeral port and serve from a daemon thread."""
        if self._httpd is not None:
            raise RuntimeError("FakeGitHub already started")
        httpd = _HTTPServer((HOST, 0), _RequestHandler)
        httpd.app = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-github-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, drop open keep-alive connections and close the socket."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeGitHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def server_address(self) -> tuple[str, int]:
        if self._httpd is None:
            raise RuntimeError("FakeGitHub is not started")
        host, port = self._httpd.server_address[:2]
        return str(host), int(port)

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:PORT`` (the API also answers here without prefix)."""
        return f"http://{HOST}:{self.port}"

    @property
    def base_url(self) -> str:
        """What to pass to ``github.Github(base_url=...)``."""
        return f"{self.root_url}{API_PREFIX}"

    # ------------------------------------------------------------ admin: users and repos

    def add_user(
        self,
        login: str,
        *,
        name: str | None = None,
        email: str | None = None,
        type: str = "User",
    ) -> JSON:
        """Create (or update) a user; returns its ``GET /users/{login}`` JSON."""
        with self._lock:
            user = self._users.get(login.lower())
            if user is None:
                user = _User(login, next(self._ids), name, email, type, self.clock())
                self._users[login.lower()] = user
            else:
                user.name = name if name is not None else user.name
                user.email = email if email is not None else user.email
                user.type = type
            return self._user_json(user, full=True)

    def add_token(self, token: str, login: str) -> None:
        """Make ``token`` authenticate as ``login`` (the user is created if needed)."""
        with self._lock:
            if login.lower() not in self._users:
                self.add_user(login)
            self._tokens[token] = login.lower()

    def create_repo(
        self,
        owner: str,
        name: str,
        default_branch: str = "main",
        bare_path: str | os.PathLike[str] | None = None,
        html_base: str | None = None,
        *,
        private: bool = False,
        clone_url: str | None = None,
    ) -> JSON:
        """Create ``owner/name`` (the owner user is created if needed).

        With ``bare_path`` the branches are read live from that bare git
        repository; without it a branch ``default_branch`` with a made-up SHA
        exists and more can be added with :meth:`set_branch`.
        ``html_base`` defaults to the server's (``https://github.com``): the
        html_url of the repo is ``{html_base}/{owner}/{name}`` and of a pull
        request ``{html_base}/{owner}/{name}/pull/{n}``.
        ``clone_url`` defaults to ``{html_base}/{owner}/{name}.git``.
        """
        with self._lock:
            if (owner.lower(), name.lower()) in self._repos:
                raise GitHubAPIError(
                    422,
                    "Repository creation failed.",
                    [
                        {
                            "resource": "Repository",
                            "code": "custom",
                            "field": "name",
                            "message": "name already exists on this account",
                        }
                    ],
                )
            if owner.lower() not in self._users:
                self.add_user(owner)
            path = Path(bare_path) if bare_path is not None else None
            if path is not None and not path.is_dir():
                raise ValueError(f"bare repository {path} does not exist")
            repo = _Repo(
                owner=self._users[owner.lower()],
                name=name,
                id=next(self._ids),
                default_branch=default_branch,
                private=private,
                html_base=(html_base or self.html_base).rstrip("/"),
                bare_path=path,
                clone_url=clone_url,
                created_at=self.clock(),
            )
            if path is None:
                repo.branches[default_branch] = _fake_sha(owner, name, default_branch)
            self._repos[(owner.lower(), name.lower())] = repo
            return self._repo_json(repo)

    def add_collaborator(self, owner: str, name: str, login: str) -> None:
        """Give ``login`` access (author_association COLLABORATOR, sees private repos)."""
        with self._lock:
            if login.lower() not in self._users:
                self.add_user(login)
            self._find_repo(owner, name).collaborators.add(login.lower())

    def set_branch(self, owner: str, name: str, branch: str, sha: str | None = None) -> str:
        """Create or move a branch of a repo that is not bound to a bare repo."""
        with self._lock:
            repo = self._find_repo(owner, name)
            if repo.bare_path is not None:
                raise ValueError("branches of a bare-bound repo live in the bare repo; push there")
            new_sha = sha or _fake_sha(owner, name, branch, next(self._seq))
            repo.branches[branch] = new_sha
            return new_sha

    def delete_branch(self, owner: str, name: str, branch: str) -> None:
        with self._lock:
            repo = self._find_repo(owner, name)
            if branch not in self._branches(repo):
                raise GitHubAPIError(422, "Reference does not exist")
            self._remove_branch(repo, branch)

    def branches(self, owner: str, name: str) -> dict[str, str]:
        """Branch name -> SHA as the server currently sees it."""
        with self._lock:
            return dict(self._branches(self._find_repo(owner, name)))

    # ------------------------------------------------------------ admin: pull requests

    def create_pull(
        self,
        owner: str,
        name: str,
        *,
        login: str,
        title: str,
        head: str,
        base: str | None = None,
        body: str | None = None,
        draft: bool = False,
    ) -> JSON:
        """Open a pull request as ``login`` (same validation as the API)."""
        with self._lock:
            repo = self._find_repo(owner, name)
            pr = self._open_pull(
                repo,
                self._find_user(login),
                title,
                head,
                base or repo.default_branch,
                body,
                draft,
                True,
            )
            return self._pull_json(repo, pr, full=True)

    def pull(self, owner: str, name: str, number: int) -> JSON:
        """The full ``GET /repos/{o}/{r}/pulls/{n}`` JSON of one pull request."""
        with self._lock:
            repo = self._find_repo(owner, name)
            return self._pull_json(repo, self._find_pull(repo, number), full=True)

    def pulls(self, owner: str, name: str) -> list[JSON]:
        """Full JSON of every pull request of the repo, by number."""
        with self._lock:
            repo = self._find_repo(owner, name)
            return [self._pull_json(repo, pr, full=True) for _, pr in sorted(repo.pulls.items())]

    def set_pull(self, owner: str, name: str, number: int, **fields: Any) -> JSON:
        """Change a pull request behind the API's back.

        ``title``, ``body``, ``draft``, ``state``, ``head_sha`` and ``base_sha``
        change the record; any other key (e.g. ``mergeable=False``,
        ``mergeable_state="blocked"``, ``additions=3``) overrides that field of
        the JSON from now on (``mergeable=False`` also makes merging fail).
        """
        with self._lock:
            repo = self._find_repo(owner, name)
            pr = self._find_pull(repo, number)
            for key, value in fields.items():
                if key == "state":
                    self._set_state(repo, pr, value)
                elif key in ("title", "body", "draft", "head_sha", "base_sha"):
                    setattr(pr, key, value)
                else:
                    pr.overrides[key] = value
            pr.updated_at = self.clock()
            return self._pull_json(repo, pr, full=True)

    def merge_pull(
        self,
        owner: str,
        name: str,
        number: int,
        login: str | None = None,
        *,
        method: str = "merge",
        sha: str | None = None,
        commit_title: str | None = None,
        commit_message: str | None = None,
    ) -> JSON:
        """Merge as ``login`` (default: the repo owner); returns the PR JSON.

        For a bare-bound repo a real merge (or squash / rebase) commit is
        written and the base branch moved; otherwise the base branch of the
        in-memory repo gets a made-up merge SHA.
        """
        with self._lock:
            repo = self._find_repo(owner, name)
            pr = self._find_pull(repo, number)
            user = self._find_user(login) if login else repo.owner
            self._merge(repo, pr, user, method, sha, commit_title, commit_message)
            return self._pull_json(repo, pr, full=True)

    def close_pull(self, owner: str, name: str, number: int) -> JSON:
        with self._lock:
            repo = self._find_repo(owner, name)
            pr = self._find_pull(repo, number)
            self._set_state(repo, pr, "closed")
            return self._pull_json(repo, pr, full=True)

    def reopen_pull(self, owner: str, name: str, number: int) -> JSON:
        with self._lock:
            repo = self._find_repo(owner, name)
            pr = self._find_pull(repo, number)
            self._set_state(repo, pr, "open")
            return self._pull_json(repo, pr, full=True)

    def add_review(
        self,
        owner: str,
        name: str,
        number: int,
        login: str,
        body: str = "",
        state: str = "COMMENTED",
        comments: Iterable[Mapping[str, Any]] = (),
        *,
        commit_id: str | None = None,
    ) -> JSON:
        """Submit a review as ``login``.

        ``state``: APPROVED / CHANGES_REQUESTED / COMMENTED / PENDING (the API
        event names APPROVE / REQUEST_CHANGES / COMMENT work too).
        ``comments``: ``{"path", "line", "body"}`` (optionally ``side``,
        ``start_line``, ``start_side``); each becomes a review comment.
        Unlike the API this allows reviewing one's own pull request.
        """
        state = state.upper()
        state = _REVIEW_EVENTS.get(state, state)
        if state not in _REVIEW_STATES:
            raise ValueError(f"unknown review state {state!r}")
        with self._lock:
            repo = self._find_repo(owner, name)
            pr = self._find_pull(repo, number)
            review = self._add_review(
                repo, pr, self._find_user(login), body, state, list(comments), commit_id
            )
            return self._review_json(repo, pr, review)

    def add_review_comment(
        self,
        owner: str,
        name: str,
        number: int,
        login: str,
        body: str,
        path: str | None = None,
        line: int | None = None,
        *,
        side: str = "RIGHT",
        in_reply_to: int | None = None,
        commit_id: str | None = None,
    ) -> JSON:
        """A single review comment (or a reply with ``in_reply_to``) as ``login``."""
        with self._lock:
            repo = self._find_repo(owner, name)
            pr = self._find_pull(repo, number)
            spec: JSON = {
                "body": body,
                "path": path,
                "line": line,
                "side": side,
                "in_reply_to": in_reply_to,
                "commit_id": commit_id,
            }
            comment = self._add_review_comment(repo, pr, self._find_user(login), spec)
            return self._review_comment_json(repo, pr, comment)

    def add_issue_comment(self, owner: str, name: str, number: int, login: str, body: str) -> JSON:
        """A conversation comment on pull request ``number`` as ``login``."""
        with self._lock:
            repo = self._find_repo(owner, name)
            pr = self._find_pull(repo, number)
            comment = self._add_issue_comment(pr, self._find_user(login), body)
            return self._issue_comment_json(repo, pr, comment)

    def reviews(self, owner: str, name: str, number: int) -> list[JSON]:
        with self._lock:
            repo = self._find_repo(owner, name)
            pr = self._find_pull(repo, number)
            return [self._review_json(repo, pr, r) for r in pr.reviews]

    def review_comments(self, owner: str, name: str, number: int) -> list[JSON]:
        with self._lock:
            repo = self._find_repo(owner, name)
            pr = self._find_pull(repo, number)
            return [self._review_comment_json(repo, pr, c) for c in pr.review_comments]

    def issue_comments(self, owner: str, name: str, number: int) -> list[JSON]:
        with self._lock:
            repo = self._find_repo(owner, name)
            pr = self._find_pull(repo, number)
            return [self._issue_comment_json(repo, pr, c) for c in pr.issue_comments]

    # ------------------------------------------------------------ admin: faults and log

    def fail_next(
        self,
        method: str | None,
        path_regex: str,
        status: int = 500,
        count: int = 1,
        *,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the next ``count`` matching requests with ``status``.

        ``method``: HTTP verb, or None / "*" for any.  ``path_regex`` is
        ``re.search``-ed against the path without the ``/api/v3`` prefix and
        without the query string (anchor it: ``r"^/repos/o/r/pulls$"``).
        ``body`` defaults to ``{"message": "Server Error"}``-like JSON; a str
        body is sent as text/html.  Faults apply before authentication.
        """
        with self._lock:
            self._faults.append(
                _Fault(
                    method=None if method in (None, "*") else str(method).upper(),
                    pattern=re.compile(path_regex),
                    status=status,
                    remaining=count,
                    body=body,
                    headers=dict(headers or {}),
                )
            )

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def request_log(self) -> list[tuple[str, str, int]]:
        """``(method, path, status)`` of every request so far, oldest first."""
        with self._lock:
            return [(r.method, r.path, r.status) for r in self._requests]

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request with query, parsed JSON body, login and headers."""
        with self._lock:
            return list(self._requests)

    def clear_log(self) -> None:
        with self._lock:
            self._requests.clear()

    @property
    def internal_errors(self) -> list[str]:
        """Tracebacks of bugs in the server itself (answered with HTTP 500)."""
        with self._lock:
            return list(self._internal_errors)

    # ------------------------------------------------------------ HTTP plumbing

    def _track_connection(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _serve(self, handler: _RequestHandler) -> None:
        split = urlsplit(handler.path)
        path = split.path
        if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
            path = path[len(API_PREFIX) :]
        path = "/" + path.strip("/")
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length > 0 else b""
        method = handler.command
        headers = {k: v for k, v in handler.headers.items()}

        with self._lock:
            self._branch_cache = {}
            try:
                login, body, response = self._handle(method, path, query, raw, headers)
            finally:
                self._branch_cache = None
            self._requests.append(
                RecordedRequest(method, path, query, response.status, body, login, headers)
            )
        self._send(handler, method, response)

    def _handle(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        raw: bytes,
        headers: Mapping[str, str],
    ) -> tuple[str | None, Any, _Response]:
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
        fault = self._take_fault(method, path)
        if fault is not None:
            return None, body, fault
        login: str | None = None
        try:
            token = _token_from(headers)
            if token is None or token not in self._tokens:
                raise GitHubAPIError(401, "Bad credentials")
            user = self._users[self._tokens[token]]
            login = user.login
            if raw and not isinstance(body, (dict, list)):
                raise GitHubAPIError(400, "Problems parsing JSON")
            request = _Request(method, path, query, body, user)
            for route_method, pattern, fn in self._routes:
                match = pattern.fullmatch(path)
                if match is not None and route_method == method:
                    return login, body, fn(request, match)
            raise _not_found()
        except GitHubAPIError as exc:
            return login, body, _Response(exc.status, exc.payload())
        except Exception:
            self._internal_errors.append(traceback.format_exc())
            return login, body, _Response(500, {"message": "Internal fake-GitHub error"})

    def _take_fault(self, method: str, path: str) -> _Response | None:
        for fault in self._faults:
            if fault.remaining <= 0:
                continue
            if fault.method not in (None, method) or not fault.pattern.search(path):
                continue
            fault.remaining -= 1
            body = fault.body
            if body is None:
                body = {
                    "message": "Server Error" if fault.status >= 500 else "Injected fault",
                    "documentation_url": DOCS,
                }
            return _Response(fault.status, body, dict(fault.headers))
        self._faults = [f for f in self._faults if f.remaining > 0]
        return None

    def _send(self, handler: _RequestHandler, method: str, response: _Response) -> None:
        status = response.status
        headers: dict[str, str] = {
            "X-RateLimit-Limit": "5000",
            "X-RateLimit-Remaining": "4999",
            "X-RateLimit-Reset": str(int(time.time()) + 3600),
            "X-RateLimit-Used": "1",
            "X-RateLimit-Resource": "core",
            "X-GitHub-Media-Type": "github.v3; format=json",
            "X-GitHub-Request-Id": f"FAKE:{next(self._seq):08X}",
        }
        data = b""
        if isinstance(response.body, str):
            data = response.body.encode()
            headers["Content-Type"] = "text/html; charset=utf-8"
        elif response.body is not None:
            data = json.dumps(response.body).encode()
            headers["Content-Type"] = "application/json; charset=utf-8"
        if method == "GET" and status == 200:
            etag = '"' + hashlib.sha1(data).hexdigest() + '"'
            headers["ETag"] = etag
            if handler.headers.get("If-None-Match") == etag:
                status, data = 304, b""
                headers.pop("Content-Type", None)
        headers.update(response.headers)
        headers["Content-Length"] = str(len(data))
        handler.send_response(status)
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.end_headers()
        if data and method != "HEAD":
            handler.wfile.write(data)
        handler.wfile.flush()

    # ------------------------------------------------------------ routes

    def _install_routes(self) -> None:
        repo = r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"
        pull = repo + r"/pulls/(?P<number>\d+)"
        table: list[tuple[str, str, Handler]] = [
            ("GET", r"/user", self._r_get_authenticated_user),
            ("GET", r"/users/(?P<login>[^/]+)", self._r_get_user),
            ("GET", repo, self._r_get_repo),
            ("GET", repo + r"/branches", self._r_list_branches),
            ("GET", repo + r"/branches/(?P<branch>.+)", self._r_get_branch),
            ("GET", repo + r"/commits/(?P<sha>[^/]+)", self._r_get_commit),
            ("DELETE", repo + r"/git/refs/heads/(?P<branch>.+)", self._r_delete_ref),
            ("GET", repo + r"/pulls", self._r_list_pulls),
            ("POST", repo + r"/pulls", self._r_create_pull),
            ("GET", repo + r"/pulls/comments/(?P<id>\d+)", self._r_get_review_comment),
            ("GET", pull, self._r_get_pull),
            ("PATCH", pull, self._r_update_pull),
            ("GET", pull + r"/merge", self._r_is_merged),
            ("PUT", pull + r"/merge", self._r_merge_pull),
            ("GET", pull + r"/reviews", self._r_list_reviews),
            ("POST", pull + r"/reviews", self._r_create_review),
            ("GET", pull + r"/reviews/(?P<id>\d+)", self._r_get_review),
            ("GET", pull + r"/reviews/(?P<id>\d+)/comments", self._r_list_review_comments_of),
            ("GET", pull + r"/comments", self._r_list_review_comments),
            ("POST", pull + r"/comments", self._r_create_review_comment),
            ("POST", pull + r"/comments/(?P<id>\d+)/replies", self._r_reply_review_comment),
            ("GET", repo + r"/issues/comments/(?P<id>\d+)", self._r_get_issue_comment),
            ("GET", repo + r"/issues/(?P<number>\d+)", self._r_get_issue),
            ("GET", repo + r"/issues/(?P<number>\d+)/comments", self._r_list_issue_comments),
            ("POST", repo + r"/issues/(?P<number>\d+)/comments", self._r_create_issue_comment),
        ]
        self._routes = [(m, re.compile(p), fn) for m, p, fn in table]

    def _paginate(self, req: _Request, items: list[JSON]) -> _Response:
        try:
            per_page = int(req.query.get("per_page", DEFAULT_PER_PAGE))
        except ValueError:
            per_page = DEFAULT_PER_PAGE
        per_page = max(1, min(MAX_PER_PAGE, per_page))
        try:
            page = max(1, int(req.query.get("page", 1)))
        except ValueError:
            page = 1
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page : page * per_page]

        def link(p: int, rel: str) -> str:
            query = dict(req.query)
            query["per_page"] = str(per_page)
            query["page"] = str(p)
            return f'<{self.base_url}{quote(req.path)}?{urlencode(query)}>; rel="{rel}"'

        links: list[str] = []
        if page > 1:
            links.append(link(min(page - 1, last), "prev"))
        if page < last:
            links.append(link(page + 1, "next"))
            links.append(link(last, "last"))
        if page > 1:
            links.append(link(1, "first"))
        headers = {"Link": ", ".join(links)} if links else {}
        return _Response(200, chunk, headers)

    def _route_repo(self, req: _Request, match: re.Match[str]) -> _Repo:
        repo = self._repos.get((unquote(match["owner"]).lower(), unquote(match["repo"]).lower()))
        if repo is None or not self._can_see(req.user, repo):
            raise _not_found()
        return repo

    def _route_pull(self, req: _Request, match: re.Match[str]) -> tuple[_Repo, _Pull]:
        repo = self._route_repo(req, match)
        pr = repo.pulls.get(int(match["number"]))
        if pr is None:
            raise _not_found()
        return repo, pr

    def _r_get_authenticated_user(self, req: _Request, match: re.Match[str]) -> _Response:
        return _Response(200, self._user_json(req.user, full=True))

    def _r_get_user(self, req: _Request, match: re.Match[str]) -> _Response:
        user = self._users.get(unquote(match["login"]).lower())
        if user is None:
            raise _not_found()
        return _Response(200, self._user_json(user, full=True))

    def _r_get_repo(self, req: _Request, match: re.Match[str]) -> _Response:
        repo = self._route_repo(req, match)
        return _Response(200, self._repo_json(repo, viewer=req.user))

    def _r_list_branches(self, req: _Request, match: re.Match[str]) -> _Response:
        repo = self._route_repo(req, match)
        items = [self._branch_json(repo, b, sha) for b, sha in sorted(self._branches(repo).items())]
        return self._paginate(req, items)

    def _r_get_branch(self, req: _Request, match: re.Match[str]) -> _Response:
        repo = self._route_repo(req, match)
        branch = unquote(match["branch"])
        sha = self._branches(repo).get(branch)
        if sha is None:
            raise GitHubAPIError(
                404,
                "Branch not found",
                None,
                "https://docs.github.com/rest/branches/branches#get-a-branch",
            )
        return _Response(200, self._branch_json(repo, branch, sha))

    def _r_get_commit(self, req: _Request, match: re.Match[str]) -> _Response:
        repo = self._route_repo(req, match)
        rev = unquote(match["sha"])
        data = self._commit_json(repo, rev)
        if data is None:
            raise GitHubAPIError(422, f"No commit found for SHA: {rev}")
        return _Response(200, data)

    def _r_delete_ref(self, req: _Request, match: re.Match[str]) -> _Response:
        repo = self._route_repo(req, match)
        branch = unquote(match["branch"])
        if branch not in self._branches(repo):
            raise GitHubAPIError(422, "Reference does not exist")
        self._remove_branch(repo, branch)
        return _Response(204)

    def _r_list_pulls(self, req: _Request, match: re.Match[str]) -> _Response:
        repo = self._route_repo(req, match)
        state = req.query.get("state", "open")
        pulls = list(repo.pulls.values())
        if state in ("open", "closed"):
            pulls = [p for p in pulls if p.state == state]
        head = req.query.get("head")
        # like GitHub: a head filter without "owner:" is silently ignored
        if head and ":" in head:
            head_owner, _, head_ref = head.partition(":")
            pulls = [
                p
                for p in pulls
                if p.head_repo.owner.login.lower() == head_owner.lower() and p.head_ref == head_ref
            ]
        base = req.query.get("base")
        if base:
            pulls = [p for p in pulls if p.base_ref == base]
        sort = req.query.get("sort", "created")
        direction = req.query.get("direction", "desc" if sort == "created" else "asc")
        if sort == "updated":
            pulls.sort(key=lambda p: (p.updated_at, p.seq))
        else:
            pulls.sort(key=lambda p: p.number)
        if direction == "desc":
            pulls.reverse()
        return self._paginate(req, [self._pull_json(repo, p, full=False) for p in pulls])

    def _r_create_pull(self, req: _Request, match: re.Match[str]) -> _Response:
        repo = self._route_repo(req, match)
        body = req.body if isinstance(req.body, dict) else {}
        errors = [
            {"resource": "PullRequest", "code": "missing_field", "field": f}
            for f in ("head", "base")
            if not isinstance(body.get(f), str) or not body[f]
        ]
        if errors:
            raise _validation_failed(errors, DOCS_CREATE_PULL)
        pr = self._open_pull(
            repo,
            req.user,
            body.get("title") or "",
            body["head"],
            body["base"],
            body.get("body"),
            bool(body.get("draft", False)),
            bool(body.get("maintainer_can_modify", True)),
        )
        data = self._pull_json(repo, pr, full=True)
        return _Response(201, data, {"Location": data["url"]})

    def _r_get_pull(self, req: _Request, match: re.Match[str]) -> _Response:
        repo, pr = self._route_pull(req, match)
        return _Response(200, self._pull_json(repo, pr, full=True))

    def _r_update_pull(self, req: _Request, match: re.Match[str]) -> _Response:
        repo, pr = self._route_pull(req, match)
        body = req.body if isinstance(req.body, dict) else {}
        if "state" in body:
            if body["state"] not in ("open", "closed"):
                raise _validation_failed(
                    [{"resource": "PullRequest", "code": "invalid", "field": "state"}]
                )
            self._set_state(repo, pr, body["state"])
        if "base" in body:
            if body["base"] not in self._branches(repo):
                raise _validation_failed(
                    [{"resource": "PullRequest", "code": "invalid", "field": "base"}]
                )
            pr.base_ref = body["base"]
        if "title" in body and body["title"] is not None:
            pr.title = str(body["title"])
        if "body" in body:
            pr.body = body["body"]
        if "maintainer_can_modify" in body:
            pr.maintainer_can_modify = bool(body["maintainer_can_modify"])
        pr.updated_at = self.clock()
        return _Response(200, self._pull_json(repo, pr, full=True))

    def _r_is_merged(self, req: _Request, match: re.Match[str]) -> _Response:
        _, pr = self._route_pull(req, match)
        if pr.merged_at is None:
            raise _not_found()
        return _Response(204)

    def _r_merge_pull(self, req: _Request, match: re.Match[str]) -> _Response:
        repo, pr = self._route_pull(req, match)
        body = req.body if isinstance(req.body, dict) else {}
        sha = self._merge(
            repo,
            pr,
            req.user,
            body.get("merge_method") or "merge",
            body.get("sha"),
            body.get("commit_title"),
            body.get("commit_message"),
        )
        return _Response(
            200, {"sha": sha, "merged": True, "message": "Pull Request successfully merged"}
        )

    def _visible_reviews(self, pr: _Pull, viewer: _User) -> list[_Review]:
        return [r for r in pr.reviews if r.state != "PENDING" or r.user is viewer]

    def _r_list_reviews(self, req: _Request, match: re.Match[str]) -> _Response:
        repo, pr = self._route_pull(req, match)
        items = [self._review_json(repo, pr, r) for r in self._visible_reviews(pr, req.user)]
        return self._paginate(req, items)

    def _r_get_review(self, req: _Request, match: re.Match[str]) -> _Response:
        repo, pr = self._route_pull(req, match)
        for review in self._visible_reviews(pr, req.user):
            if review.id == int(match["id"]):
                return _Response(200, self._review_json(repo, pr, review))
        raise _not_found()

    def _r_list_review_comments_of(self, req: _Request, match: re.Match[str]) -> _Response:
        repo, pr = self._route_pull(req, match)
        review_id = int(match["id"])
        if not any(r.id == review_id for r in self._visible_reviews(pr, req.user)):
            raise _not_found()
        items = [
            self._review_comment_json(repo, pr, c)
            for c in pr.review_comments
            if c.review_id == review_id
        ]
        return self._paginate(req, items)

    def _r_create_review(self, req: _Request, match: re.Match[str]) -> _Response:
        repo, pr = self._route_pull(req, match)
        body = req.body if isinstance(req.body, dict) else {}
        event = body.get("event")
        if event is None:
            state = "PENDING"
        elif event in _REVIEW_EVENTS:
            state = _REVIEW_EVENTS[event]
        else:
            raise _validation_failed(
                [{"resource": "PullRequestReview", "code": "invalid", "field": "event"}],
                DOCS_CREATE_REVIEW,
            )
        if req.user is pr.user and state == "APPROVED":
            raise GitHubAPIError(
                422,
                "Unprocessable Entity",
                ["Can not approve your own pull request"],
                DOCS_CREATE_REVIEW,
            )
        if req.user is pr.user and state == "CHANGES_REQUESTED":
            raise GitHubAPIError(
                422,
                "Unprocessable Entity",
                ["Can not request changes on your own pull request"],
                DOCS_CREATE_REVIEW,
            )
        if state == "PENDING" and any(
            r.state == "PENDING" and r.user is req.user for r in pr.reviews
        ):
            raise GitHubAPIError(
                422,
                "Unprocessable Entity",
                ["User can only have one pending review per pull request"],
                DOCS_CREATE_REVIEW,
            )
        comments = body.get("comments") or []
        if not isinstance(comments, list) or not all(isinstance(c, dict) for c in comments):
            raise _validation_failed(
                [{"resource": "PullRequestReview", "code": "invalid", "field": "comments"}],
                DOCS_CREATE_REVIEW,
            )
        review = self._add_review(
            repo, pr, req.user, body.get("body") or "", state, comments, body.get("commit_id")
        )
        return _Response(200, self._review_json(repo, pr, review))

    def _r_list_review_comments(self, req: _Request, match: re.Match[str]) -> _Response:
        repo, pr = self._route_pull(req, match)
        hidden = {r.id for r in pr.reviews if r.state == "PENDING" and r.user is not req.user}
        items = [
            self._review_comment_json(repo, pr, c)
            for c in pr.review_comments
            if c.review_id not in hidden
        ]
        return self._paginate(req, items)

    def _r_create_review_comment(self, req: _Request, match: re.Match[str]) -> _Response:
        repo, pr = self._route_pull(req, match)
        body = req.body if isinstance(req.body, dict) else {}
        comment = self._add_review_comment(repo, pr, req.user, body)
        data = self._review_comment_json(repo, pr, comment)
        return _Response(201, data, {"Location": data["url"]})

    def _r_reply_review_comment(self, req: _Request, match: re.Match[str]) -> _Response:
        repo, pr = self._route_pull(req, match)
        body = req.body if isinstance(req.body, dict) else {}
        spec = {"body": body.get("body"), "in_reply_to": int(match["id"])}
        comment = self._add_review_comment(repo, pr, req.user, spec)
        data = self._review_comment_json(repo, pr, comment)
        return _Response(201, data, {"Location": data["url"]})

    def _r_get_review_comment(self, req: _Request, match: re.Match[str]) -> _Response:
        repo = self._route_repo(req, match)
        wanted = int(match["id"])
        for pr in repo.pulls.values():
            for comment in pr.review_comments:
                if comment.id == wanted:
                    return _Response(200, self._review_comment_json(repo, pr, comment))
        raise _not_found()

    def _r_get_issue(self, req: _Request, match: re.Match[str]) -> _Response:
        repo, pr = self._route_pull(req, match)
        return _Response(200, self._issue_json(repo, pr))

    def _r_list_issue_comments(self, req: _Request, match: re.Match[str]) -> _Response:
        repo, pr = self._route_pull(req, match)
        items = [self._issue_comment_json(repo, pr, c) for c in pr.issue_comments]
        return self._paginate(req, items)

    def _r_create_issue_comment(self, req: _Request, match: re.Match[str]) -> _Response:
        repo, pr = self._route_pull(req, match)
        body = req.body if isinstance(req.body, dict) else {}
        text = body.get("body")
        if not isinstance(text, str) or not text:
            raise _validation_failed(
                [{"resource": "IssueComment", "code": "missing_field", "field": "body"}]
            )
        comment = self._add_issue_comment(pr, req.user, text)
        data = self._issue_comment_json(repo, pr, comment)
        return _Response(201, data, {"Location": data["url"]})

    def _r_get_issue_comment(self, req: _Request, match: re.Match[str]) -> _Response:
        repo = self._route_repo(req, match)
        wanted = int(match["id"])
        for pr in repo.pulls.values():
            for comment in pr.issue_comments:
                if comment.id == wanted:
                    return _Response(200, self._issue_comment_json(repo, pr, comment))
        raise _not_found()

    # ------------------------------------------------------------ domain logic

    def _find_user(self, login: str) -> _User:
        user = self._users.get(login.lower())
        if user is None:
            raise KeyError(f"unknown user {login!r}; add_user() it first")
        return user

    def _find_repo(self, owner: str, name: str) -> _Repo:
        repo = self._repos.get((owner.lower(), name.lower()))
        if repo is None:
            raise KeyError(f"unknown repository {owner}/{name}")
        return repo

    def _find_pull(self, repo: _Repo, number: int) -> _Pull:
        pr = repo.pulls.get(number)
        if pr is None:
            raise KeyError(f"{repo.full_name} has no pull request #{number}")
        return pr

    def _can_see(self, user: _User, repo: _Repo) -> bool:
        return not repo.private or user is repo.owner or user.login.lower() in repo.collaborators

    def _association(self, repo: _Repo, user: _User) -> str:
        if user is repo.owner:
            return "OWNER"
        if user.login.lower() in repo.collaborators:
            return "COLLABORATOR"
        return "NONE"

    def _branches(self, repo: _Repo) -> dict[str, str]:
        if repo.bare_path is None:
            return repo.branches
        cache = self._branch_cache
        if cache is not None and repo.id in cache:
            return cache[repo.id]
        branches = _Git(repo.bare_path).branches()
        if cache is not None:
            cache[repo.id] = branches
        return branches

    def _remove_branch(self, repo: _Repo, branch: str) -> None:
        if repo.bare_path is None:
            del repo.branches[branch]
        else:
            _Git(repo.bare_path).delete_branch(branch)
            if self._branch_cache is not None:
                self._branch_cache.pop(repo.id, None)

    def _move_branch(self, repo: _Repo, branch: str, new: str, old: str) -> None:
        if repo.bare_path is None:
            repo.branches[branch] = new
        else:
            _Git(repo.bare_path).update_branch(branch, new, old)
            if self._branch_cache is not None:
                self._branch_cache.pop(repo.id, None)

    def _same_git(self, a: _Repo, b: _Repo) -> _Git | None:
        if a.bare_path is not None and a.bare_path == b.bare_path:
            return _Git(a.bare_path)
        return None

    def _shas(self, repo: _Repo, pr: _Pull) -> tuple[str, str]:
        """(head sha, base sha): live while open, frozen once closed."""
        if pr.state != "open":
            return pr.head_sha, pr.base_sha
        head = self._branches(pr.head_repo).get(pr.head_ref, pr.head_sha)
        base = self._branches(repo).get(pr.base_ref, pr.base_sha)
        return head, base

    def _open_pull(
        self,
        repo: _Repo,
        user: _User,
        title: str,
        head: str,
        base: str,
        body: str | None,
        draft: bool,
        maintainer_can_modify: bool,
    ) -> _Pull:
        if not title:
            raise _validation_failed(
                [{"resource": "PullRequest", "code": "missing_field", "field": "title"}],
                DOCS_CREATE_PULL,
            )
        head_owner, _, head_ref = head.rpartition(":")
        head_repo: _Repo | None = repo
        if head_owner and head_owner.lower() != repo.owner.login.lower():
            head_repo = self._repos.get((head_owner.lower(), repo.name.lower()))
        head_sha = self._branches(head_repo).get(head_ref) if head_repo else None
        base_sha = self._branches(repo).get(base)
        errors: list[Any] = []
        if head_sha is None:
            errors.append({"resource": "PullRequest", "field": "head", "code": "invalid"})
        if base_sha is None:
            errors.append({"resource": "PullRequest", "field": "base", "code": "invalid"})
        if errors:
            raise _validation_failed(errors, DOCS_CREATE_PULL)
        assert head_repo is not None and head_sha is not None and base_sha is not None
        for other in repo.pulls.values():
            if (
                other.state == "open"
                and other.head_repo is head_repo
                and other.head_ref == head_ref
                and other.base_ref == base
            ):
                raise _validation_failed(
                    [
                        {
                            "resource": "PullRequest",
                            "code": "custom",
                            "message": f"A pull request already exists for "
                            f"{head_repo.owner.login}:{head_ref}.",
                        }
                    ],
                    DOCS_CREATE_PULL,
                )
        if self.reject_empty_pulls:
            git = self._same_git(repo, head_repo)
            empty = head_sha == base_sha or (
                git is not None and git.is_ancestor(head_sha, base_sha)
            )
            if empty:
                label = head_ref if head_repo is repo else f"{head_repo.owner.login}:{head_ref}"
                raise _validation_failed(
                    [
                        {
                            "resource": "PullRequest",
                            "code": "custom",
                            "message": f"No commits between {base} and {label}",
                        }
                    ],
                    DOCS_CREATE_PULL,
                )
        now = self.clock()
        pr = _Pull(
            number=repo.next_number,
            id=next(self._ids),
            seq=next(self._seq),
            title=title,
            body=body,
            user=user,
            head_repo=head_repo,
            head_ref=head_ref,
            head_sha=head_sha,
            base_ref=base,
            base_sha=base_sha,
            draft=draft,
            maintainer_can_modify=maintainer_can_modify,
            created_at=now,
            updated_at=now,
        )
        repo.next_number += 1
        repo.pulls[pr.number] = pr
        return pr

    def _set_state(self, repo: _Repo, pr: _Pull, state: str) -> None:
        if state == pr.state:
            return
        if state == "closed":
            pr.head_sha, pr.base_sha = self._shas(repo, pr)
            pr.state = "closed"
            pr.closed_at = pr.updated_at = self.clock()
            return
        if pr.merged_at is not None:
            raise _validation_failed(
                [
                    {
                        "resource": "PullRequest",
                        "code": "custom",
                        "field": "state",
                        "message": "state cannot be changed. The pull request has been merged.",
                    }
                ]
            )
        if pr.head_ref not in self._branches(pr.head_repo):
            raise _validation_failed(
                [
                    {
                        "resource": "PullRequest",
                        "code": "custom",
                        "field": "state",
                        "message": "state cannot be changed. The "
                        f"{pr.head_ref} branch has been deleted.",
                    }
                ]
            )
        for other in repo.pulls.values():
            if (
                other is not pr
                and other.state == "open"
                and other.head_repo is pr.head_repo
                and other.head_ref == pr.head_ref
                and other.base_ref == pr.base_ref
            ):
                raise _validation_failed(
                    [
                        {
                            "resource": "PullRequest",
                            "code": "custom",
                            "message": f"A pull request already exists for "
                            f"{pr.head_repo.owner.login}:{pr.head_ref}.",
                        }
                    ]
                )
        pr.state = "open"
        pr.closed_at = None
        pr.updated_at = self.clock()

    def _mergeable(self, repo: _Repo, pr: _Pull) -> bool | None:
        if pr.state != "open":
            return None
        if "mergeable" in pr.overrides:
            value = pr.overrides["mergeable"]
            return None if value is None else bool(value)
        git = self._same_git(repo, pr.head_repo)
        if git is None:
            return True
        head, base = self._shas(repo, pr)
        return git.merge_tree(base, head) is not None

    def _merge(
        self,
        repo: _Repo,
        pr: _Pull,
        user: _User,
        method: str,
        sha: str | None,
        commit_title: str | None,
        commit_message: str | None,
    ) -> str:
        if method not in ("merge", "squash", "rebase"):
            raise _validation_failed(
                [{"resource": "PullRequest", "code": "invalid", "field": "merge_method"}],
                DOCS_MERGE_PULL,
            )
        if pr.state != "open":
            raise GitHubAPIError(405, "Pull Request is not mergeable", None, DOCS_MERGE_PULL)
        head_sha, base_sha = self._shas(repo, pr)
        if sha and sha != head_sha:
            raise GitHubAPIError(
                409,
                "Head branch was modified. Review and try the merge again.",
                None,
                DOCS_MERGE_PULL,
            )
        if pr.draft:
            raise GitHubAPIError(405, "Pull Request is still a draft", None, DOCS_MERGE_PULL)
        if pr.overrides.get("mergeable", True) is False:
            raise GitHubAPIError(405, "Pull Request is not mergeable", None, DOCS_MERGE_PULL)
        if method == "squash":
            title = commit_title or f"{pr.title} (#{pr.number})"
        else:
            title = commit_title or (
                f"Merge pull request #{pr.number} from {pr.head_repo.owner.login}/{pr.head_ref}"
            )
        message = title + "\n\n" + (commit_message if commit_message is not None else pr.title)
        git = self._same_git(repo, pr.head_repo)
        if git is not None:
            env = {
                "GIT_AUTHOR_NAME": user.name or user.login,
                "GIT_AUTHOR_EMAIL": user.email
                or f"{user.id}+{user.login}@users.noreply.github.com",
                "GIT_COMMITTER_NAME": "GitHub",
                "GIT_COMMITTER_EMAIL": "noreply@github.com",
            }
            new: str | None
            if method == "rebase":
                new = git.rebase(base_sha, head_sha, env)
            else:
                tree = git.merge_tree(base_sha, head_sha)
                parents = [base_sha] if method == "squash" else [base_sha, head_sha]
                new = None if tree is None else git.commit_tree(tree, parents, message + "\n", env)
            if new is None:
                raise GitHubAPIError(405, "Pull Request is not mergeable", None, DOCS_MERGE_PULL)
            self._move_branch(repo, pr.base_ref, new, base_sha)
        else:
            new = _fake_sha("merge", repo.full_name, pr.number, head_sha, base_sha)
            if pr.base_ref in self._branches(repo):
                self._move_branch(repo, pr.base_ref, new, base_sha)
        now = self.clock()
        pr.head_sha, pr.base_sha = head_sha, base_sha
        pr.state = "closed"
        pr.merged_at = pr.closed_at = pr.updated_at = now
        pr.merged_by = user
        pr.merge_commit_sha = new
        return new

    def _add_review(
        self,
        repo: _Repo,
        pr: _Pull,
        user: _User,
        body: str,
        state: str,
        comments: list[Mapping[str, Any]],
        commit_id: str | None,
    ) -> _Review:
        head_sha, _ = self._shas(repo, pr)
        review = _Review(
            id=next(self._ids),
            user=user,
            body=body,
            state=state,
            submitted_at=None if state == "PENDING" else self.clock(),
            commit_id=commit_id or head_sha,
        )
        specs = []
        for spec in comments:
            spec = dict(spec)
            spec.setdefault("commit_id", review.commit_id)
            specs.append(spec)
        # validate every comment before storing anything
        built = [self._build_review_comment(repo, pr, user, spec, review.id) for spec in specs]
        pr.reviews.append(review)
        pr.review_comments.extend(built)
        pr.updated_at = self.clock()
        return review

    def _add_review_comment(
        self, repo: _Repo, pr: _Pull, user: _User, spec: Mapping[str, Any]
    ) -> _ReviewComment:
        comment = self._build_review_comment(repo, pr, user, spec, None)
        pr.review_comments.append(comment)
        pr.updated_at = self.clock()
        return comment

    def _build_review_comment(
        self,
        repo: _Repo,
        pr: _Pull,
        user: _User,
        spec: Mapping[str, Any],
        review_id: int | None,
    ) -> _ReviewComment:
        body = spec.get("body")
        if not isinstance(body, str) or not body:
            raise _validation_failed(
                [{"resource": "PullRequestReviewComment", "code": "missing_field", "field": "body"}]
            )
        now = self.clock()
        head_sha, _ = self._shas(repo, pr)
        reply_to = spec.get("in_reply_to")
        if reply_to is not None:
            parent = next((c for c in pr.review_comments if c.id == reply_to), None)
            if parent is None:
                raise _not_found()
            root = parent.in_reply_to_id or parent.id
            return _ReviewComment(
                id=next(self._ids),
                review_id=review_id,
                user=user,
                path=parent.path,
                line=parent.line,
                original_line=parent.original_line,
                side=parent.side,
                start_line=parent.start_line,
                start_side=parent.start_side,
                body=body,
                created_at=now,
                updated_at=now,
                commit_id=parent.commit_id,
                original_commit_id=parent.original_commit_id,
                diff_hunk=parent.diff_hunk,
                in_reply_to_id=root,
                subject_type=parent.subject_type,
            )
        path = spec.get("path")
        if not isinstance(path, str) or not path:
            raise _validation_failed(
                [{"resource": "PullRequestReviewComment", "code": "missing_field", "field": "path"}]
            )
        subject_type = spec.get("subject_type") or "line"
        line = _as_int(spec.get("line"), "line")
        if line is None:
            line = _as_int(spec.get("position"), "position")
        if line is None and subject_type != "file":
            raise GitHubAPIError(422, "Unprocessable Entity", ['"line" or "position" is required'])
        start_line = _as_int(spec.get("start_line"), "start_line")
        side = str(spec.get("side") or "RIGHT")
        first = start_line or line or 1
        count = (line or first) - first + 1
        diff_hunk = f"@@ -{first},{count} +{first},{count} @@"
        commit_id = str(spec.get("commit_id") or head_sha)
        return _ReviewComment(
            id=next(self._ids),
            review_id=review_id,
            user=user,
            path=path,
            line=line,
            original_line=line,
            side=side,
            start_line=start_line,
            start_side=spec.get("start_side") or (side if start_line else None),
            body=body,
            created_at=now,
            updated_at=now,
            commit_id=commit_id,
            original_commit_id=commit_id,
            diff_hunk=diff_hunk,
            in_reply_to_id=None,
            subject_type=subject_type,
        )

    def _add_issue_comment(self, pr: _Pull, user: _User, body: str) -> _IssueComment:
        now = self.clock()
        comment = _IssueComment(next(self._ids), user, body, now, now)
        pr.issue_comments.append(comment)
        pr.updated_at = now
        return comment

    # ------------------------------------------------------------ JSON rendering

    def _repo_api(self, repo: _Repo) -> str:
        return f"{self.base_url}/repos/{repo.owner.login}/{repo.name}"

    def _user_json(self, user: _User, *, full: bool = False) -> JSON:
        api = f"{self.base_url}/users/{user.login}"
        data: JSON = {
            "login": user.login,
            "id": user.id,
            "node_id": f"U_{user.id}",
            "avatar_url": f"https://avatars.githubusercontent.com/u/{user.id}?v=4",
            "gravatar_id": "",
            "url": api,
            "html_url": f"{self.html_base}/{user.login}",
            "repos_url": f"{api}/repos",
            "type": user.type,
            "site_admin": False,
        }
        if full:
            data.update(
                name=user.name,
                email=user.email,
                company=None,
                blog="",
                location=None,
                bio=None,
                public_repos=0,
                followers=0,
                following=0,
                created_at=_iso(user.created_at),
                updated_at=_iso(user.created_at),
            )
        return data

    def _repo_json(self, repo: _Repo, viewer: _User | None = None) -> JSON:
        api = self._repo_api(repo)
        host = urlsplit(repo.html_base).hostname or "github.com"
        data: JSON = {
            "id": repo.id,
            "node_id": f"R_{repo.id}",
            "name": repo.name,
            "full_name": repo.full_name,
            "private": repo.private,
            "visibility": "private" if repo.private else "public",
            "owner": self._user_json(repo.owner),
            "html_url": repo.html_url,
            "description": None,
            "fork": False,
            "url": api,
            "pulls_url": f"{api}/pulls{{/number}}",
            "issues_url": f"{api}/issues{{/number}}",
            "branches_url": f"{api}/branches{{/branch}}",
            "commits_url": f"{api}/commits{{/sha}}",
            "git_url": f"git://{host}/{repo.full_name}.git",
            "ssh_url": f"git@{host}:{repo.full_name}.git",
            "clone_url": repo.clone_url or f"{repo.html_url}.git",
            "default_branch": repo.default_branch,
            "archived": False,
            "disabled": False,
            "has_issues": True,
            "allow_merge_commit": True,
            "allow_squash_merge": True,
            "allow_rebase_merge": True,
            "created_at": _iso(repo.created_at),
            "updated_at": _iso(repo.created_at),
            "pushed_at": _iso(repo.created_at),
        }
        if viewer is not None:
            admin = viewer is repo.owner
            push = admin or viewer.login.lower() in repo.collaborators
            data["permissions"] = {
                "admin": admin,
                "maintain": admin,
                "push": push,
                "triage": push,
                "pull": True,
            }
        return data

    def _branch_json(self, repo: _Repo, branch: str, sha: str) -> JSON:
        api = self._repo_api(repo)
        return {
            "name": branch,
            "commit": {"sha": sha, "url": f"{api}/commits/{sha}"},
            "protected": False,
            "_links": {
                "self": f"{api}/branches/{quote(branch)}",
                "html": f"{repo.html_url}/tree/{branch}",
            },
            "protection_url": f"{api}/branches/{quote(branch)}/protection",
        }

    def _commit_json(self, repo: _Repo, rev: str) -> JSON | None:
        api = self._repo_api(repo)
        if repo.bare_path is None:
            sha = self._branches(repo).get(rev, rev)
            if sha not in self._branches(repo).values():
                return None
            info: JSON = {
                "sha": sha,
                "tree": _fake_sha("tree", sha),
                "parents": [],
                "author": {"name": "unknown", "email": "", "date": None},
                "committer": {"name": "unknown", "email": "", "date": None},
                "message": "",
            }
        else:
            found = _Git(repo.bare_path).commit_info(rev)
            if found is None:
                return None
            info = found
        sha = info["sha"]
        return {
            "sha": sha,
            "node_id": f"C_{sha}",
            "url": f"{api}/commits/{sha}",
            "html_url": f"{repo.html_url}/commit/{sha}",
            "commit": {
                "url": f"{api}/git/commits/{sha}",
                "author": info["author"],
                "committer": info["committer"],
                "message": info["message"],
                "tree": {"sha": info["tree"], "url": f"{api}/git/trees/{info['tree']}"},
                "comment_count": 0,
            },
            "author": None,
            "committer": None,
            "parents": [
                {"sha": p, "url": f"{api}/commits/{p}", "html_url": f"{repo.html_url}/commit/{p}"}
                for p in info["parents"]
            ],
        }

    def _pull_json(self, repo: _Repo, pr: _Pull, *, full: bool) -> JSON:
        api = self._repo_api(repo)
        n = pr.number
        url = f"{api}/pulls/{n}"
        html = f"{repo.html_url}/pull/{n}"
        head_sha, base_sha = self._shas(repo, pr)

        def part(part_repo: _Repo, ref: str, sha: str) -> JSON:
            return {
                "label": f"{part_repo.owner.login}:{ref}",
                "ref": ref,
                "sha": sha,
                "user": self._user_json(part_repo.owner),
                "repo": self._repo_json(part_repo),
            }

        data: JSON = {
            "url": url,
            "id": pr.id,
            "node_id": f"PR_{pr.id}",
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "issue_url": f"{api}/issues/{n}",
            "commits_url": f"{url}/commits",
            "review_comments_url": f"{url}/comments",
            "review_comment_url": f"{api}/pulls/comments{{/number}}",
            "comments_url": f"{api}/issues/{n}/comments",
            "statuses_url": f"{api}/statuses/{head_sha}",
            "number": n,
            "state": pr.state,
            "locked": False,
            "title": pr.title,
            "user": self._user_json(pr.user),
            "body": pr.body,
            "labels": [],
            "milestone": None,
            "active_lock_reason": None,
            "created_at": _iso(pr.created_at),
            "updated_at": _iso(pr.updated_at),
            "closed_at": _iso(pr.closed_at),
            "merged_at": _iso(pr.merged_at),
            "merge_commit_sha": pr.merge_commit_sha,
            "assignee": None,
            "assignees": [],
            "requested_reviewers": [],
            "requested_teams": [],
            "head": part(pr.head_repo, pr.head_ref, head_sha),
            "base": part(repo, pr.base_ref, base_sha),
            "_links": {
                "self": {"href": url},
                "html": {"href": html},
                "issue": {"href": f"{api}/issues/{n}"},
                "comments": {"href": f"{api}/issues/{n}/comments"},
                "review_comments": {"href": f"{url}/comments"},
                "review_comment": {"href": f"{api}/pulls/comments{{/number}}"},
                "commits": {"href": f"{url}/commits"},
                "statuses": {"href": f"{api}/statuses/{head_sha}"},
            },
            "author_association": self._association(repo, pr.user),
            "auto_merge": None,
            "draft": pr.draft,
        }
        if full:
            mergeable = self._mergeable(repo, pr)
            if pr.state != "open":
                mergeable_state = "unknown"
            elif pr.draft:
                mergeable_state = "draft"
            else:
                mergeable_state = "clean" if mergeable else "dirty"
            commits, additions, deletions, changed = 1, 0, 0, 0
            git = self._same_git(repo, pr.head_repo)
            if git is not None:
                commits = git.count_commits(base_sha, head_sha)
                additions, deletions, changed = git.numstat(base_sha, head_sha)
            data.update(
                merged=pr.merged_at is not None,
                mergeable=mergeable,
                rebaseable=mergeable,
                mergeable_state=mergeable_state,
                merged_by=self._user_json(pr.merged_by) if pr.merged_by else None,
                comments=len(pr.issue_comments),
                review_comments=len(pr.review_comments),
                maintainer_can_modify=pr.maintainer_can_modify,
                commits=commits,
                additions=additions,
                deletions=deletions,
                changed_files=changed,
            )
        for key, value in pr.overrides.items():
            if full or key in data:
                data[key] = value
        return data

    def _issue_json(self, repo: _Repo, pr: _Pull) -> JSON:
        api = self._repo_api(repo)
        n = pr.number
        html = f"{repo.html_url}/pull/{n}"
        return {
            "url": f"{api}/issues/{n}",
            "repository_url": api,
            "labels_url": f"{api}/issues/{n}/labels{{/name}}",
            "comments_url": f"{api}/issues/{n}/comments",
            "events_url": f"{api}/issues/{n}/events",
            "html_url": html,
            "id": pr.id + 500_000_000,
            "node_id": f"I_{pr.id}",
            "number": n,
            "title": pr.title,
            "user": self._user_json(pr.user),
            "labels": [],
            "state": pr.state,
            "state_reason": None,
            "locked": False,
            "assignee": None,
            "assignees": [],
            "milestone": None,
            "comments": len(pr.issue_comments),
            "created_at": _iso(pr.created_at),
            "updated_at": _iso(pr.updated_at),
            "closed_at": _iso(pr.closed_at),
            "author_association": self._association(repo, pr.user),
            "active_lock_reason": None,
            "draft": pr.draft,
            "pull_request": {
                "url": f"{api}/pulls/{n}",
                "html_url": html,
                "diff_url": f"{html}.diff",
                "patch_url": f"{html}.patch",
                "merged_at": _iso(pr.merged_at),
            },
            "body": pr.body,
            "closed_by": self._user_json(pr.merged_by) if pr.merged_by else None,
        }

    def _review_json(self, repo: _Repo, pr: _Pull, review: _Review) -> JSON:
        url = f"{self._repo_api(repo)}/pulls/{pr.number}"
        html = f"{repo.html_url}/pull/{pr.number}#pullrequestreview-{review.id}"
        data: JSON = {
            "id": review.id,
            "node_id": f"PRR_{review.id}",
            "user": self._user_json(review.user),
            "body": review.body,
            "state": review.state,
            "html_url": html,
            "pull_request_url": url,
            "author_association": self._association(repo, review.user),
            "_links": {"html": {"href": html}, "pull_request": {"href": url}},
            "commit_id": review.commit_id,
        }
        if review.submitted_at is not None:
            data["submitted_at"] = _iso(review.submitted_at)
        return data

    def _review_comment_json(self, repo: _Repo, pr: _Pull, c: _ReviewComment) -> JSON:
        api = self._repo_api(repo)
        url = f"{api}/pulls/comments/{c.id}"
        html = f"{repo.html_url}/pull/{pr.number}#discussion_r{c.id}"
        pull_url = f"{api}/pulls/{pr.number}"
        data: JSON = {
            "url": url,
            "pull_request_review_id": c.review_id,
            "id": c.id,
            "node_id": f"PRRC_{c.id}",
            "diff_hunk": c.diff_hunk,
            "path": c.path,
            "position": c.line,
            "original_position": c.original_line,
            "commit_id": c.commit_id,
            "original_commit_id": c.original_commit_id,
            "user": self._user_json(c.user),
            "body": c.body,
            "created_at": _iso(c.created_at),
            "updated_at": _iso(c.updated_at),
            "html_url": html,
            "pull_request_url": pull_url,
            "author_association": self._association(repo, c.user),
            "_links": {
                "self": {"href": url},
                "html": {"href": html},
                "pull_request": {"href": pull_url},
            },
            "start_line": c.start_line,
            "original_start_line": c.start_line,
            "start_side": c.start_side,
            "line": c.line,
            "original_line": c.original_line,
            "side": c.side,
            "subject_type": c.subject_type,
        }
        if c.in_reply_to_id is not None:
            data["in_reply_to_id"] = c.in_reply_to_id
        return data

    def _issue_comment_json(self, repo: _Repo, pr: _Pull, c: _IssueComment) -> JSON:
        api = self._repo_api(repo)
        return {
            "id": c.id,
            "node_id": f"IC_{c.id}",
            "url": f"{api}/issues/comments/{c.id}",
            "html_url": f"{repo.html_url}/pull/{pr.number}#issuecomment-{c.id}",
            "issue_url": f"{api}/issues/{pr.number}",
            "body": c.body,
            "user": self._user_json(c.user),
            "created_at": _iso(c.created_at),
            "updated_at": _iso(c.updated_at),
            "author_association": self._association(repo, c.user),
        }
