"""Shell completion: the scripts, installing them, and the completion protocol itself.

Each request is made as the shells' scripts make it (typer's protocol: the
``_CLAUDE_CONTAINER_COMPLETE`` variable, ``COMP_WORDS``/``COMP_CWORD`` for bash,
``_TYPER_COMPLETE_ARGS`` for zsh and fish) against the real command in a
subprocess; the bash script is also loaded by a real interactive bash on a pty,
where TAB completes a task id.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ROOT, CliResult, git
from tests.pty_support import Terminal

Cli = Callable[..., CliResult]
VAR = "_CLAUDE_CONTAINER_COMPLETE"


def make_tasks(cli: Cli, repo: Path) -> dict[str, str]:
    """Two tasks; their short id (as list prints it) to title."""
    for text in ("Fix the parser", "Document [the] API: v2"):
        made = cli(repo, "task", "create", "--no-run", "-m", text)
        assert made.returncode == 0, made.stderr
    listed = json.loads(cli(repo, "task", "list", "--json").stdout)
    return {str(t["short_id"]): str(t["title"]) for t in listed}


def complete(cli: Cli, repo: Path, shell: str, line: str, **extra: str) -> CliResult:
    """What the shell's script asks when TAB is pressed at the end of ``line``."""
    env = {VAR: f"complete_{shell}", **extra}
    if shell == "bash":
        words = line.split(" ")
        env.update(COMP_WORDS=line, COMP_CWORD=str(len(words) - 1))
    else:
        env["_TYPER_COMPLETE_ARGS"] = line
        if shell == "fish":
            env.setdefault("_TYPER_COMPLETE_FISH_ACTION", "get-args")
    result = cli(repo, env=env)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def test_bash_completes_task_ids(cli: Cli, repo: Path) -> None:
    tasks = make_tasks(cli, repo)
    commands = ("show", "edit", "diff", "stop", "logs", "continue", "delete", "label", "deps")
    for command in (*commands, "create --depends-on", "deps x --add"):
        result = complete(cli, repo, "bash", f"claude-container task {command} ")
        assert result.returncode == 0, result.stderr
        assert sorted(result.stdout.split()) == sorted(tasks), command
    one = next(iter(tasks))
    narrowed = complete(cli, repo, "bash", f"claude-container task show {one[:5]}")
    assert narrowed.stdout.split() == [one]
    # the aliases and a second id of delete complete too
    assert sorted(complete(cli, repo, "bash", "claude-container task rm x ").stdout.split()) == (
        sorted(tasks)
    )
    # commands complete as before
    assert complete(cli, repo, "bash", "claude-container ta").stdout.split() == ["task"]


def test_zsh_and_fish_show_titles_as_help(cli: Cli, repo: Path) -> None:
    tasks = make_tasks(cli, repo)
    zsh = complete(cli, repo, "zsh", "claude-container task show ")
    assert zsh.returncode == 0 and zsh.stdout.startswith("_arguments '*: :((")
    for short in tasks:
        assert f'"{short}":"pending\\\\: ' in zsh.stdout
    assert "Fix the parser" in zsh.stdout and "Document [the] API\\\\: v2" in zsh.stdout
    fish = complete(cli, repo, "fish", "claude-container task edit ")
    lines = sorted(fish.stdout.splitlines())
    assert lines == sorted(f"{short}\tpending: {title}" for short, title in tasks.items())
    # fish asks first whether arguments complete here (exit 0: yes, no file names)
    asked = complete(
        cli, repo, "fish", "claude-container task show ", _TYPER_COMPLETE_FISH_ACTION="is-args"
    )
    assert asked.returncode == 0


def test_branches_complete_for_base_and_branch(cli: Cli, repo: Path, tmp_path: Path) -> None:
    git(repo, "branch", "feature/login")
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    git(repo, "remote", "add", "origin", str(origin))
    git(repo, "push", "-q", "origin", "trunk:release-1")
    git(repo, "fetch", "-q", "origin")
    base = complete(cli, repo, "bash", "claude-container task create --base ")
    assert sorted(base.stdout.split()) == ["feature/login", "release-1", "trunk"]
    assert complete(cli, repo, "bash", "claude-container task create -b fea").stdout.split() == [
        "feature/login"
    ]
    # list --branch: the tasks' branches
    tasks = make_tasks(cli, repo)
    listed = complete(cli, repo, "bash", "claude-container task list --branch claude/fix")
    [branch] = listed.stdout.split()
    assert branch.startswith("claude/fix-the-parser-") and branch[-8:] in tasks


