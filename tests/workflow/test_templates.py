"""Task templates: stored on the data ref, filled with --var, shared and merged by sync."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

from gittask.model.template import fill, placeholders
from gittask.store.database import TaskDatabase
from gittask.workflow.run import preflight, task_overrides
from tests.conftest import CliResult, Team, git, run_cli
from tests.memory_engine import MemoryEngine


def ok(result: CliResult) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def last_id(cwd: Path) -> str:
    return json.loads(ok(run_cli(cwd, "task", "list", "--json")))[0]["id"]


def template_json(cwd: Path, name: str) -> dict[str, object]:
    return json.loads(ok(run_cli(cwd, "task", "template", "show", name, "--json")))


def test_placeholders_and_literal_braces() -> None:
    text = "Fix {issue} in {file}; {{literal}} and code {} {x y} {issue}"
    assert placeholders(text) == ["issue", "file"]
    filled = fill(text, {"issue": "#12", "file": "a.py"})
    assert filled == "Fix #12 in a.py; {literal} and code {} {x y} #12"


def test_variables_fill_description_and_branch(repo: Path) -> None:
    ok(
        run_cli(
            repo, "task", "template", "create", "bug-fix", "--description", "Fix bug: {issue}",
            "--branch", "bugfix/{issue-number}", "--label", "bug", "--model", "m-1",
        )
    )  # fmt: skip
    listed = json.loads(ok(run_cli(repo, "task", "template", "list", "--json")))
    assert [(t["name"], t["variables"]) for t in listed] == [("bug-fix", ["issue", "issue-number"])]
    made = run_cli(
        repo, "task", "create", "--no-run", "--template", "bug-fix",
        "--var", "issue=Crash on login", "--var", "issue-number=123", "--label", "urgent",
    )  # fmt: skip
    ok(made)
    task = json.loads(ok(run_cli(repo, "task", "show", made.stdout.strip(), "--json")))
    assert task["description"] == "Fix bug: Crash on login\n"
    assert task["branch_name"] == "bugfix/123"
    assert task["labels"] == ["bug", "urgent"]
    blob = template_json(repo, "bug-fix")["blob"]
    assert task["template"] == "bug-fix" and task["template_blob"] == blob
    assert task["template_vars"] == {"issue": "Crash on login", "issue-number": "123"}
    assert git(repo, "cat-file", "-t", str(blob)) == "blob"  # what it was made from, exactly
    shown = ok(run_cli(repo, "task", "show", task["id"]))
    assert f"bug-fix (blob {str(blob)[:12]}): issue=Crash on login, issue-number=123" in shown
    # the template's model is the task's: its runs use it instead of the project's
    db = TaskDatabase.open(repo)
    record = db.task(task["id"])
    assert task_overrides(record) == {"model": "m-1"}
    engine = MemoryEngine(lambda c: 0, images=("img",))
    git(repo, "config", "user.name", "Test User")
    (repo / ".claude-container").mkdir(exist_ok=True)
    (repo / ".claude-container" / "container_config.json").write_text(
        json.dumps({"agent": "command", "agent_command": "true", "image": "img"})
    )
    pre = preflight(db, engine=engine, overrides=task_overrides(record))
    assert pre.settings.model == "m-1"


def test_missing_and_unused_variables(repo: Path) -> None:
    ok(
        run_cli(
            repo, "task", "template", "create", "bug-fix", "-m", "Fix bug: {issue}",
            "--branch", "bugfix/{issue-number}",
        )
    )  # fmt: skip
    missing = run_cli(repo, "task", "create", "--no-run", "-t", "bug-fix", "--var", "issue=1")
    assert missing.returncode == 2
    assert missing.stderr.count("\n") == 1 and missing.stderr.startswith("error: ")
    assert "--var issue-number=..." in missing.stderr
    assert "its variables: issue, issue-number" in missing.stderr
    assert json.loads(ok(run_cli(repo, "task", "list", "--json"))) == []  # nothing stored
    unused = run_cli(
        repo, "task", "create", "--no-run", "-t", "bug-fix",
        "--var", "issue=1", "--var", "issue-number=1", "--var", "owner=me",
    )  # fmt: skip
    ok(unused)
    assert "warning: --var owner is not used" in unused.stderr
    bad = run_cli(repo, "task", "create", "--no-run", "-t", "bug-fix", "--var", "issue")
    assert bad.returncode == 2 and "bad --var" in bad.stderr
    both = run_cli(repo, "task", "create", "--no-run", "-t", "bug-fix", "-m", "text")
    assert both.returncode == 2 and "--template gives the description" in both.stderr
    unknown = run_cli(repo, "task", "create", "--no-run", "-t", "nope")
    assert unknown.returncode == 1 and "no template called 'nope'" in unknown.stderr
    named = run_cli(repo, "task", "template", "create", "../x", "-m", "text")
    assert named.returncode == 2 and "bad template name" in named.stderr
    pattern = run_cli(repo, "task", "template", "create", "t2", "-m", "x", "--branch", "a..{b}")
    assert pattern.returncode == 2 and "branch pattern" in pattern.stderr


def _editor(tmp_path: Path, name: str, script: str) -> str:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def test_edit_opens_the_filled_in_text(repo: Path, tmp_path: Path) -> None:
    ok(run_cli(repo, "task", "template", "create", "doc", "-m", "Document {module}"))
    # the editor sees the filled-in text and adds a line above it
    editor = _editor(
        tmp_path, "add.sh", 'grep -q "Document parser" "$1" || exit 3\n'
        'printf "Also the examples\\n\\n" | cat - "$1" > "$1.new" && mv "$1.new" "$1"\n',
    )  # fmt: skip
    made = run_cli(
        repo, "task", "create", "--no-run", "-t", "doc", "--var", "module=parser", "--edit",
        env={"EDITOR": editor},
    )  # fmt: skip
    task = json.loads(ok(run_cli(repo, "task", "show", made.stdout.strip(), "--json")))
    assert task["description"] == "Also the examples\n\nDocument parser\n"
    assert task["template"] == "doc"
    # `template edit NAME` with no field opens the template's own text
    rewrite = _editor(tmp_path, "rw.sh", 'printf "Describe {module} well\\n" > "$1"\n')
    ok(run_cli(repo, "task", "template", "edit", "doc", env={"EDITOR": rewrite}))
    assert template_json(repo, "doc")["description"] == "Describe {module} well\n"
    nothing = run_cli(repo, "task", "template", "edit", "doc", "-m", "Describe {module} well")
    assert nothing.returncode == 2 and "nothing to change" in nothing.stderr


def test_a_template_edited_on_two_clones_merges_field_by_field(team: Team) -> None:
    a, b = team.clone("a"), team.clone("b")
    ok(run_cli(a, "task", "template", "create", "fix", "-m", "Fix {issue}", "--branch", "fix/{n}"))
    ok(run_cli(b, "task", "sync"))
    assert template_json(b, "fix")["description"] == "Fix {issue}\n"
    # a changes the description, b the branch pattern: both changes survive, on both clones
    ok(run_cli(a, "task", "template", "edit", "fix", "-m", "Fix issue {issue} properly"))
    ok(run_cli(b, "task", "template", "edit", "fix", "--branch", "bugfix/{n}"))
    ok(run_cli(a, "task", "sync"))
    ok(run_cli(b, "task", "sync"))
    for clone in (a, b):
        merged = template_json(clone, "fix")
        assert merged["description"] == "Fix issue {issue} properly\n"
        assert merged["branch"] == "bugfix/{n}"
    assert git(a, "rev-parse", "refs/claude-tasks") == git(b, "rev-parse", "refs/claude-tasks")
    # both change the model (b publishes at once, merging a's change): the later change
    # wins (commit time, then id), and both clones hold the same value
    ok(run_cli(a, "task", "template", "edit", "fix", "--model", "model-a"))
    ok(run_cli(b, "task", "template", "edit", "fix", "--model", "model-b"))
    ok(run_cli(a, "task", "sync"))
    ok(run_cli(b, "task", "sync"))
    model = template_json(a, "fix")["model"]
    assert model in ("model-a", "model-b") and template_json(b, "fix")["model"] == model
    conflict = git(b, "log", "-1", "--format=%B", "--merges", "refs/claude-tasks")
    assert "conflict templates/fix model: " in conflict
    # deleted on one clone, edited on the other: it stays deleted (a tombstone in the record)
    ok(run_cli(a, "task", "template", "delete", "fix"))
    ok(run_cli(b, "task", "template", "edit", "fix", "--model", "model-c"))
    ok(run_cli(b, "task", "sync"))
    ok(run_cli(a, "task", "sync"))
    for clone in (a, b):
        gone = run_cli(clone, "task", "template", "show", "fix")
        assert gone.returncode == 1 and "template 'fix' was deleted by A Dev" in gone.stderr
        assert json.loads(ok(run_cli(clone, "task", "template", "list", "--json"))) == []
    # and the name can be taken again
    ok(run_cli(b, "task", "template", "create", "fix", "-m", "New {thing}"))
    assert template_json(b, "fix")["description"] == "New {thing}\n"


def test_a_hostile_template_from_the_remote_is_refused(team: Team) -> None:
    a, b = team.clone("a"), team.clone("b")
    ok(run_cli(a, "task", "template", "create", "fix", "-m", "Fix {issue}"))
    laughs = "a: &a [x, x]\nb: &b [*a, *a]\nname: evil\ndescription: boom\n"
    tip = git(a, "rev-parse", "refs/claude-tasks")
    index = {**os.environ, "GIT_INDEX_FILE": str(a / ".git" / "evil-index")}

    def raw(*args: str, text: str = "") -> str:
        done = subprocess.run(
            ["git", *args], cwd=a, input=text, capture_output=True, text=True, env=index
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    blob = raw("hash-object", "-w", "--stdin", text=laughs)
    raw("read-tree", tip)
    raw("update-index", "--add", "--cacheinfo", f"100644,{blob},templates/evil.yaml")
    commit = raw("commit-tree", raw("write-tree"), "-p", tip, "-m", "evil")
    git(a, "push", "-q", "origin", f"{commit}:refs/heads/claude-tasks")
    refused = run_cli(b, "task", "sync")
    assert refused.returncode != 0
    assert "templates/evil.yaml" in refused.stderr and "alias" in refused.stderr
    assert ok(run_cli(b, "task", "template", "list")) == ""
