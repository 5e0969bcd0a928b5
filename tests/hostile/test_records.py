"""Hostile task records: reading one is bounded work, and it never stops the others.

The threat: a teammate (or anyone who can push to the remote's ``claude-tasks``
branch) commits a record that makes a YAML reader do unbounded work. Nine
aliases nested nine deep (1 KiB) expand to 387 million strings: every command
in every clone hung and grew past 1.5 GB, and the next fetch brought it back.
A flow list nested a hundred thousand levels deep crashed the C composer
(segmentation fault). Records are now checked before anything is built from
them (size, anchors and aliases, depth), and refused ones are reported as
unreadable with their path while the rest lists; `task sync` refuses them from
the remote, and a read after a plain `git fetch` warns and shows local tasks.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from gittask.store import layout, yamlio
from tests.conftest import Team, init_repo, run_cli
from tests.hostile.support import ANSWER_WITHIN, billion_laughs, git_out, plant

TRACKING = "refs/remotes/origin/claude-tasks"


# -- the reader's rules ------------------------------------------------------------------


def _flow(depth: int) -> bytes:
    return b"a: " + b"[" * (depth - 1) + b"]" * (depth - 1) + b"\n"


def _block_mappings(depth: int) -> bytes:
    return b"".join(b" " * i + b"k:\n" for i in range(depth - 1)) + b" " * (depth - 1) + b"k: v\n"


def _compact_sequences(depth: int) -> bytes:
    return b"- " * depth + b"x\n"


def _sequences_in_mappings(depth: int) -> bytes:
    """``k:`` / ``- k:`` alternating: the column grows only every second level."""
    lines, column = [], 0
    for level in range(depth):
        if level % 2 == 0:
            lines.append(b" " * column + b"k:")
        else:
            lines.append(b" " * column + b"- k:" if level + 1 < depth else b" " * column + b"- x")
            column += 2
    return b"\n".join(lines) + b"\n"


def _explicit_keys(depth: int) -> bytes:
    return b"? " * depth + b"x\n"


NESTINGS = {
    "flow lists": _flow,
    "block mappings": _block_mappings,
    "compact sequences": _compact_sequences,
    "sequences in mappings": _sequences_in_mappings,
    "explicit keys": _explicit_keys,
}


@pytest.mark.parametrize("shape", sorted(NESTINGS))
def test_nesting_past_the_limit_is_refused_in_every_syntax(shape: str) -> None:
    make = NESTINGS[shape]
    yamlio.check(make(yamlio.MAX_DEPTH))  # at the limit: allowed
    deep = make(yamlio.MAX_DEPTH + 1)
    with pytest.raises(ValueError, match=f"nested more than {yamlio.MAX_DEPTH} levels"):
        yamlio.load(deep)
    assert f"nested more than {yamlio.MAX_DEPTH} levels" in (yamlio.problem(deep) or "")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (billion_laughs(), "anchor &a0"),
        ("a: &x 1\n", "anchor &x"),
        ("a: *x\n", "alias"),  # an alias without its anchor: refused all the same
        ("a: &x [1, *x]\n", "anchor &x"),  # refers to itself
        ("<<: &base {a: 1}\nb: 2\n", "anchor &base"),  # merge keys need anchors
    ],
)
def test_anchors_and_aliases_are_refused(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        yamlio.load(text)
    assert yamlio.problem(text.encode()) is not None


def test_a_record_over_the_size_limit_is_refused_before_parsing() -> None:
    big = b"id: x\nnote: '" + b"a" * yamlio.MAX_RECORD_BYTES + b"'\n"
    with pytest.raises(ValueError, match="over the 1,048,576 bytes a record may have"):
        yamlio.load(big)
    assert "over the 1,048,576 bytes" in (yamlio.problem(big) or "")


@pytest.mark.parametrize(
    "text",
    [
        "title: 'R&D *now*'\n",
        "title: R&D\nnote: a * b\n",
        "url: https://example.com/?a=1&b=2\n",
        'title: "bang! \\u0007"\n',
        "commits: []\ndepends_on: [a, b]\n",
    ],
)
def test_ampersands_stars_and_brackets_in_values_still_read(text: str) -> None:
    assert isinstance(yamlio.load(text), dict)
    assert yamlio.problem(text.encode()) is None


def test_nothing_written_is_refused_by_the_reader() -> None:
    record = {"id": "ab" * 16, "title": "R&D *x* [y] {z}", "commits": ["c" * 40] * 3}
    assert yamlio.load(yamlio.dump(record)) == record


# -- a hostile record in this clone ------------------------------------------------------


def _repo_with_tasks(tmp_path: Path) -> tuple[Path, str, str]:
    repo = init_repo(tmp_path / "repo")
    ids = []
    for text in ("Victim task", "Healthy neighbour"):
        proc = run_cli(repo, "task", "create", "--no-run", "-m", text)
        assert proc.returncode == 0, proc.stderr
        ids.append(proc.stdout.strip().splitlines()[-1])
    return repo, ids[0], ids[1]


def _metadata(repo: Path, task_id: str) -> bytes:
    return subprocess.run(
        ["git", "show", f"{layout.DATA_REF}:{layout.task_dir(task_id)}/metadata.yaml"],
        cwd=repo,
        capture_output=True,
        check=True,
    ).stdout


def _laughs_in_metadata(repo: Path, task_id: str) -> str:
    path = f"{layout.task_dir(task_id)}/metadata.yaml"
    plant(repo, path, _metadata(repo, task_id) + billion_laughs().encode())
    return path


def _laughs_in_feedback(repo: Path, task_id: str) -> str:
    path = f"{layout.task_dir(task_id)}/feedback/20260101T000000000000Z-0bad0bad.yaml"
    body = "feedback: lol\nfeedback_type: inline\n" + billion_laughs()
    plant(repo, path, body.encode())
    return path


def _million_deep(repo: Path, task_id: str) -> str:
    path = f"{layout.task_dir(task_id)}/metadata.yaml"
    deep = b"nest: " + b"[" * 400_000 + b"]" * 400_000 + b"\n"
    plant(repo, path, _metadata(repo, task_id) + deep)
    return path


def _two_megabytes(repo: Path, task_id: str) -> str:
    path = f"{layout.task_dir(task_id)}/metadata.yaml"
    plant(repo, path, _metadata(repo, task_id) + b"pad: '" + b"x" * (2 << 20) + b"'\n")
    return path


HOSTILE: dict[str, Callable[[Path, str], str]] = {
    "billion laughs in metadata.yaml": _laughs_in_metadata,
    "billion laughs in a feedback entry": _laughs_in_feedback,
    "lists nested 400,000 deep": _million_deep,
    "a 2 MiB metadata.yaml": _two_megabytes,
}


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(cwd, *args, timeout=ANSWER_WITHIN)  # raises TimeoutExpired on a hang


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_a_hostile_record_is_unreadable_and_every_command_still_answers(
    tmp_path: Path, kind: str
) -> None:
    repo, victim, neighbour = _repo_with_tasks(tmp_path)
    path = HOSTILE[kind](repo, victim)

    listing = _cli(repo, "task", "list", "--json")
    assert listing.returncode == 0, listing.stderr
    rows = {row["id"]: row for row in json.loads(listing.stdout)}
    assert rows[neighbour]["title"] == "Healthy neighbour"
    assert rows[victim]["status"] == "unreadable"
    assert path in rows[victim]["error"]

    table = _cli(repo, "task", "list")
    assert table.returncode == 0
    assert "Healthy neighbour" in table.stdout
    assert f"warning: unreadable task record {path}: " in table.stderr

    shown = _cli(repo, "task", "show", victim[:8])
    assert shown.returncode == 1
    assert shown.stderr.startswith(f"error: unreadable task record {path}: ")
    assert len(shown.stderr.splitlines()) == 1

    assert _cli(repo, "task", "show", neighbour[:8]).returncode == 0
    found = _cli(repo, "task", "search", "neighbour")
    assert found.returncode == 0 and neighbour[:8] in found.stdout
    history = _cli(repo, "task", "history")
    assert history.returncode == 0 and "Healthy neighbour" in history.stdout
    created = _cli(repo, "task", "create", "--no-run", "-m", "Still possible")
    assert created.returncode == 0, created.stderr
    assert "Traceback" not in listing.stderr + shown.stderr + created.stderr

    # the index rebuilt from scratch says the same (the rebuild path parses too)
    (repo / ".git" / "claude-tasks" / "index.sqlite").unlink()
    again = _cli(repo, "task", "list", "--json")
    assert again.returncode == 0
    assert {r["id"]: r["status"] for r in json.loads(again.stdout)}[victim] == "unreadable"


# -- a hostile record on the remote ------------------------------------------------------


@pytest.mark.parametrize("diverged", [False, True], ids=["fast-forward", "merge"])
def test_sync_refuses_a_hostile_record_and_reads_after_a_fetch_still_answer(
    team: Team, diverged: bool
) -> None:
    a, b = team.clone("a"), team.clone("b")
    for text in ("Victim task", "Healthy neighbour"):
        assert run_cli(a, "task", "create", "--no-run", "-m", text).returncode == 0
    assert run_cli(a, "task", "sync").returncode == 0
    assert run_cli(b, "task", "sync").returncode == 0
    rows = {r["title"]: r["id"] for r in json.loads(run_cli(b, "task", "list", "--json").stdout)}
    victim = rows["Victim task"]
    if diverged:  # b has work of its own, so taking the remote is a merge
        assert run_cli(b, "task", "create", "--no-run", "-m", "Local work").returncode == 0
    path = _laughs_in_metadata(a, victim)
    # a hostile teammate forces it there (b's own work reached origin already: sync.auto)
    git_out(a, "push", "-q", "origin", f"+{layout.DATA_REF}:refs/heads/claude-tasks")
    hostile = git_out(a, "rev-parse", layout.DATA_REF)
    before = git_out(b, "rev-parse", layout.DATA_REF)

    synced = _cli(b, "task", "sync")
    assert synced.returncode == 1
    assert synced.stderr.splitlines() == [synced.stderr.strip()]
    assert f"error: origin's claude-tasks is not task data ({path}: " in synced.stderr
    assert "anchors and aliases are not allowed" in synced.stderr
    assert git_out(b, "rev-parse", layout.DATA_REF) == before

    # a plain `git fetch` brought it: reads warn once and show the local tasks
    git_out(b, "fetch", "-q", "origin")
    assert git_out(b, "rev-parse", TRACKING) == hostile
    for args in (
        ("task", "list"),
        ("task", "show", victim[:8]),
        ("task", "search", "neighbour"),
        ("task", "history"),
        ("task", "create", "--no-run", "-m", "Created anyway"),
    ):
        result = _cli(b, *args)
        assert result.returncode == 0, f"{args}: {result.stderr}"
        warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
        # a change also says it stayed local (sync.auto could not publish it)
        expected = 2 if args[1] == "create" else 1
        assert len(warnings) == expected, result.stderr
        assert f"{path}: it uses the anchor &a0" in warnings[0]
        assert "showing local tasks only" in warnings[0]
        if expected == 2:
            assert warnings[1].startswith("warning: the change is saved locally but not on origin")
    shown = json.loads(_cli(b, "task", "show", victim[:8], "--json").stdout)
    assert shown["title"] == "Victim task"
    tip = git_out(b, "rev-parse", layout.DATA_REF)
    ancestor = subprocess.run(
        ["git", "merge-base", "--is-ancestor", hostile, tip], cwd=b, check=False
    )
    assert ancestor.returncode == 1  # the hostile commit never entered b's data ref