def test_completion_outside_a_repository_is_silent(cli: Cli, tmp_path: Path) -> None:
    empty = tmp_path / "nowhere"
    empty.mkdir()
    result = complete(cli, empty, "bash", "claude-container task show ")
    assert result.returncode == 0 and result.stdout.strip() == "" and result.stderr == ""


def test_show_completion_prints_each_script(cli: Cli, repo: Path) -> None:
    for shell, marker in (
        ("bash", "complete -o default -F _claude_container_completion claude-container"),
        ("zsh", "compdef _claude_container_completion claude-container"),
        ("fish", "complete --command claude-container"),
    ):
        for args in (["--show-completion", shell], [f"--show-completion={shell}"]):
            result = cli(repo, *args)
            assert result.returncode == 0, result.stderr
            assert marker in result.stdout and f"{VAR}=complete_{shell}" in result.stdout
    # the same through typer (no fast path)
    slow = cli(repo, "--show-completion=zsh", env={"GITTASK_NO_FASTPATH": "1"})
    assert "compdef" in slow.stdout
    bad = cli(repo, "--show-completion", "tcsh")
    assert bad.returncode == 2
    assert (
        bad.stderr == "error: no completion for the shell 'tcsh' (name one of: bash, zsh, fish)\n"
    )
    helped = cli(repo, "--help")
    assert "--install-completion [SHELL]" in helped.stdout and "--show-completion" in helped.stdout


def test_install_completion_writes_the_script_and_one_rc_line(
    cli: Cli, repo: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    env = {"HOME": str(home), "XDG_DATA_HOME": "", "XDG_CONFIG_HOME": ""}
    (home / ".bashrc").write_text("# mine\nalias ll='ls -l'")  # no final newline
    first = cli(repo, "--install-completion", "bash", env=env)
    assert first.returncode == 0, first.stderr
    script = home / ".local" / "share" / "claude-container" / "completion.bash"
    assert f"wrote {script}" in first.stderr and "added to" in first.stderr
    assert "_claude_container_completion" in script.read_text()
    rc = (home / ".bashrc").read_text()
    assert rc.startswith("# mine\nalias ll='ls -l'\n# claude-container shell completion")
    assert rc.endswith(f"[ -f '{script}' ] && . '{script}'\n")
    again = cli(repo, "--install-completion", "bash", env=env)
    assert again.returncode == 0 and "already loads it" in again.stderr
    assert (home / ".bashrc").read_text() == rc
    zsh = cli(repo, "--install-completion=zsh", env=env)
    assert zsh.returncode == 0, zsh.stderr
    zshrc = (home / ".zshrc").read_text()
    assert "compinit" in zshrc and "completion.zsh" in zshrc
    fish = cli(repo, "--install-completion", "fish", env=env)
    fish_file = home / ".config" / "fish" / "completions" / "claude-container.fish"
    assert fish.returncode == 0 and fish_file.is_file()
    assert not (home / ".config" / "fish" / "config.fish").exists()  # fish needs no rc line


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_tab_in_a_real_bash_completes_a_task_id(cli: Cli, repo: Path, tmp_path: Path) -> None:
    tasks = make_tasks(cli, repo)
    short, title = next((s, t) for s, t in tasks.items() if t == "Fix the parser")
    home = tmp_path / "home"
    (home / ".bashrc").write_text("PS1='READY$ '\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    command = bin_dir / "claude-container"
    command.write_text(
        f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(ROOT)!r})\n"
        "from gittask.cli.app import main\nmain()\n"
    )
    command.chmod(0o755)
    env = {"HOME": str(home), "PATH": f"{bin_dir}:{os.environ['PATH']}", "INPUTRC": "/dev/null"}
    installed = cli(repo, "--install-completion", "bash", env=env)
    assert installed.returncode == 0, installed.stderr
    term = Terminal(repo, "-i", env=env, program=["bash", "--noprofile"])
    term.expect("READY$ ")
    term.send(f"claude-container task show {short[:4]}\t")
    term.expect(f"task show {short} ")  # TAB wrote the rest of the id
    term.send("\r")
    term.expect(f"title:         {title}")
    term.send("exit\r")
    assert term.finish() == 0, term.seen
