"""``task edit``: the description (and so the title) in the editor, as one commit.

The editor flow runs on a real pseudo-terminal (tests/pty_support.py); the
editors are small shell scripts that change the file as a person would.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

from tests.conftest import ROOT, CliResult, git
from tests.pty_support import Terminal

Cli = Callable[..., CliResult]


def editor(tmp_path: Path, name: str, body: str) -> str:
    """An editor script: ``body`` is shell run with the file as $1."""
    script = tmp_path / name
    script.write_text(f"#!/bin/sh\nset -e\n{body}\n")
    script.chmod(0o755)
    return str(script)


def new_task(cli: Cli, repo: Path, text: str = "Old title\n\nOld body.") -> str:
    made = cli(repo, "task", "create", "--no-run", "-m", text)
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


def tip(repo: Path) -> str:
    return git(repo, "rev-parse", "refs/claude-tasks")


def record(cli: Cli, repo: Path, task_id: str) -> dict[str, object]:
    shown = cli(repo, "task", "show", task_id, "--json")
    assert shown.returncode == 0, shown.stderr
    data: dict[str, object] = json.loads(shown.stdout)
    return data


def test_edit_in_the_editor_is_one_commit(cli: Cli, repo: Path, tmp_path: Path) -> None:
    task_id = new_task(cli, repo)
    before = tip(repo)
    # the editor sees the current text above the scissors line, and changes it
    script = editor(
        tmp_path,
        "ed.sh",
        f'cp "$1" {tmp_path}/seen.md\n'
        'sed -i -e "s/Old title/New title/" -e "s/Old body/New body/" "$1"',
    )
    term = Terminal(repo, "task", "edit", task_id[:8], env={"EDITOR": script})
    assert term.finish() == 0, term.seen
    assert f"edited task {task_id[:8]}: New title" in term.seen
    seen = (tmp_path / "seen.md").read_text()
    assert seen.startswith("Old title\n\nOld body.\n")
    assert "its first line is the title" in seen
    data = record(cli, repo, task_id)
    assert data["title"] == "New title"
    assert data["description"] == "New title\n\nNew body.\n"
    assert git(repo, "rev-list", "--count", f"{before}..refs/claude-tasks") == "1"
    message = git(repo, "log", "-1", "--format=%B", "refs/claude-tasks")
    assert message.startswith(f"edit {task_id[:8]}: New title")
    assert "title was: Old title" in message
    # the index follows: list shows the new title
    listed = json.loads(cli(repo, "task", "list", "--json").stdout)
    assert listed[0]["title"] == "New title"


def test_unchanged_text_is_no_commit(cli: Cli, repo: Path, tmp_path: Path) -> None:
    task_id = new_task(cli, repo)
    before = tip(repo)
    term = Terminal(repo, "task", "edit", task_id, env={"EDITOR": "true"})
    assert term.finish() == 0, term.seen
    assert f"nothing changed: task {task_id[:8]} keeps its description" in term.seen
    same = cli(repo, "task", "edit", task_id, "-m", "Old title\n\nOld body.\n\n")
    assert same.returncode == 0 and "nothing changed" in same.stderr
    assert tip(repo) == before


def test_empty_text_is_refused_with_one_line(cli: Cli, repo: Path, tmp_path: Path) -> None:
    task_id = new_task(cli, repo)
    before = tip(repo)
    term = Terminal(
        repo, "task", "edit", task_id, env={"EDITOR": editor(tmp_path, "e", ': > "$1"')}
    )
    assert term.finish() == 2, term.seen
    assert term.seen.strip() == "error: the description is empty; nothing was changed"
    for args in (["-m", "  \n"], ["--file", "/dev/null"]):
        result = cli(repo, "task", "edit", task_id, *args)
        assert result.returncode == 2
        assert result.stderr == "error: the description is empty; nothing was changed\n"
    assert tip(repo) == before
    assert record(cli, repo, task_id)["title"] == "Old title"


def test_message_file_stdin_and_json(cli: Cli, repo: Path, tmp_path: Path) -> None:
    task_id = new_task(cli, repo)
    inline = cli(repo, "task", "edit", task_id, "-m", "Inline title", "--json")
    assert inline.returncode == 0, inline.stderr
    assert json.loads(inline.stdout) == {"id": task_id, "title": "Inline title", "changed": True}
    spec = tmp_path / "spec.md"
    spec.write_text("From a file\n\nwith a body\n")
    from_file = cli(repo, "task", "edit", task_id, "--file", str(spec))
    assert from_file.returncode == 0 and from_file.stdout == ""
    assert record(cli, repo, task_id)["description"] == "From a file\n\nwith a body\n"
    piped = cli(repo, "task", "edit", task_id, "--file", "-", input="From stdin\n")
    assert piped.returncode == 0, piped.stderr
    assert record(cli, repo, task_id)["title"] == "From stdin"
    again = cli(repo, "task", "edit", task_id, "-m", "From stdin", "--json")
    assert json.loads(again.stdout)["changed"] is False


def test_bad_input_changes_nothing(cli: Cli, repo: Path, tmp_path: Path) -> None:
    task_id = new_task(cli, repo)
    before = tip(repo)
    both = cli(repo, "task", "edit", task_id, "-m", "x", "--file", "-")
    assert both.returncode == 2 and "not both" in both.stderr
    binary = tmp_path / "binary"
    binary.write_bytes(b"a\xff\x00b")
    bad = cli(repo, "task", "edit", task_id, "--file", str(binary))
    assert bad.returncode == 2 and "not UTF-8" in bad.stderr
    missing = cli(repo, "task", "edit", "ffffffff", "-m", "x")
    assert missing.returncode == 1 and "no task matches" in missing.stderr
    no_editor = cli(repo, "task", "edit", task_id)  # no $EDITOR, no -m: one line
    assert no_editor.returncode == 2 and len(no_editor.stderr.splitlines()) == 1
    assert tip(repo) == before
    helped = cli(repo, "task", "edit", "--help")
    assert helped.returncode == 0 and "--message" in helped.stdout and "--json" in helped.stdout


def test_a_change_made_while_the_editor_was_open_is_kept(
    cli: Cli, repo: Path, tmp_path: Path
) -> None:
    """Someone (here: the editor itself) edits the task meanwhile: this edit is refused,
    and its text is kept in TASK_EDITMSG for another try."""
    task_id = new_task(cli, repo)
    other = f"PYTHONPATH={ROOT} {sys.executable} -m gittask task edit {task_id} -m 'Their title'"
    script = editor(tmp_path, "race.sh", f'{other}\nsed -i "s/Old title/My title/" "$1"')
    term = Terminal(repo, "task", "edit", task_id, env={"EDITOR": script})
    assert term.finish() == 1, term.seen
    assert "changed while you edited it; nothing was changed" in term.seen
    draft = repo / ".git" / "claude-tasks" / "TASK_EDITMSG"
    assert f"saved in {draft}" in term.seen.replace("\n", "")
    assert draft.read_text() == "My title\n\nOld body.\n"
    assert record(cli, repo, task_id)["title"] == "Their title"
    retry = cli(repo, "task", "edit", task_id, "--file", str(draft))
    assert retry.returncode == 0, retry.stderr
    assert record(cli, repo, task_id)["title"] == "My title"
