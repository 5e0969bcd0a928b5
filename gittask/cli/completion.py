"""Shell completion for bash, zsh and fish: the scripts, installing them, and what completes.

- ``claude-container --show-completion [SHELL]`` prints the script for SHELL (default:
  the shell it runs in); ``--install-completion [SHELL]`` writes it below
  ``~/.local/share/claude-container/`` (fish: ``~/.config/fish/completions/``) and
  adds one line that loads it to ``~/.bashrc`` / ``~/.zshrc``, saying what it changed.
- The scripts call the command back with ``_CLAUDE_CONTAINER_COMPLETE`` set (typer's
  protocol: ``COMP_WORDS``/``COMP_CWORD`` for bash, ``_TYPER_COMPLETE_ARGS`` for zsh and
  fish); :func:`gittask.cli.app.main` sends such a request to typer, which asks the
  completers below.
- Task ids come from the local index (no pygit2 when it is current), newest first, as
  their shortest unique prefix, with the title as help where the shell shows it (zsh,
  fish); branch names from ``git for-each-ref``. A completer never prints an error.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gittask.errors import UsageError

if TYPE_CHECKING:
    from gittask.workflow.database import IndexRow

PROG = "claude-container"
COMPLETE_VAR = "_CLAUDE_CONTAINER_COMPLETE"
SHELLS = ("bash", "zsh", "fish")
OPTIONS = ("--show-completion", "--install-completion")
#: Longest help shown next to a completed id (zsh and fish print it on one line).
HELP_WIDTH = 60


# -- the completers (called by typer while completing) -----------------------------------


def task_ids(incomplete: str) -> list[tuple[str, str]]:
    """Ids of the tasks here that start with ``incomplete``, with their status and title."""
    try:
        return _task_ids(incomplete)
    except Exception:  # a completion never shows a traceback in the middle of a command line
        return []


def _task_ids(incomplete: str) -> list[tuple[str, str]]:
    from gittask.model.ids import short_ids

    rows = _rows()
    short = short_ids([row.id for row in rows])
    found = []
    needle = incomplete.lower()
    for row in rows:
        name = short.get(row.id, row.id)
        value = name if name.startswith(needle) else row.id if row.id.startswith(needle) else ""
        if value:
            found.append((value, _help(row)))
    return found


def _help(row: IndexRow) -> str:
    """``status: title`` on one line, control characters shown as escapes."""
    from gittask.display import escape
    from gittask.text import one_line

    return one_line(f"{row.status or '?'}: {escape(row.title or '')}", HELP_WIDTH)


def _rows() -> list[IndexRow]:
    from gittask.workflow.database import fast_index, open_database

    index = fast_index()
    return index.rows() if index is not None else open_database(reading=True).rows()


def task_branches(incomplete: str) -> list[tuple[str, str]]:
    """The tasks' branches that start with ``incomplete`` (for ``list --branch``)."""
    try:
        rows = _rows()
    except Exception:
        return []
    return [
        (row.branch, _help(row)) for row in rows if row.branch and row.branch.startswith(incomplete)
    ]


