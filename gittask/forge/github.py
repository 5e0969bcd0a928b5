"""Pull requests on GitHub (and GitHub Enterprise) through PyGithub.

Only this module talks to GitHub. Every failure becomes a one-line
``ForgeError``; safe requests (GET) are retried on 5xx, and creating a pull
request adopts one that already exists for the branch instead of duplicating it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from gittask.errors import GittaskError
from gittask.forge.sanitize import clean_untrusted
from gittask.forge.urls import RepoRef

if TYPE_CHECKING:
    from github.PullRequest import PullRequest
    from github.Repository import Repository

MARKER = "claude-container-task"
_MARKER_RE = re.compile(r"<!--\s*" + MARKER + r":\s*([0-9a-f]{32})\s*-->")
DEFAULT_API = "https://api.github.com"


class ForgeError(GittaskError):
    pass


def task_marker(task_id: str) -> str:
    return f"<!-- {MARKER}: {task_id} -->"


def marker_task_id(body: str | None) -> str | None:
    match = _MARKER_RE.search(body or "")
    return match.group(1) if match else None


def api_url_for(repo: RepoRef, configured: str | None, env_url: str | None) -> str:
    if configured:
        return configured.rstrip("/")
    if env_url:
        return env_url.rstrip("/")
    if repo.host in ("github.com", "www.github.com"):
        return DEFAULT_API
    return f"https://{repo.host}/api/v3"  # GitHub Enterprise Server


@dataclass(frozen=True)
class PullInfo:
    number: int
    url: str
    state: str  # open | closed
    merged: bool
    head_branch: str
    body: str
    draft: bool

    @property
    def status(self) -> str:
        return "merged" if self.merged else self.state


@dataclass(frozen=True)
class ReviewItem:
    kind: str  # review | comment
    author: str
    text: str
    created_at: datetime | None
    path: str | None = None
    line: int | None = None
    key: str = ""  # "review:<id>" or "comment:<id>": what a later call leaves out

    def render(self) -> str:
        where = f"{self.path}:{self.line}" if self.path and self.line else (self.path or "")
        head = f"[{self.kind}] {self.author}" + (f" on {where}" if where else "")
        return head + ":\n" + "\n".join("  " + x for x in self.text.splitlines())


def _describe(exc: Exception, repo: RepoRef, api_url: str) -> ForgeError:
    from github import BadCredentialsException, GithubException, UnknownObjectException

    if isinstance(exc, BadCredentialsException) or getattr(exc, "status", None) == 401:
        return ForgeError(
            f"GitHub rejected the token for {repo.full_name} (401 Bad credentials)",
            "set GH_TOKEN to a valid token",
        )
    if isinstance(exc, UnknownObjectException) or getattr(exc, "status", None) == 404:
        return ForgeError(
            f"{repo.full_name} or the pull request was not found on {api_url} (404)",
            "check the repository name (config github_repo) and the token's access",
        )
    if isinstance(exc, GithubException):
        data = exc.data if isinstance(exc.data, dict) else {}
        message = str(data.get("message") or exc)
        details = "; ".join(
            str(e.get("message") or e.get("code"))
            for e in data.get("errors") or []
            if isinstance(e, dict)
        )
        if exc.status == 403:
            return ForgeError(
                f"GitHub refused the request (403): {message}", "check the token's scopes"
            )
        text = f"GitHub answered {exc.status}: {message}" + (f" ({details})" if details else "")
        return ForgeError(text)
    return ForgeError(f"cannot reach GitHub at {api_url}: {' '.join(str(exc).split())[:200]}")


class GitHubForge:
    def __init__(
        self,
        repo: RepoRef,
        token: str,
        api_url: str,
        timeout: int = 20,
        head_owner: str | None = None,
    ) -> None:
        from github import Auth, Github
        from urllib3.util.retry import Retry

        self.repo_ref = repo
        self.api_url = api_url
        # whose branches the pull requests come from: a fork's owner, else the repo's
        self.head_owner = head_owner or repo.owner
        retry = Retry(
            total=3,
            backoff_factor=0.2,
            status_forcelist=(500, 502, 503, 504),
            allowed_methods=frozenset({"GET", "HEAD"}),  # only safe requests
            raise_on_status=False,
        )
        self._gh = Github(auth=Auth.Token(token), base_url=api_url, timeout=timeout, retry=retry)
        self._repo: Repository | None = None

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        import requests
        from github import GithubException

        try:
            return fn(*args, **kwargs)
        except (GithubException, requests.RequestException) as exc:
            raise _describe(exc, self.repo_ref, self.api_url) from None

    @property
    def repo(self) -> Repository:
        if self._repo is None:
            self._repo = self._call(self._gh.get_repo, self.repo_ref.full_name)
        assert self._repo is not None
        return self._repo

    @staticmethod
    def _info(pr: PullRequest) -> PullInfo:
        return PullInfo(
            number=pr.number,
            url=pr.html_url,
            state=pr.state,
            # merged_at is in every payload; `merged` is not in a list's (PyGithub
            # would fetch each pull again, outside the error handling)
            merged=pr.merged_at is not None,
            head_branch=pr.head.ref,
            body=pr.body or "",
            draft=bool(pr.draft),
        )

    def find_open_pull(self, branch: str) -> PullInfo | None:
        head = f"{self.head_owner}:{branch}"
        pulls = self._call(self.repo.get_pulls, state="open", head=head)
        for pr in self._call(list, pulls):
            if pr.head.ref == branch:
                return self._info(pr)
        return None

    def open_pull(
        self, title: str, body: str, branch: str, base: str, draft: bool
    ) -> tuple[PullInfo, bool]:
        """Open a PR, or adopt the open one for ``branch``. Returns (info, created)."""
        from github import GithubException

        existing = self.find_open_pull(branch)
        if existing is not None:
            return existing, False
        same = self.head_owner == self.repo_ref.owner
        head = branch if same else f"{self.head_owner}:{branch}"
        for attempt in range(2):
            try:
                pr = self.repo.create_pull(
                    base=base, head=head, title=title, body=body, draft=draft
                )
                return self._info(pr), True
            except GithubException as exc:
                # created by someone else meanwhile, or a 5xx after the PR was made
                adopted = self.find_open_pull(branch)
                if adopted is not None:
                    return adopted, False
                if exc.status >= 500 and attempt == 0:
                    continue
                raise _describe(exc, self.repo_ref, self.api_url) from None
            except Exception as exc:
                import requests

                if isinstance(exc, requests.RequestException):
                    raise _describe(exc, self.repo_ref, self.api_url) from None
                raise
        raise AssertionError("unreachable")

    def default_branch(self) -> str:
        return str(self.repo.default_branch)

    def get_pull(self, number: int) -> PullInfo:
        return self._info(self._call(self.repo.get_pull, number))

    def close_pull(self, number: int) -> None:
        pr = self._call(self.repo.get_pull, number)
        if pr.state != "closed":
            self._call(pr.edit, state="closed")

    def comment(self, number: int, body: str) -> None:
        pr = self._call(self.repo.get_pull, number)
        self._call(pr.create_issue_comment, body)

    def review_feedback(
        self, number: int, since: datetime | None, seen: frozenset[str] = frozenset()
    ) -> list[ReviewItem]:
        """Review bodies and review comments from ``since`` on, oldest first.

        GitHub's times have whole seconds: an item of the same second as ``since``
        is kept unless its key is in ``seen`` (taken by an earlier call).
        """
        floor = since.replace(microsecond=0) if since is not None else None

        def new(key: str, when: datetime | None) -> bool:
            if key in seen:
                return False
            return floor is None or (when is not None and when >= floor)

        pr = self._call(self.repo.get_pull, number)
        items: list[ReviewItem] = []
        for review in self._call(list, pr.get_reviews()):
            text = clean_untrusted(review.body or "")
            key = f"review:{review.id}"
            if text and new(key, review.submitted_at):
                author = review.user.login if review.user else "unknown"
                items.append(ReviewItem("review", author, text, review.submitted_at, key=key))
        for comment in self._call(list, pr.get_review_comments()):
            text = clean_untrusted(comment.body or "")
            key = f"comment:{comment.id}"
            if text and new(key, comment.created_at):
                author = comment.user.login if comment.user else "unknown"
                line = comment.line or comment.original_line
                items.append(
                    ReviewItem("comment", author, text, comment.created_at, comment.path, line, key)
                )
        items.sort(key=lambda i: (i.created_at is None, i.created_at))
        return items
