"""GitHub repository and pull-request URLs in all the forms people paste."""

from __future__ import annotations

import re
from dataclasses import dataclass

from gittask.errors import UsageError


@dataclass(frozen=True)
class RepoRef:
    owner: str
    name: str
    host: str = "github.com"

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def same_repo(self, other: RepoRef) -> bool:
        return self.full_name.lower() == other.full_name.lower()


@dataclass(frozen=True)
class PullRef:
    repo: RepoRef
    number: int


_SCP = re.compile(r"^(?:[\w.-]+@)?(?P<host>[\w.-]+):(?P<path>[^/].*)$")
_URL = re.compile(
    r"^(?P<scheme>[a-z][a-z0-9+.-]*)://(?:[^@/]+@)?(?P<host>[^/:]+)(?::\d+)?/(?P<path>.+)$"
)


def apply_instead_of(url: str, rewrites: dict[str, str]) -> str:
    """git's ``url.<base>.insteadOf``: the longest matching prefix wins."""
    best = ""
    for prefix in rewrites:
        if url.startswith(prefix) and len(prefix) > len(best):
            best = prefix
    return rewrites[best] + url[len(best) :] if best else url


def parse_remote_url(url: str) -> RepoRef | None:
    """owner/name from an https, ssh or scp-style remote URL; None if not a forge URL."""
    url = url.strip()
    match = _URL.match(url)
    if match:
        host, path = match["host"], match["path"]
        if match["scheme"] == "file":
            return None
    else:
        scp = _SCP.match(url)
        if not scp or "/" in scp["host"]:
            return None
        host, path = scp["host"], scp["path"]
    parts = [p for p in path.split("/") if p]
    if len(parts) < 2:
        return None
    owner, name = parts[-2], parts[-1]
    name = name.removesuffix(".git")
    if not owner or not name:
        return None
    return RepoRef(owner=owner, name=name, host=host.lower())


_PR_URL = re.compile(
    r"^https?://(?P<host>[^/]+)/(?P<owner>[\w.-]+)/(?P<name>[\w.-]+)/pull/(?P<number>\d+)"
    r"(?:/(?:files|commits|checks)(?:/[\w.-]*)?)?/?(?:[?#].*)?$"
)
_PR_SHORT = re.compile(r"^(?P<owner>[\w.-]+)/(?P<name>[\w.-]+)#(?P<number>\d+)$")


def parse_pull_ref(text: str) -> PullRef | None:
    """A PR from a URL (with /files, /commits, #discussion... suffixes) or OWNER/REPO#N."""
    text = text.strip()
    match = _PR_URL.match(text) or _PR_SHORT.match(text)
    if not match:
        return None
    groups = match.groupdict()
    host = (groups.get("host") or "github.com").lower()
    repo = RepoRef(owner=groups["owner"], name=groups["name"].removesuffix(".git"), host=host)
    return PullRef(repo=repo, number=int(groups["number"]))


def looks_like_pull_ref(text: str) -> bool:
    return "/pull/" in text or bool(_PR_SHORT.match(text.strip()))


def require_pull_ref(text: str) -> PullRef:
    ref = parse_pull_ref(text)
    if ref is None:
        raise UsageError(
            f"not a pull request reference: '{text}'",
            "use https://github.com/OWNER/REPO/pull/N or OWNER/REPO#N",
        )
    return ref
