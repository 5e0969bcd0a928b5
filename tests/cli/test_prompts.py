"""Prompts as a person meets them at a terminal, and as a script never does.

The CLI runs on a real pseudo-terminal (tests/pty_support.py): stdin, stdout and
stderr are a tty, Ctrl-C is the line discipline's SIGINT.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from tests.conftest import CliResult, git
from tests.pty_support import Terminal

Cli = Callable[..., CliResult]


def editor_writing(tmp_path: Path, text: str) -> str:
    script = tmp_path / "editor.sh"
    body = text.replace("\n", "\\n")
    script.write_text(
        f'#!/bin/sh\nprintf "{body}\\n" | cat - "$1" > "$1.new" && mv "$1.new" "$1"\n'
    )
    script.chmod(0o755)
    return str(script)


def tasks(cli: Cli, repo: Path) -> list[dict[str, object]]:
    result = cli(repo, "task", "list", "--json")
    assert result.returncode == 0, result.stderr
    listed: list[dict[str, object]] = json.loads(result.stdout)
    return listed


def test_editor_flow_asks_for_the_branch_on_stderr_and_asks_again(
    cli: Cli, repo: Path, tmp_path: Path
) -> None:
    editor = editor_writing(tmp_path, "Speed up the parser")
    git(repo, "branch", "taken")
    term = Terminal(repo, "task", "create", "--no-run", env={"EDITOR": editor})
    term.expect("Branch for this task [claude/speed-up-the-parser-")
    term.send("has space\r")
    term.expect("invalid branch name 'has space'")
    term.send("taken\r")
    term.expect("already exists in this repository")
    term.send("\r")  # Enter takes the suggestion
    assert term.finish() == 0, term.seen
    [task] = tasks(cli, repo)
    assert str(task["branch_name"]).startswith("claude/speed-up-the-parser-")
    assert str(task["id"]) in term.seen


def test_a_typed_branch_is_taken(cli: Cli, repo: Path, tmp_path: Path) -> None:
    term = Terminal(
        repo, "task", "create", "--no-run", env={"EDITOR": editor_writing(tmp_path, "Fix it")}
    )
    term.expect("Branch for this task [")
    term.send("fix/it\r")
    assert term.finish() == 0, term.seen
    assert tasks(cli, repo)[0]["branch_name"] == "fix/it"


def test_no_prompt_when_the_text_came_from_the_command_line(
    cli: Cli, repo: Path, tmp_path: Path
) -> None:
    spec = tmp_path / "spec.md"
    spec.write_text("From a file\n")
    for args in (["-m", "Inline text"], ["--file", str(spec)]):
        term = Terminal(repo, "task", "create", "--no-run", *args)
        assert term.finish(timeout=60) == 0, term.seen  # never waits for an answer
        assert "Branch for this task" not in term.seen
    assert len(tasks(cli, repo)) == 2


def test_no_prompt_when_stdout_is_captured(cli: Cli, repo: Path, tmp_path: Path) -> None:
    """id=$(claude-container task create) in a terminal: the id alone, no hidden prompt."""
    editor = editor_writing(tmp_path, "Captured")
    read_end, write_end = os.pipe()
    term = Terminal(repo, "task", "create", "--no-run", env={"EDITOR": editor}, stdout=write_end)
    os.close(write_end)
    assert term.finish() == 0, term.seen
    with open(read_end, encoding="utf-8") as handle:
        captured = handle.read()
    assert "Branch for this task" not in term.seen + captured
    [task] = tasks(cli, repo)
    assert captured.strip() == task["id"]


def test_ctrl_c_at_the_branch_prompt_exits_130_and_keeps_the_text(
    cli: Cli, repo: Path, tmp_path: Path
) -> None:
    editor = editor_writing(tmp_path, "Keep this text\n\nIt took a while to write.")
    term = Terminal(repo, "task", "create", "--no-run", env={"EDITOR": editor})
    term.expect("Branch for this task [")
    term.send("\x03")
    assert term.finish() == 130, term.seen
    assert "Aborted" not in term.seen and "Traceback" not in term.seen
    draft = repo / ".git" / "claude-tasks" / "TASK_EDITMSG"
    assert f"saved in {draft}" in term.seen.replace("\n", "")
    assert draft.read_text() == "Keep this text\n\nIt took a while to write.\n"
    assert tasks(cli, repo) == []
    # the kept text is a --file away
    again = cli(repo, "task", "create", "--no-run", "--file", str(draft))
    assert again.returncode == 0, again.stderr
    assert tasks(cli, repo)[0]["title"] == "Keep this text"


def test_an_error_after_the_editor_keeps_the_text(cli: Cli, repo: Path, tmp_path: Path) -> None:
    editor = editor_writing(tmp_path, "Lost no more")
    result = cli(repo, "task", "create", "--no-run", "--base", "nope", env={"EDITOR": editor})
    assert result.returncode == 2
    assert "base branch 'nope' does not exist" in result.stderr
    draft = repo / ".git" / "claude-tasks" / "TASK_EDITMSG"
    assert f"your description is saved in {draft}" in result.stderr
    assert draft.read_text() == "Lost no more\n"
    # with -m nothing is written: the text is still in the shell's history
    draft.unlink()
    cli(repo, "task", "create", "--no-run", "--base", "nope", "-m", "inline")
    assert not draft.exists()


def test_ctrl_c_at_the_delete_confirmation_exits_130(cli: Cli, repo: Path) -> None:
    made = cli(repo, "task", "create", "--no-run", "-m", "Doomed task")
    task_id = made.stdout.strip()
    term = Terminal(repo, "task", "delete", task_id[:8])
    shown = term.expect("Delete 1 task")
    assert f"{task_id[:8]}  Doomed task" in shown  # the confirmation names the tasks
    term.send("\x03")
    assert term.finish() == 130, term.seen
    assert "Aborted" not in term.seen
    assert len(tasks(cli, repo)) == 1


def test_a_piped_delete_never_asks(cli: Cli, repo: Path) -> None:
    task_id = cli(repo, "task", "create", "--no-run", "-m", "x").stdout.strip()
    result = cli(repo, "task", "delete", task_id)
    assert result.returncode == 2 and "pass --yes" in result.stderr