def branches(incomplete: str) -> list[str]:
    """Local branches and the remotes' (without the remote's name), for --base / --branch."""
    import subprocess

    try:
        proc = subprocess.run(
            ["git", "for-each-ref", "--format=%(refname)", "refs/heads", "refs/remotes"],
            capture_output=True,
            text=True,
            check=False,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return []
    names: list[str] = []
    for ref in proc.stdout.split():
        if ref.startswith("refs/heads/"):
            name = ref[len("refs/heads/") :]
        else:  # refs/remotes/<remote>/<branch>
            parts = ref.split("/", 3)
            if len(parts) < 4 or parts[3] == "HEAD":
                continue
            name = parts[3]
        if name.startswith(incomplete) and name not in names:
            names.append(name)
    return names


# -- --show-completion / --install-completion ----------------------------------------------


def answer(argv: list[str]) -> bool:
    """Handle ``--show-completion [SHELL]`` / ``--install-completion [SHELL]`` (also
    ``--show-completion=SHELL``) given as the whole command line; False: not one of them."""
    if not argv:
        return False
    option, _, value = argv[0].partition("=")
    if option not in OPTIONS:
        return False
    rest = argv[1:]
    if not value and rest and not rest[0].startswith("-"):
        value, rest = rest[0], rest[1:]
    if rest:
        raise UsageError(f"unexpected argument {rest[0]!r} after {option}")
    run_option(option, value or None)
    return True


def run_option(option: str, shell: str | None) -> None:
    shell = check_shell(shell) if shell else detect_shell()
    if option == "--show-completion":
        sys.stdout.write(script(shell))
    else:
        for line in install(shell):
            sys.stderr.write(line + "\n")


def check_shell(name: str) -> str:
    shell = os.path.basename(name.strip()).lower()
    if shell not in SHELLS:
        raise UsageError(f"no completion for the shell '{name}'", "name one of: bash, zsh, fish")
    return shell


def detect_shell() -> str:
    """The shell this runs in (its parent processes), else ``$SHELL``."""
    name = ""
    try:
        import shellingham  # type: ignore[import-untyped]

        name = shellingham.detect_shell()[0]
    except Exception:  # not found, or no /proc
        name = os.environ.get("SHELL", "")
    shell = os.path.basename(name).lower()
    if shell not in SHELLS:
        raise UsageError(
            f"cannot tell which shell to complete for (found '{name or 'none'}')",
            "name it: --show-completion bash (or zsh, fish)",
        )
    return shell


def script(shell: str) -> str:
    """The completion script for ``shell`` (typer's, which its completion classes answer)."""
    from typer._completion_shared import get_completion_script

    text = get_completion_script(prog_name=PROG, complete_var=COMPLETE_VAR, shell=shell)
    return text.strip("\n") + "\n"


def script_path(shell: str, home: Path) -> Path:
    if shell == "fish":
        config = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
        return config / "fish" / "completions" / f"{PROG}.fish"
    data = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    return data / PROG / f"completion.{shell}"


def _loader(shell: str, path: Path) -> list[str]:
    """The lines an rc file gets to load ``path`` (zsh: after compinit)."""
    lines = [f"# {PROG} shell completion ({PROG} --install-completion {shell})"]
    if shell == "zsh":
        lines.append("(( $+functions[compdef] )) || { autoload -Uz compinit && compinit }")
    lines.append(f"[ -f '{path}' ] && . '{path}'")
    return lines


def install(shell: str, home: Path | None = None) -> list[str]:
    """Write the script and load it from the shell's rc file; what was done, one line each."""
    home = home or Path.home()
    path = script_path(shell, home)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(script(shell), encoding="utf-8")
    done = [f"wrote {path}"]
    if shell == "fish":  # fish loads its completions folder by itself
        return [*done, "open a new fish shell to use it"]
    rc = home / (".bashrc" if shell == "bash" else ".zshrc")
    current = rc.read_text(encoding="utf-8", errors="replace") if rc.is_file() else ""
    if str(path) in current:
        done.append(f"{rc} already loads it")
    else:
        lines = _loader(shell, path)
        separator = "" if not current or current.endswith("\n") else "\n"
        with rc.open("a", encoding="utf-8") as handle:
            handle.write(separator + "\n".join(lines) + "\n")
        done.append(f"added to {rc}: {lines[-1]}")
    return [*done, f"open a new shell (or run: . '{path}') to use it"]


def prepare_typer() -> None:
    """Register the answers for bash, zsh and fish (typer does it only with add_completion).

    typer's zsh and fish answers render each help text through rich to drop markup,
    which costs rich's import (~100 ms) on every TAB; the help here is plain text, so
    they are formatted as typer does, without rich."""
    import typer._completion_classes as classes

    try:
        from typer._click.shell_completion import add_completion_class
    except ImportError:  # an older typer: click itself
        from click.shell_completion import (  # type: ignore[no-redef,import-not-found,unused-ignore]
            add_completion_class,
        )

    classes.completion_init()

    class Zsh(classes.ZshComplete):
        def format_completion(self, item: Any) -> str:
            def quoted(text: str) -> str:
                for char, escaped in (('"', '""'), ("'", "''"), ("$", "\\$"), ("`", "\\`")):
                    text = text.replace(char, escaped)
                return text.replace(":", r"\\:")

            if item.help:
                return f'"{quoted(item.value)}":"{quoted(item.help)}"'
            return f'"{quoted(item.value)}"'

    class Fish(classes.FishComplete):
        def format_completion(self, item: Any) -> str:
            if item.help:
                return f"{item.value}\t{' '.join(str(item.help).split())}"
            return f"{item.value}"

    add_completion_class(Zsh, "zsh")
    add_completion_class(Fish, "fish")
