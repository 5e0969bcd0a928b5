"""PyGithub against the fake GitHub server (no mocking: real HTTP on 127.0.0.1)."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import github
import pytest
from github.GithubException import (
    BadCredentialsException,
    GithubException,
    UnknownObjectException,
)

from tests.fake_github.fixture import github_client, github_server  # noqa: F401
from tests.fake_github.server import FakeGitHub

OWNER, NAME = "alice", "proj"
ALICE, BOB = "alice-token", "bob-token"

GIT_ENV = {
    **os.environ,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}


def git(*args: str, cwd: Path | None = None, input: str | None = None) -> str:
    proc = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env=GIT_ENV,
        input=input,
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout.strip()


def commit_file(bare: Path, branch: str, path: str, content: str, message: str) -> str:
    """Commit one file on top of ``branch`` in a bare repo.

    A missing branch starts from main (or as a root commit when main is missing too).
    """
    gd = f"--git-dir={bare}"
    parent = ""
    for ref in (f"refs/heads/{branch}", "refs/heads/main"):
        parent = subprocess.run(
            ["git", gd, "rev-parse", "--verify", "-q", ref],
            env=GIT_ENV,
            capture_output=True,
            text=True,
        ).stdout.strip()
        if parent:
            break
    entries = ""
    if parent:
        entries = "\n".join(
            line for line in git(gd, "ls-tree", parent).splitlines() if not line.endswith(path)
        )
    blob = git(gd, "hash-object", "-w", "--stdin", input=content)
    tree = git(gd, "mktree", input=f"{entries}\n100644 blob {blob}\t{path}\n".lstrip("\n"))
    args = [gd, "commit-tree", tree, "-m", message] + (["-p", parent] if parent else [])
    sha = git(*args)
    git(gd, "update-ref", f"refs/heads/{branch}", sha)
    return sha


@dataclass
class World:
    server: FakeGitHub
    bare: Path
    alice: github.Github
    bob: github.Github

    def repo(self, gh: github.Github | None = None) -> github.Repository.Repository:
        return (gh or self.alice).get_repo(f"{OWNER}/{NAME}")


@pytest.fixture
def world(github_server: FakeGitHub, tmp_path: Path) -> Iterator[World]:  # noqa: F811
    bare = tmp_path / "proj.git"
    git("init", "--bare", "-q", "--initial-branch=main", str(bare))
    commit_file(bare, "main", "README.md", "hello\n", "initial")
    commit_file(bare, "feature", "feature.txt", "feature\n", "add feature")
    github_server.add_user(BOB.removesuffix("-token"), name="Bob Reviewer")
    github_server.add_token(ALICE, "alice")
    github_server.add_token(BOB, "bob")
    github_server.create_repo(OWNER, NAME, bare_path=bare)
    alice = github_client(github_server, ALICE)
    bob = github_client(github_server, BOB)
    yield World(github_server, bare, alice, bob)
    alice.close()
    bob.close()


def test_binds_loopback_only(github_server: FakeGitHub) -> None:  # noqa: F811
    host, port = github_server.server_address
    assert host == "127.0.0.1"
    assert port > 0
    assert github_server.base_url == f"http://127.0.0.1:{port}/api/v3"


def test_create_pull_and_read_back(world: World) -> None:
    repo = world.repo()
    assert repo.default_branch == "main"
    feature_sha = git(f"--git-dir={world.bare}", "rev-parse", "feature")

    pr = repo.create_pull(title="Add feature", body="Details", head="feature", base="main")

    assert pr.number == 1
    assert pr.html_url == "https://github.com/alice/proj/pull/1"
    assert pr.head.ref == "feature"
    assert pr.head.sha == feature_sha
    assert pr.head.label == "alice:feature"
    assert pr.base.ref == "main"
    assert pr.user.login == "alice"
    assert pr.draft is False

    again = world.repo(world.bob).get_pull(1)
    assert again.title == "Add feature"
    assert again.body == "Details"
    assert again.state == "open"
    assert again.merged is False
    assert again.mergeable is True
    assert again.commits == 1
    assert again.changed_files == 1
    assert again.created_at.tzinfo is not None
    assert again.head.repo.full_name == "alice/proj"
    assert world.server.pulls(OWNER, NAME)[0]["head"]["sha"] == feature_sha


def test_pushed_branch_is_seen_live(world: World, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git("clone", "-q", str(world.bare), str(clone))
    git("checkout", "-q", "-b", "task/fix-1", cwd=clone)
    (clone / "fix.txt").write_text("fix\n")
    git("add", "fix.txt", cwd=clone)
    git("commit", "-q", "-m", "fix", cwd=clone)
    git("push", "-q", "origin", "task/fix-1", cwd=clone)
    head = git("rev-parse", "HEAD", cwd=clone)

    repo = world.repo()
    assert repo.get_branch("task/fix-1").commit.sha == head
    pr = repo.create_pull(title="Fix", body="", head="task/fix-1", base="main")
    assert pr.head.sha == head

    # a later push moves the open PR's head
    (clone / "fix.txt").write_text("fix, take 2\n")
    git("commit", "-q", "-am", "fix again", cwd=clone)
    git("push", "-q", "origin", "task/fix-1", cwd=clone)
    assert repo.get_pull(pr.number).head.sha == git("rev-parse", "HEAD", cwd=clone)
    assert repo.get_pull(pr.number).commits == 2


def test_list_pulls_with_head_filter(world: World) -> None:
    commit_file(world.bare, "other", "other.txt", "x\n", "other")
    repo = world.repo()
    repo.create_pull(title="one", body="", head="feature", base="main")
    repo.create_pull(title="two", body="", head="other", base="main")

    assert [p.title for p in repo.get_pulls(head="alice:feature")] == ["one"]
    assert [p.title for p in repo.get_pulls(head="alice:other", base="main")] == ["two"]
    assert list(repo.get_pulls(head="alice:missing")) == []
    assert list(repo.get_pulls(head="alice:feature", base="dev")) == []
    # like GitHub, a head filter without "owner:" is ignored; default order is newest first
    assert [p.title for p in repo.get_pulls(head="feature")] == ["two", "one"]

    world.server.close_pull(OWNER, NAME, 1)
    assert [p.number for p in repo.get_pulls()] == [2]
    assert [p.number for p in repo.get_pulls(state="closed")] == [1]
    assert [p.number for p in repo.get_pulls(state="all", direction="asc")] == [1, 2]


def test_duplicate_pull_is_422(world: World) -> None:
    repo = world.repo()
    repo.create_pull(title="first", body="", head="feature", base="main")
    with pytest.raises(GithubException) as info:
        repo.create_pull(title="second", body="", head="alice:feature", base="main")
    assert info.value.status == 422
    assert info.value.data["message"] == "Validation Failed"
    assert info.value.data["errors"][0]["message"] == (
        "A pull request already exists for alice:feature."
    )


def test_create_pull_validation(world: World) -> None:
    repo = world.repo()
    with pytest.raises(GithubException) as info:
        repo.create_pull(title="nope", body="", head="no-such-branch", base="main")
    assert info.value.status == 422
    assert info.value.data["errors"] == [
        {"resource": "PullRequest", "field": "head", "code": "invalid"}
    ]

    # a branch with nothing new is rejected, as on GitHub
    main_sha = git(f"--git-dir={world.bare}", "rev-parse", "main")
    git(f"--git-dir={world.bare}", "update-ref", "refs/heads/same", main_sha)
    with pytest.raises(GithubException) as info:
        repo.create_pull(title="empty", body="", head="same", base="main")
    assert info.value.data["errors"][0]["message"] == "No commits between main and same"


def test_bad_token_is_401(world: World) -> None:
    gh = github_client(world.server, "wrong-token")
    with pytest.raises(BadCredentialsException) as info:
        _ = gh.get_user().login
    assert info.value.status == 401
    assert info.value.data["message"] == "Bad credentials"
    assert "documentation_url" in info.value.data
    gh.close()

    request = urllib.request.Request(f"{world.server.base_url}/user")  # no token at all
    with pytest.raises(urllib.error.HTTPError) as http_info:
        urllib.request.urlopen(request, timeout=5)
    assert http_info.value.code == 401


def test_unknown_repo_and_pull_are_404(world: World) -> None:
    with pytest.raises(UnknownObjectException) as info:
        world.alice.get_repo("nobody/nothing")
    assert info.value.status == 404
    assert info.value.data["message"] == "Not Found"
    with pytest.raises(UnknownObjectException):
        world.repo().get_pull(99)


def test_reviews_and_review_comments_round_trip(world: World) -> None:
    pr = world.repo().create_pull(title="Add feature", body="", head="feature", base="main")
    world.server.add_review(
        OWNER,
        NAME,
        pr.number,
        "bob",
        body="Needs work",
        state="CHANGES_REQUESTED",
        comments=[{"path": "feature.txt", "line": 1, "body": "typo here"}],
    )

    bob_pr = world.repo(world.bob).get_pull(pr.number)
    bob_pr.create_review(
        body="Looks good now",
        event="APPROVE",
        comments=[{"path": "feature.txt", "line": 1, "body": "nit"}],
    )
    head = bob_pr.head.sha
    single = bob_pr.create_review_comment("one more", head, "feature.txt", line=1)
    reply = pr.create_review_comment_reply(single.id, "done")
    assert reply.in_reply_to_id == single.id

    reviews = list(pr.get_reviews())
    assert [(r.user.login, r.state, r.body) for r in reviews] == [
        ("bob", "CHANGES_REQUESTED", "Needs work"),
        ("bob", "APPROVED", "Looks good now"),
    ]
    assert reviews[0].commit_id == head
    assert reviews[0].submitted_at is not None

    comments = list(pr.get_review_comments())
    assert [(c.user.login, c.path, c.line, c.body) for c in comments] == [
        ("bob", "feature.txt", 1, "typo here"),
        ("bob", "feature.txt", 1, "nit"),
        ("bob", "feature.txt", 1, "one more"),
        ("alice", "feature.txt", 1, "done"),
    ]
    assert comments[0].pull_request_review_id == reviews[0].id
    assert comments[0].original_line == 1
    assert comments[0].commit_id == head
    assert comments[0].diff_hunk.startswith("@@")
    assert comments[3].in_reply_to_id == single.id
    assert comments[0].html_url.startswith("https://github.com/alice/proj/pull/1#discussion_r")
    assert pr.get_review_comment(single.id).body == "one more"

    # GitHub refuses approving one's own pull request
    with pytest.raises(GithubException) as info:
        pr.create_review(body="self", event="APPROVE")
    assert info.value.status == 422
    assert info.value.data["errors"] == ["Can not approve your own pull request"]


def test_issue_comments(world: World) -> None:
    pr = world.repo().create_pull(title="Add feature", body="", head="feature", base="main")
    created = pr.create_issue_comment("Status: working on it")
    assert created.user.login == "alice"
    assert created.html_url.endswith(f"/pull/1#issuecomment-{created.id}")
    world.server.add_issue_comment(OWNER, NAME, 1, "bob", "Thanks!")

    comments = list(world.repo(world.bob).get_pull(1).get_issue_comments())
    assert [(c.user.login, c.body) for c in comments] == [
        ("alice", "Status: working on it"),
        ("bob", "Thanks!"),
    ]
    assert world.server.issue_comments(OWNER, NAME, 1)[0]["body"] == "Status: working on it"
    issue = pr.as_issue()
    assert issue.comments == 2
    assert issue.pull_request is not None
    assert world.server.pull(OWNER, NAME, 1)["comments"] == 2


def test_pagination_follows_link_header(world: World) -> None:
    server = world.server
    server.create_repo("bob", "many")
    for i in range(35):
        server.set_branch("bob", "many", f"b{i}")
        server.create_pull("bob", "many", login="bob", title=f"PR {i}", head=f"b{i}", base="main")
    server.clear_log()

    pulls = list(world.alice.get_repo("bob/many").get_pulls(direction="asc"))

    assert [p.number for p in pulls] == list(range(1, 36))
    paths = [path for method, path, status in server.request_log if method == "GET"]
    assert paths.count("/repos/bob/many/pulls") == 2
    pages = [r.query.get("page") for r in server.requests if r.path == "/repos/bob/many/pulls"]
    assert pages == [None, "2"]

    request = urllib.request.Request(
        f"{server.base_url}/repos/bob/many/pulls?per_page=10&state=all",
        headers={"Authorization": f"token {ALICE}"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        link = response.headers["Link"]
        assert response.headers["Content-Type"] == "application/json; charset=utf-8"
        assert response.headers["X-RateLimit-Remaining"]
        assert len(json.load(response)) == 10
    base = f"{server.base_url}/repos/bob/many/pulls?"
    assert f'<{base}per_page=10&state=all&page=2>; rel="next"' in link
    assert f'<{base}per_page=10&state=all&page=4>; rel="last"' in link
    assert world.alice.get_repo("bob/many").get_pulls(state="all").totalCount == 35


def test_fail_next_then_success_is_logged(world: World) -> None:
    server = world.server
    world.repo().create_pull(title="Add feature", body="", head="feature", base="main")
    server.clear_log()

    # PyGithub's default GithubRetry retries a 5xx transparently
    server.fail_next("GET", r"^/repos/alice/proj/pulls/1$", status=500)
    assert world.repo().get_pull(1).title == "Add feature"
    assert server.request_log == [
        ("GET", "/repos/alice/proj", 200),
        ("GET", "/repos/alice/proj/pulls/1", 500),
        ("GET", "/repos/alice/proj/pulls/1", 200),
    ]

    # without retries the error surfaces, and the next request succeeds
    no_retry = github_client(server, ALICE, retry=None)
    repo = no_retry.get_repo("alice/proj")
    server.fail_next("POST", r"/issues/1/comments$", status=502, count=1)
    with pytest.raises(GithubException) as info:
        repo.get_pull(1).create_issue_comment("hi")
    assert info.value.status == 502
    repo.get_pull(1).create_issue_comment("hi")
    assert [s for m, p, s in server.request_log if m == "POST"] == [502, 201]
    assert len(server.issue_comments(OWNER, NAME, 1)) == 1
    no_retry.close()


def test_merge_sets_merged_and_closed(world: World) -> None:
    repo = world.repo()
    pr = repo.create_pull(title="Add feature", body="", head="feature", base="main")
    old_main = git(f"--git-dir={world.bare}", "rev-parse", "main")
    feature = git(f"--git-dir={world.bare}", "rev-parse", "feature")

    status = pr.merge(merge_method="merge")

    assert status.merged is True
    after = repo.get_pull(pr.number)
    assert after.merged is True
    assert after.state == "closed"
    assert after.merged_by.login == "alice"
    assert after.merged_at is not None
    assert after.is_merged()
    # a real merge commit landed on main in the bare repo
    new_main = git(f"--git-dir={world.bare}", "rev-parse", "main")
    assert new_main == status.sha == after.merge_commit_sha
    parents = git(f"--git-dir={world.bare}", "rev-list", "--parents", "-n1", "main").split()[1:]
    assert parents == [old_main, feature]
    assert list(repo.get_pulls()) == []

    with pytest.raises(GithubException) as info:
        pr.merge()
    assert info.value.status == 405


def test_admin_merge_and_close(world: World) -> None:
    server = world.server
    commit_file(world.bare, "other", "other.txt", "x\n", "other")
    world.repo().create_pull(title="one", body="", head="feature", base="main")
    world.repo().create_pull(title="two", body="", head="other", base="main")

    merged = server.merge_pull(OWNER, NAME, 1, "bob", method="squash")
    closed = server.close_pull(OWNER, NAME, 2)

    assert (merged["state"], merged["merged"], merged["merged_by"]["login"]) == (
        "closed",
        True,
        "bob",
    )
    assert (closed["state"], closed["merged"]) == ("closed", False)
    assert world.repo().get_pull(2).state == "closed"
    # a squash merge has a single parent
    parents = git(f"--git-dir={world.bare}", "rev-list", "--parents", "-n1", "main").split()
    assert len(parents) == 2


def test_rebase_merge_and_conflicts(world: World) -> None:
    server = world.server
    gd = f"--git-dir={world.bare}"
    commit_file(world.bare, "feature", "more.txt", "more\n", "second feature commit")
    commit_file(world.bare, "clash", "README.md", "theirs\n", "clash")
    commit_file(world.bare, "main", "README.md", "ours\n", "main moves on")
    repo = world.repo()
    repo.create_pull(title="feature", body="", head="feature", base="main")
    clash = repo.create_pull(title="clash", body="", head="clash", base="main")

    assert repo.get_pull(clash.number).mergeable is False
    assert repo.get_pull(clash.number).mergeable_state == "dirty"
    with pytest.raises(GithubException) as info:
        clash.merge()
    assert info.value.status == 405
    with pytest.raises(GithubException) as info:
        repo.get_pull(1).merge(sha="0" * 40)
    assert info.value.status == 409

    server.merge_pull(OWNER, NAME, 1, method="rebase")

    log = git(gd, "log", "--format=%s|%cn", "main").splitlines()
    assert log[:3] == [
        "second feature commit|GitHub",
        "add feature|GitHub",
        "main moves on|Test",
    ]


def test_edit_pull(world: World) -> None:
    pr = world.repo().create_pull(title="WIP", body="", head="feature", base="main", draft=True)
    assert pr.draft is True
    pr.edit(title="Done", body="All good")
    assert world.repo().get_pull(1).title == "Done"
    pr.edit(state="closed")
    assert world.server.pull(OWNER, NAME, 1)["state"] == "closed"
    pr.edit(state="open")
    assert world.repo().get_pull(1).state == "open"


def test_root_url_without_prefix(world: World) -> None:
    gh = github.Github(
        auth=github.Auth.Token(ALICE),
        base_url=world.server.root_url,
        seconds_between_requests=0,
        seconds_between_writes=0,
    )
    assert gh.get_user().login == "alice"
    assert gh.get_repo("alice/proj").full_name == "alice/proj"
    gh.close()


def test_etag_conditional_update(world: World) -> None:
    pr = world.repo().create_pull(title="Add feature", body="", head="feature", base="main")
    fresh = world.repo().get_pull(pr.number)
    assert fresh.update() is False  # 304 Not Modified
    world.server.add_issue_comment(OWNER, NAME, pr.number, "bob", "ping")
    assert fresh.update() is True
    assert fresh.comments == 1


def test_concurrent_comments_are_consistent(world: World) -> None:
    world.repo().create_pull(title="Add feature", body="", head="feature", base="main")
    server = world.server

    def post(i: int) -> None:
        gh = github_client(server, ALICE if i % 2 else BOB)
        gh.get_repo("alice/proj").get_pull(1).create_issue_comment(f"c{i}")
        gh.close()

    threads = [threading.Thread(target=post, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    comments = server.issue_comments(OWNER, NAME, 1)
    assert sorted(c["body"] for c in comments) == sorted(f"c{i}" for i in range(8))
    assert len({c["id"] for c in comments}) == 8
