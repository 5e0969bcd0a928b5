"""The task commands as a user runs them: the real CLI in a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from gittask.store import layout
from tests.conftest import CliResult, git, init_repo

Cli = Callable[..., CliResult]


def ref_tip(repo: Path) -> str:
    return git(repo, "rev-parse", "--verify", "-q", layout.DATA_REF, check=False)


def create(cli: Cli, repo: Path, text: str, *extra: str) -> str:
    result = cli(repo, "task", "create", "--no-run", "-m", text, *extra)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def one_line_error(result: CliResult, code: int = 1) -> str:
    assert result.returncode == code, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_version_and_help(cli: Cli, repo: Path) -> None:
    assert cli(repo, "--version").stdout.startswith("claude-container ")
    for args in (
        [],
        ["task"],
        ["task", "create"],
        ["task", "list"],
        ["task", "show"],
        ["task", "delete"],
        ["task", "search"],
        ["task", "history"],
        ["task", "stop"],
        ["task", "diff"],
        ["task", "checkout"],
        ["task", "open"],
        ["task", "ls"],
        ["config", "unset"],
    ):
        result = cli(repo, *args, "--help")
        assert result.returncode == 0 and "Usage" in result.stdout, args


def test_create_list_show_json(cli: Cli, repo: Path) -> None:
    first = create(cli, repo, "Fix the login bug\n\nIt fails on empty passwords.")
    second = create(cli, repo, "Add dark mode", "--branch", "feature/dark", "--base", "trunk")
    listed = json.loads(cli(repo, "task", "list", "--json").stdout)
    assert [t["id"] for t in listed] == [second, first]  # newest first
    assert listed[0]["branch_name"] == "feature/dark" and listed[0]["status"] == "pending"
    assert listed[1]["branch_name"].startswith("claude/fix-the-login-bug-")
    shown = json.loads(cli(repo, "task", "show", second[:8], "--json").stdout)
    assert shown["base_branch"] == "trunk" and shown["description"] == "Add dark mode\n"
    assert shown["author"] == "Test User <test@example.com>"
    text = cli(repo, "task", "show", first[:10]).stdout
    assert "Fix the login bug" in text and "It fails on empty passwords." in text
    plain = cli(repo, "task", "list").stdout.splitlines()
    assert plain[0].split() == ["ID", "STATUS", "BRANCH", "PR", "AGE", "TITLE"]
    assert plain[1].startswith(second[:8]) and "Add dark mode" in plain[1]
    pending = json.loads(cli(repo, "task", "list", "--status", "pending", "--json").stdout)
    assert len(pending) == 2
    assert json.loads(cli(repo, "task", "list", "--status", "failed", "--json").stdout) == []


def test_description_from_file_stdin_and_editor(cli: Cli, repo: Path, tmp_path: Path) -> None:
    spec = tmp_path / "spec.md"
    spec.write_text("# Refactor the parser\n\nKeep the API.\n")
    by_file = create_from(cli, repo, "--file", str(spec))
    assert json.loads(cli(repo, "task", "show", by_file, "--json").stdout)["title"] == (
        "Refactor the parser"
    )
    by_stdin = cli(repo, "task", "create", "--no-run", "--file", "-", input="From stdin\n")
    assert by_stdin.returncode == 0
    editor = tmp_path / "editor.sh"
    editor.write_text(
        "#!/bin/sh\n"
        'printf "Written in the editor\\n\\n" | cat - "$1" > "$1.new"\n'
        'mv "$1.new" "$1"\n'
    )
    editor.chmod(editor.stat().st_mode | stat.S_IEXEC)
    by_editor = cli(repo, "task", "create", "--no-run", env={"EDITOR": str(editor)})
    assert by_editor.returncode == 0, by_editor.stderr
    shown = json.loads(cli(repo, "task", "show", by_editor.stdout.strip(), "--json").stdout)
    assert shown["description"] == "Written in the editor\n"  # template lines stripped
    git(repo, "config", "core.editor", str(editor))
    assert cli(repo, "task", "create", "--no-run").returncode == 0
    # an editor session that deletes the scissors line: the template's comments still go,
    # the user's own heading stays
    careless = tmp_path / "careless.sh"
    careless.write_text(
        "#!/bin/sh\n"
        'grep -v -- ">8" "$1" > "$1.new"\n'
        'printf "# Speed up the build\\n\\nCache the wheels.\\n" | cat - "$1.new" > "$1"\n'
    )
    careless.chmod(careless.stat().st_mode | stat.S_IEXEC)
    by_careless = cli(repo, "task", "create", "--no-run", env={"EDITOR": str(careless)})
    assert by_careless.returncode == 0, by_careless.stderr
    shown = json.loads(cli(repo, "task", "show", by_careless.stdout.strip(), "--json").stdout)
    assert shown["description"] == "# Speed up the build\n\nCache the wheels.\n"


def create_from(cli: Cli, repo: Path, *args: str) -> str:
    result = cli(repo, "task", "create", "--no-run", *args)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_empty_description_stores_nothing(cli: Cli, repo: Path, tmp_path: Path) -> None:
    editor = tmp_path / "keep.sh"
    editor.write_text("#!/bin/sh\nexit 0\n")  # leaves only the template
    editor.chmod(0o755)
    line = one_line_error(cli(repo, "task", "create", "--no-run", env={"EDITOR": str(editor)}), 2)
    assert "description is empty" in line
    assert "description is empty" in one_line_error(
        cli(repo, "task", "create", "--no-run", "-m", "  "), 2
    )
    no_editor = one_line_error(cli(repo, "task", "create", "--no-run"), 2)
    assert "no description given" in no_editor and "$EDITOR" in no_editor
    assert ref_tip(repo) == ""


@pytest.mark.parametrize("branch", ["has space", "a..b", "-x", "end.lock", "x~1", "HEAD"])
def test_invalid_branch_names(cli: Cli, repo: Path, branch: str) -> None:
    line = one_line_error(cli(repo, "task", "create", "--no-run", "-m", "x", "--branch", branch), 2)
    assert "invalid branch name" in line
    assert ref_tip(repo) == ""


def test_taken_branch_names(cli: Cli, repo: Path, tmp_path: Path) -> None:
    create(cli, repo, "first", "--branch", "work")
    before = ref_tip(repo)
    line = one_line_error(cli(repo, "task", "create", "--no-run", "-m", "x", "-b", "work"), 2)
    assert "already used by task" in line
    git(repo, "branch", "local-one")
    assert "already exists in this repository" in one_line_error(
        cli(repo, "task", "create", "--no-run", "-m", "x", "-b", "local-one"), 2
    )
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    git(repo, "remote", "add", "origin", str(origin))
    git(repo, "push", "-q", "origin", "HEAD:refs/heads/remote-one")
    git(repo, "fetch", "-q", "origin")
    assert "already exists on origin" in one_line_error(
        cli(repo, "task", "create", "--no-run", "-m", "x", "-b", "remote-one"), 2
    )
    assert "base branch 'nope' does not exist" in one_line_error(
        cli(repo, "task", "create", "--no-run", "-m", "x", "--base", "nope"), 2
    )
    assert ref_tip(repo) == before


def test_unknown_and_ambiguous_ids(cli: Cli, repo: Path) -> None:
    ids = [create(cli, repo, f"task {i}") for i in range(20)]
    assert "no task matches 'xyz'" in one_line_error(cli(repo, "task", "show", "xyz"))
    assert "no task matches 'fffffffff'" in one_line_error(cli(repo, "task", "show", "fffffffff"))
    first_digits = {}
    for task_id in ids:
        first_digits.setdefault(task_id[0], []).append(task_id)
    shared = next(group for group in first_digits.values() if len(group) > 1)
    line = one_line_error(cli(repo, "task", "show", shared[0][0]))
    assert "matches" in line and all(t[:12] in line for t in shared)


def test_unknown_status_filter(cli: Cli, repo: Path) -> None:
    line = one_line_error(cli(repo, "task", "list", "--status", "finished"), 2)
    assert "unknown status 'finished'" in line and "pending, running, created" in line
    assert "ready-for-review" in line


def test_not_a_git_repository(cli: Cli, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    for args in (["task", "list"], ["task", "create", "--no-run", "-m", "x"]):
        line = one_line_error(cli(plain, *args))
        assert "not a git repository" in line


def test_search_ranks_best_matches_first(cli: Cli, repo: Path) -> None:
    weak = create(cli, repo, "Tidy the cache module")
    strong = create(
        cli, repo, "Cache invalidation is broken\n\nThe cache keeps stale cache entries."
    )
    create(cli, repo, "Unrelated")
    hits = json.loads(cli(repo, "task", "search", "CACHE", "--json").stdout)
    assert [h["id"] for h in hits] == [strong, weak]
    assert hits[0]["score"] > hits[1]["score"]
    assert json.loads(cli(repo, "task", "search", "nothing-like-this", "--json").stdout) == []


def test_history_newest_first_with_limit_and_branch(cli: Cli, repo: Path) -> None:
    a = create(cli, repo, "Alpha", "-b", "alpha")
    b = create(cli, repo, "Beta", "-b", "beta")
    cli(repo, "task", "delete", a, "--yes")
    entries = json.loads(cli(repo, "task", "history", "--json").stdout)
    assert [(e["action"], e["task_id"]) for e in entries] == [
        ("delete", a),
        ("create", b),
        ("create", a),
    ]
    assert len(json.loads(cli(repo, "task", "history", "--limit", "1", "--json").stdout)) == 1
    only_beta = json.loads(cli(repo, "task", "history", "--branch", "beta", "--json").stdout)
    assert [e["task_id"] for e in only_beta] == [b]


def test_delete_confirmation_status_and_twice(cli: Cli, repo: Path) -> None:
    a = create(cli, repo, "one")
    b = create(cli, repo, "two")
    before = ref_tip(repo)
    assert "without confirmation" in one_line_error(cli(repo, "task", "delete", a), 2)
    assert "no task matches 'zzz'" in one_line_error(cli(repo, "task", "delete", a, "zzz", "--yes"))
    assert ref_tip(repo) == before  # one bad id: nothing deleted
    assert cli(repo, "task", "delete", a[:8], "--yes").returncode == 0
    assert "was deleted" in one_line_error(cli(repo, "task", "delete", a[:8], "--yes"))
    assert "was deleted" in one_line_error(cli(repo, "task", "show", a))
    assert cli(repo, "task", "delete", "--status", "pending", "--yes").returncode == 0
    assert json.loads(cli(repo, "task", "list", "--json").stdout) == []
    assert b not in cli(repo, "task", "list").stdout


def test_malformed_record_is_reported_and_others_still_list(cli: Cli, repo: Path) -> None:
    bad = create(cli, repo, "will be broken")
    good = create(cli, repo, "still fine")
    wt = repo.parent / "edit"
    git(repo, "worktree", "add", "-q", "--detach", str(wt), layout.DATA_REF)
    path = f"{layout.task_dir(bad)}/metadata.yaml"
    (wt / path).write_text("status: [broken\n")
    git(wt, "commit", "-q", "-am", "oops")
    git(repo, "update-ref", layout.DATA_REF, git(wt, "rev-parse", "HEAD"))
    result = cli(repo, "task", "list")
    assert result.returncode == 0
    assert f"warning: unreadable task record {path}" in result.stderr
    assert "still fine" in result.stdout
    listed = {t["id"]: t for t in json.loads(cli(repo, "task", "list", "--json").stdout)}
    assert listed[good]["status"] == "pending"
    assert listed[bad]["status"] == "unreadable" and path in listed[bad]["error"]
    assert path in one_line_error(cli(repo, "task", "show", bad))


def hand_edit(repo: Path, edits: dict[str, Callable[[str], str]]) -> None:
    """Edit files on the data ref as a person would: a worktree, a commit, the ref moved."""
    wt = repo.parent / "hand-edit"
    git(repo, "worktree", "add", "-q", "--detach", str(wt), layout.DATA_REF)
    for path, edit in edits.items():
        (wt / path).write_text(edit((wt / path).read_text()))
    git(wt, "commit", "-q", "-am", "by hand")
    git(repo, "update-ref", layout.DATA_REF, git(wt, "rev-parse", "HEAD"))
    git(repo, "worktree", "remove", "--force", str(wt))


def test_hand_added_dates_and_keys_are_kept_and_never_break_reading(cli: Cli, repo: Path) -> None:
    dated = create(cli, repo, "has a due date")
    odd = create(cli, repo, "has a bad timestamp")
    hand_edit(
        repo,
        {
            f"{layout.task_dir(dated)}/metadata.yaml": lambda t: t + "due: 2024-05-01\n1: one\n",
            f"{layout.task_dir(odd)}/metadata.yaml": lambda t: t.replace(
                "started_at: null", "started_at: yesterday"
            ),
        },
    )
    listed = {t["id"]: t for t in json.loads(cli(repo, "task", "list", "--json").stdout)}
    assert listed[dated]["status"] == "pending"
    assert listed[odd]["status"] == "unreadable" and "metadata.yaml" in listed[odd]["error"]
    shown = json.loads(cli(repo, "task", "show", dated, "--json").stdout)
    assert shown["due"] == "2024-05-01"
    path = f"{layout.task_dir(odd)}/metadata.yaml"
    assert path in one_line_error(cli(repo, "task", "show", odd))
    # a later change keeps the hand-added field
    assert cli(repo, "task", "delete", odd, "--yes").returncode == 0
    assert json.loads(cli(repo, "task", "show", dated, "--json").stdout)["due"] == "2024-05-01"


def test_a_feedback_file_without_its_id_is_not_duplicated(cli: Cli, repo: Path) -> None:
    task_id = create(cli, repo, "gets feedback")
    from gittask.model import FeedbackEntry
    from gittask.store.database import TaskDatabase

    db = TaskDatabase.open(repo)
    db.store.add_feedback(task_id, FeedbackEntry(feedback="first note"))
    folder = f"{layout.task_dir(task_id)}/feedback"
    [name] = git(repo, "ls-tree", "--name-only", f"{layout.DATA_REF}:{folder}").split()
    hand_edit(
        repo,
        {
            f"{folder}/{name}": lambda t: (
                "\n".join(line for line in t.splitlines() if not line.startswith("id:")) + "\n"
            )
        },
    )
    for text in ("second note", "third note"):
        db.store.add_feedback(task_id, FeedbackEntry(feedback=text))
    history = json.loads(cli(repo, "task", "show", task_id, "--json").stdout)["feedback_history"]
    assert [f["feedback"] for f in history] == ["first note", "second note", "third note"]
    files = git(repo, "ls-tree", "--name-only", f"{layout.DATA_REF}:{folder}").split()
    assert len(files) == 3 and name in files


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a repository to another user needs root")
def test_a_repository_of_another_user_is_one_line_with_the_fix(cli: Cli, tmp_path: Path) -> None:
    theirs = init_repo(tmp_path / "theirs")
    for path in [theirs, *theirs.rglob("*")]:
        os.lchown(path, 1000, 1000)
    line = one_line_error(cli(theirs, "task", "list"))
    assert "owned by another user" in line and "safe.directory" in line


def test_what_the_machine_refuses_is_one_line_and_changes_nothing(cli: Cli, repo: Path) -> None:
    create(cli, repo, "before the trouble")
    tip = ref_tip(repo)
    state = repo / ".git" / "claude-tasks"
    shutil.rmtree(state)
    state.write_text("not a folder\n")  # where the index lives
    line = one_line_error(cli(repo, "task", "create", "--no-run", "-m", "during the trouble"))
    assert str(state) in line
    assert ref_tip(repo) == tip


def test_hand_edits_of_any_kind_never_end_in_a_traceback(cli: Cli, repo: Path) -> None:
    from gittask.model import FeedbackEntry
    from gittask.store.database import TaskDatabase

    odd = create(cli, repo, "feedback edited by hand")
    broken = create(cli, repo, "count edited by hand")
    TaskDatabase.open(repo).add_feedback(odd, FeedbackEntry(feedback="please retry"))
    folder = f"{layout.task_dir(odd)}/feedback"
    [name] = git(repo, "ls-tree", "--name-only", f"{layout.DATA_REF}:{folder}").split()
    hand_edit(
        repo,
        {
            f"{folder}/{name}": lambda t: t.replace("author: null", "author: [Ann, Bob]").replace(
                "claude_response_summary: null", "claude_response_summary: {done: 3}"
            ),
            f"{layout.task_dir(broken)}/metadata.yaml": lambda t: t.replace(
                "run_count: 0", "run_count: .inf"
            ),
        },
    )
    listed = {t["id"]: t for t in json.loads(cli(repo, "task", "list", "--json").stdout)}
    assert listed[odd]["status"] == "pending" and listed[broken]["status"] == "unreadable"
    shown = cli(repo, "task", "show", odd, "--feedback-history")
    assert shown.returncode == 0, shown.stderr
    assert "please retry" in shown.stdout and "Ann" in shown.stdout
    line = one_line_error(cli(repo, "task", "show", broken))
    assert f"{layout.task_dir(broken)}/metadata.yaml" in line and "run_count" in line


def test_a_damaged_index_is_rebuilt_and_never_fails_a_command(cli: Cli, repo: Path) -> None:
    from tests.store.test_index import damage_tables

    first = create(cli, repo, "first")
    assert cli(repo, "task", "list").returncode == 0
    index = repo / ".git" / "claude-tasks" / "index.sqlite"
    damage_tables(index)
    listed = cli(repo, "task", "list", "--json")
    assert listed.returncode == 0 and listed.stderr == ""
    assert [t["id"] for t in json.loads(listed.stdout)] == [first]
    damage_tables(index)
    second = create(cli, repo, "second")
    damage_tables(index)
    assert [t["id"] for t in json.loads(cli(repo, "task", "list", "--json").stdout)] == [
        second,
        first,
    ]


def test_a_repository_refusing_new_objects_is_one_line_and_changes_nothing(
    cli: Cli, repo: Path
) -> None:
    from tests.store.test_taskstore import block_object_writes

    task_id = create(cli, repo, "before the disk filled up")
    tip = ref_tip(repo)
    block_object_writes(repo)  # as a full or read-only disk would (chmod does not stop root)
    for args in (["create", "--no-run", "-m", "during"], ["delete", task_id, "--yes"]):
        line = one_line_error(cli(repo, "task", *args))
        assert "cannot write to the git object database" in line and ".git/objects" in line
        assert ref_tip(repo) == tip
    assert [t["id"] for t in json.loads(cli(repo, "task", "list", "--json").stdout)] == [task_id]


def test_works_in_a_repository_with_no_commits(cli: Cli, tmp_path: Path) -> None:
    empty = init_repo(tmp_path / "empty", commit=False)
    task_id = create(cli, empty, "first task ever")
    assert json.loads(cli(empty, "task", "list", "--json").stdout)[0]["id"] == task_id


def test_aliases_ls_rm_view(cli: Cli, repo: Path) -> None:
    task_id = create(cli, repo, "Aliased")
    assert json.loads(cli(repo, "task", "ls", "--json").stdout)[0]["id"] == task_id
    assert json.loads(cli(repo, "task", "view", task_id, "--json").stdout)["id"] == task_id
    assert cli(repo, "task", "rm", task_id, "--yes").returncode == 0
    assert cli(repo, "task", "ls", "--json").stdout.strip() == "[]"
    assert cli(repo, "task", "view", task_id).returncode == 1


def test_open_prints_the_pull_request_url(cli: Cli, repo: Path) -> None:
    from gittask.model import TaskMetadata
    from gittask.store.database import TaskDatabase

    task_id = create(cli, repo, "Reviewed elsewhere")
    refused = cli(repo, "task", "open", task_id)
    assert refused.returncode == 1 and "has no pull request" in refused.stderr
    url = "https://github.com/acme/app/pull/42"

    def with_pull(task: TaskMetadata) -> str:
        task.pr_url, task.pr_number = url, 42
        return "pull request"

    TaskDatabase.open(repo).update(task_id, with_pull, "pr")
    env = {"DISPLAY": "", "WAYLAND_DISPLAY": "", "BROWSER": ""}
    opened = cli(repo, "task", "open", task_id[:8], env=env)
    assert (opened.returncode, opened.stdout) == (0, url + "\n")
    web = cli(repo, "task", "show", task_id, "--web", env=env)
    assert (web.returncode, web.stdout) == (0, url + "\n")
    listed = cli(repo, "task", "list")
    assert "#42" in listed.stdout


def test_labels_on_create_and_label_command(cli: Cli, repo: Path) -> None:
    tagged = create(cli, repo, "Labelled", "--label", "bug", "-l", "ui")
    plain = create(cli, repo, "Plain")
    assert json.loads(cli(repo, "task", "show", tagged, "--json").stdout)["labels"] == ["bug", "ui"]
    changed = cli(repo, "task", "label", tagged, "+urgent", "-ui", "docs")
    assert (changed.returncode, changed.stdout) == (0, "bug urgent docs\n"), changed.stderr
    assert cli(repo, "task", "label", plain).stdout == "(no labels)\n"
    listed = json.loads(cli(repo, "task", "list", "--json", "--label", "urgent").stdout)
    assert [t["id"] for t in listed] == [tagged] and listed[0]["labels"] == [
        "bug",
        "urgent",
        "docs",
    ]
    assert "labels:" in cli(repo, "task", "show", tagged).stdout
    before = ref_tip(repo)
    for args in (
        ["task", "label", tagged, "+has space"],
        ["task", "create", "--no-run", "-m", "x", "--label", "a,b"],
    ):
        result = cli(repo, *args)
        assert result.returncode == 2 and "bad label" in result.stderr, result.stderr
    assert ref_tip(repo) == before
