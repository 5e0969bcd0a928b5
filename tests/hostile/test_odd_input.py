"""Odd input never changes anything: one ``error:`` line, exit 1 or 2, ref and index as before.

The threats: bytes that are not UTF-8 (a Latin-1 file, a UTF-16 file, a stray
byte in an argument), NUL characters, branch names git or the file system
refuse (a 300-byte name was accepted, the agent ran and spent money, and the
run then failed with a misleading "branch moved"), descriptions of many
megabytes, and control characters in titles that rewrite the terminal. Every
case below runs the real CLI against one repository holding one task, and
asserts the exit code, exactly one line on stderr (an ``error:``), nothing on
stdout, and that ``refs/claude-tasks`` and the index file are byte for byte
what they were. Cases about input use ``--no-run``: nothing needs Docker,
except the last test, which proves that a bad branch starts no container.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from gittask.store import layout
from tests.conftest import ROOT, init_repo, run_cli
from tests.hostile.support import git_out
from tests.run_support import Project, build_image, docker_available

SMALL_LIMIT = 1000  # description.max_bytes for the cases that set it
MIB = 1024 * 1024


def bad(data: bytes) -> str:
    """An argument holding these exact bytes (subprocess passes it through os.fsencode)."""
    return os.fsdecode(data)


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    code: int  # 1: refused by the tool, 2: bad usage
    says: str  # part of the error line
    stdin: bytes = b""
    files: dict[str, bytes] = field(default_factory=dict)  # written next to the repo
    config: dict[str, object] = field(default_factory=dict)


def create(*extra: str) -> tuple[str, ...]:
    return ("task", "create", "--no-run", *extra)


def branch(name: str) -> tuple[str, ...]:
    return create("-m", "A task", "--branch", name)


def feedback(*extra: str) -> tuple[str, ...]:
    return ("task", "continue", "TASK", *extra)


LATIN1 = "Caf\u00e9 au lait\n".encode("latin-1")
UTF16 = "A task in UTF-16\n".encode("utf-16")
NOT_UTF8 = "is not UTF-8 text"
INVALID = "git does not allow it"

CASES: dict[str, Case] = {
    # -- bytes that are not UTF-8 ------------------------------------------------------
    "-m latin-1 byte": Case(create("-m", bad(b"caf\xe9")), 2, f"description {NOT_UTF8}: byte 0xe9"),
    "-m utf-16 bom bytes": Case(create("-m", bad(b"\xff\xfeA")), 2, NOT_UTF8),
    "-m truncated sequence": Case(create("-m", bad(b"euro \xe2\x82")), 2, NOT_UTF8),
    "-m overlong encoding": Case(create("-m", bad(b"slash \xc0\xaf")), 2, NOT_UTF8),
    "-m encoded surrogate": Case(create("-m", bad(b"cesu \xed\xa0\x80")), 2, NOT_UTF8),
    "--file latin-1": Case(
        create("--file", "latin1.txt"),
        2,
        "latin1.txt) is not UTF-8 text: byte 0xe9 at offset 3",
        files={"latin1.txt": LATIN1},
    ),
    "--file utf-16": Case(
        create("--file", "utf16.txt"),
        2,
        "is not UTF-8 text: byte 0xff at offset 0",
        files={"utf16.txt": UTF16},
    ),
    "--file - (stdin) latin-1": Case(create("--file", "-"), 2, f"(stdin) {NOT_UTF8}", stdin=LATIN1),
    "--branch latin-1 byte": Case(
        branch(bad(b"feature/caf\xe9")), 2, f"the branch name {NOT_UTF8}: byte 0xe9"
    ),
    "--base latin-1 byte": Case(
        create("-m", "A task", "--base", bad(b"ma\xefn")), 2, f"base branch name {NOT_UTF8}"
    ),
    "feedback latin-1 byte": Case(
        feedback("--feedback", bad(b"merci \xe0 vous")), 2, f"the feedback {NOT_UTF8}: byte 0xe0"
    ),
    "--feedback-file latin-1": Case(
        feedback("--feedback-file", "latin1.txt"),
        2,
        f"latin1.txt) {NOT_UTF8}",
        files={"latin1.txt": LATIN1},
    ),
    "--feedback-file - (stdin) utf-16": Case(
        feedback("--feedback-file", "-"), 2, f"feedback (stdin) {NOT_UTF8}", stdin=UTF16
    ),
    "search query latin-1 byte": Case(
        ("task", "search", bad(b"caf\xe9")), 2, f"the search query {NOT_UTF8}"
    ),
    # -- NUL characters ----------------------------------------------------------------
    "NUL in the title (--file)": Case(
        create("--file", "nul.txt"),
        2,
        "nul.txt) holds a NUL character (at character 3)",
        files={"nul.txt": b"Fix\0 the build\n\nDetails.\n"},
    ),
    "NUL further down (--file)": Case(
        create("--file", "nul.txt"),
        2,
        "holds a NUL character (at character 11)",
        files={"nul.txt": b"Fix build\n\n\0\n"},
    ),
    "NUL from stdin": Case(
        create("--file", "-"), 2, "(stdin) holds a NUL character", stdin=b"Title\0\n"
    ),
    "NUL in --feedback-file": Case(
        feedback("--feedback-file", "nul.txt"),
        2,
        "nul.txt) holds a NUL character (at character 5)",
        files={"nul.txt": b"retry\0please\n"},
    ),
    # -- branch names git or the file system refuse -----------------------------------------
    "--branch component of 256 bytes": Case(
        branch("x" * 256), 2, "is 256 bytes, over the 255 a file name may have"
    ),
    "--branch 128 two-byte characters": Case(
        branch("feature/" + "\u00e9" * 128), 2, "is 256 bytes, over the 255"
    ),
    "--branch 1,099 bytes in short parts": Case(
        branch("/".join(["abcdefghij"] * 100)), 2, "it is 1099 bytes, over 1024"
    ),
    "--branch a..b": Case(branch("a..b"), 2, INVALID),
    "--branch with a space": Case(branch("a b"), 2, INVALID),
    "--branch with ~": Case(branch("a~1"), 2, INVALID),
    "--branch with ^": Case(branch("a^2"), 2, INVALID),
    "--branch with :": Case(branch("a:b"), 2, INVALID),
    "--branch with ?": Case(branch("a?b"), 2, INVALID),
    "--branch with *": Case(branch("a*b"), 2, INVALID),
    "--branch with [": Case(branch("a[b"), 2, INVALID),
    "--branch with a backslash": Case(branch("a\\b"), 2, INVALID),
    "--branch ending .lock": Case(branch("topic.lock"), 2, INVALID),
    "--branch part starting with .": Case(branch("a/.hidden"), 2, INVALID),
    "--branch starting with /": Case(branch("/a"), 2, INVALID),
    "--branch ending with /": Case(branch("a/"), 2, INVALID),
    "--branch with //": Case(branch("a//b"), 2, INVALID),
    "--branch with a part ending .lock": Case(branch("a.lock/b"), 2, INVALID),
    "--branch with @{": Case(branch("a@{1}"), 2, INVALID),
    "--branch ending with .": Case(branch("a."), 2, INVALID),
    "--branch with a tab": Case(branch("a\tb"), 2, INVALID),
    "--branch with ESC": Case(branch("a\x1b[31mb"), 2, "'a\\x1b[31mb': git does not allow it"),
    "--branch with DEL": Case(branch("a\x7fb"), 2, "'a\\x7fb': git does not allow it"),
    "--branch HEAD": Case(branch("HEAD"), 2, "invalid branch name 'HEAD'"),
    "--branch starting with -": Case(branch("-x"), 2, "invalid branch name '-x'"),
    "--branch empty": Case(branch(""), 2, "invalid branch name ''"),
    "--base a..b": Case(create("-m", "A task", "--base", "a..b"), 2, "invalid base branch name"),
    "--base of 300 bytes": Case(
        create("-m", "A task", "--base", "b" * 300), 2, "is 300 bytes, over the 255"
    ),
    "--branch that exists here": Case(branch("trunk"), 2, "branch 'trunk' already exists"),
    "--branch another task uses": Case(branch("USED"), 2, "is already used by task"),
    # -- sizes -------------------------------------------------------------------------------
    "-m over description.max_bytes": Case(
        create("-m", "x" * (SMALL_LIMIT + 1)),
        2,
        "is 1,001 bytes, over the limit of 1,000",
        config={"description.max_bytes": SMALL_LIMIT},
    ),
    "-m over the limit in bytes, not characters": Case(
        create("-m", "\u00e9" * 600),
        2,
        "is 1,200 bytes, over the limit of 1,000",
        config={"description.max_bytes": SMALL_LIMIT},
    ),
    "--file over the default 1 MiB": Case(
        create("--file", "big.md"),
        2,
        "over the limit of 1,048,576 bytes (description.max_bytes)",
        files={"big.md": b"Big\n" + b"y" * MIB},
    ),
    "stdin over the default 1 MiB": Case(
        create("--file", "-"), 2, "(stdin) is larger, over the limit", stdin=b"z" * (MIB + 1)
    ),
    "--feedback over the limit": Case(
        feedback("--feedback", "f" * (SMALL_LIMIT + 1)),
        2,
        "feedback is 1,001 bytes",
        config={"description.max_bytes": SMALL_LIMIT},
    ),
    "--feedback-file over the limit": Case(
        feedback("--feedback-file", "big.md"),
        2,
        "big.md) is larger, over the limit of 1,000 bytes",
        files={"big.md": b"g" * (SMALL_LIMIT + 1)},
        config={"description.max_bytes": SMALL_LIMIT},
    ),
    "feedback within the limit but over one record": Case(
        feedback("--feedback-file", "big.md"),
        2,
        "bytes, over the 1,048,576 bytes a task record may have",
        files={"big.md": b"h" * (MIB + 10)},
        config={"description.max_bytes": 2 * MIB},
    ),
    # -- empty, missing, contradictory --------------------------------------------------
    "-m empty": Case(create("-m", ""), 2, "description is empty"),
    "-m only whitespace": Case(create("-m", " \n\t "), 2, "description is empty"),
    "--file empty": Case(create("--file", "e.md"), 2, "description is empty", files={"e.md": b""}),
    "--file missing": Case(create("--file", "missing.md"), 2, "cannot read missing.md"),
    "--file a folder": Case(create("--file", "."), 2, "cannot read ."),
    "-m and --file": Case(create("-m", "x", "--file", "e.md"), 2, "not both", files={"e.md": b"x"}),
    "--no-run with --detach": Case(create("-m", "x", "--detach"), 2, "cannot go with --no-run"),
    "--feedback empty": Case(feedback("--feedback", "  "), 2, "the feedback is empty"),
    "--feedback and --feedback-file": Case(
        feedback("--feedback", "a", "--feedback-file", "e.md"), 2, "not both", files={"e.md": b"b"}
    ),
    "--feedback-file missing": Case(
        feedback("--feedback-file", "missing.md"), 2, "cannot read missing.md"
    ),
    "--from-review with --feedback": Case(
        feedback("--from-review", "--feedback", "x"), 2, "drop -m/-f"
    ),
    # -- ids, queries, options, settings ------------------------------------------------------
    "show an id with ESC": Case(("task", "show", "\x1b[2J"), 1, "no task matches '\\x1b[2J'"),
    "show a non-UTF-8 id": Case(("task", "show", bad(b"ab\xff")), 1, "no task matches 'ab\\xff'"),
    "show an empty id": Case(("task", "show", ""), 1, "no task matches ''"),
    "search an empty query": Case(("task", "search", " "), 2, "the search query is empty"),
    "history --limit 0": Case(("task", "history", "--limit", "0"), 2, "0 is not in the range"),
    "history --branch nobody uses": Case(
        ("task", "history", "--branch", "a\x07b"), 2, "no task works on branch 'a\\x07b'"
    ),
    "list --status bogus": Case(("task", "list", "--status", "bogus"), 2, "unknown status"),
    "an unknown option": Case(("task", "list", "--bogus"), 2, "No such option: --bogus"),
    "logs --run 0": Case(("task", "logs", "TASK", "--run", "0"), 2, "0 is not in the range"),
    "config description.max_bytes 0": Case(
        ("config", "set", "description.max_bytes", "0"), 2, "(expected a positive whole number)"
    ),
    "config description.max_bytes text": Case(
        ("config", "set", "description.max_bytes", "lots"), 2, "bad value for description"
    ),
}


# -- the repository the cases run against ----------------------------------------------------


@dataclass
class Scene:
    repo: Path
    task_id: str
    used_branch: str

    @property
    def index(self) -> Path:
        return self.repo / ".git" / "claude-tasks" / "index.sqlite"

    @property
    def config(self) -> Path:
        return self.repo / ".claude-container" / "container_config.json"

    def state(self) -> tuple[str, str, str, bool]:
        """The data ref's tip, the index file's hash, the config's hash, a WAL file?"""
        tip = git_out(self.repo, "rev-parse", layout.DATA_REF)
        index = hashlib.sha256(self.index.read_bytes()).hexdigest()
        config = hashlib.sha256(self.config.read_bytes()).hexdigest()
        return tip, index, config, Path(f"{self.index}-wal").exists()


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    root = tmp_path_factory.mktemp("odd")
    home = root / "home"
    home.mkdir()
    env = {"HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1"}
    repo = init_repo(root / "repo")
    made = run_cli(repo, "task", "create", "--no-run", "-m", "The one task", env=env)
    assert made.returncode == 0, made.stderr
    task_id = made.stdout.strip().splitlines()[-1]
    shown = json.loads(run_cli(repo, "task", "show", task_id, "--json", env=env).stdout)
    config = repo / ".claude-container" / "container_config.json"
    config.parent.mkdir(exist_ok=True)
    config.write_text("{}\n")
    assert run_cli(repo, "task", "list", env=env).returncode == 0  # the index is current
    yield Scene(repo, task_id, shown["branch_name"])


@pytest.mark.parametrize("name", list(CASES))
def test_odd_input_is_one_error_line_and_changes_nothing(
    scene: Scene, tmp_path: Path, name: str
) -> None:
    case = CASES[name]
    saved = scene.config.read_bytes()
    if case.config:
        scene.config.write_text(json.dumps(case.config) + "\n")
    before = scene.state()
    for file_name, data in case.files.items():
        (tmp_path / file_name).write_bytes(data)
    args = [
        a.replace("TASK", scene.task_id[:8]).replace("USED", scene.used_branch) for a in case.args
    ]
    try:
        proc = _run(scene, tmp_path, case, args)
        stderr = proc.stderr.decode("utf-8", "replace")
        assert proc.returncode == case.code, (proc.returncode, stderr)
        assert proc.stdout == b""
        lines = stderr.splitlines()
        assert len(lines) == 1, stderr
        assert lines[0].startswith("error: "), stderr
        assert case.says in lines[0], lines[0]
        assert "Traceback" not in stderr
        assert scene.state() == before, "the data ref, the index or the config changed"
    finally:
        scene.config.write_bytes(saved)


def _python() -> list[str]:
    return [sys.executable, "-m", "gittask"]


def _run(
    scene: Scene, folder: Path, case: Case, args: list[str]
) -> subprocess.CompletedProcess[bytes]:
    """The CLI in the repository; files named by a case are given by absolute path."""
    resolved = [str(folder / a) if a in case.files else a for a in args]
    return subprocess.run(
        [*_python(), *resolved],
        cwd=scene.repo,
        input=case.stdin,
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
        check=False,
    )


def test_there_are_at_least_forty_cases() -> None:
    assert len(CASES) >= 40


def test_git_itself_refuses_the_names_refused_as_invalid() -> None:
    """The names refused with "git does not allow it" are the ones git refuses."""
    for name, case in CASES.items():
        if INVALID in case.says and "--branch" in case.args:
            value = case.args[case.args.index("--branch") + 1]
            check = subprocess.run(
                ["git", "check-ref-format", "--branch", value], capture_output=True, check=False
            )
            assert check.returncode != 0, f"{name}: git accepts {value!r}"
    # and names git takes are taken
    for good in ("feature/\u00e9t\u00e9", "fix-123_a.b", "a@b", "x" * 255, "user/topic+1"):
        assert (
            subprocess.run(
                ["git", "check-ref-format", "--branch", good], capture_output=True, check=False
            ).returncode
            == 0
        )
        from gittask.workflow.branches import check_branch_name

        assert check_branch_name(good) == good


# -- control characters in titles: stored as given, printed escaped --------------------------

TITLES = {
    "\x1b[2J\x1b[31mcleared and red": "\\x1b[2J\\x1b[31mcleared and red",
    "bell\x07 and backspace\x08": "bell\\x07 and backspace\\x08",
    "carriage\rreturn": "carriage\\rreturn",  # a CR splits lines: the title is what precedes
    "bidi \u202eevil\u202c text": "bidi \\u202eevil\\u202c text",
    "C1 \x9b31m control": "C1 \\x9b31m control",
    "[bold red]not markup[/bold red]": "[bold red]not markup[/bold red]",
}


def test_control_characters_in_titles_are_printed_escaped(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    made = {}
    for raw in TITLES:
        proc = run_cli(repo, "task", "create", "--no-run", "--file", "-", input=raw + "\n\nbody\n")
        assert proc.returncode == 0, proc.stderr
        made[proc.stdout.strip().splitlines()[-1]] = raw
    stored = {
        t["id"]: t["title"] for t in json.loads(run_cli(repo, "task", "list", "--json").stdout)
    }
    for task_id, raw in made.items():  # JSON keeps the text exactly as given
        assert stored[task_id] == raw.split("\r")[0]
    unsafe = [chr(c) for c in (*range(0x20), *range(0x7F, 0xA0))] + ["\u202e", "\u202c"]
    for args in (("task", "list"), ("task", "search", "body"), ("task", "history")):
        proc = run_cli(repo, *args)
        assert proc.returncode == 0, proc.stderr
        printed = proc.stdout.replace("\n", "")
        assert not [c for c in unsafe if c in printed], f"{args}: {proc.stdout!r}"
        for shown in TITLES.values():
            assert shown.split("\\r")[0] in proc.stdout, f"{args}: {shown!r} in {proc.stdout!r}"
    first = next(i for i, raw in made.items() if raw.startswith("\x1b"))
    shown = run_cli(repo, "task", "show", first[:8])
    assert "\x1b" not in shown.stdout and "title:" in shown.stdout
    assert "\\x1b[2J\\x1b[31mcleared and red" in shown.stdout


def test_tables_on_a_terminal_escape_too(tmp_path: Path) -> None:
    """On a terminal the table is rich's: still no raw control characters, no markup."""
    repo = init_repo(tmp_path / "repo")
    run_cli(repo, "task", "create", "--no-run", "--file", "-", input="\x1b[31mred [bold]b[/bold]\n")
    script = (
        "import os, pty, sys\n"
        "pid, fd = pty.fork()\n"
        "if pid == 0:\n"
        "    os.execvp(sys.executable, [sys.executable, '-m', 'gittask', 'task', 'list'])\n"
        "out = b''\n"
        "while True:\n"
        "    try:\n"
        "        chunk = os.read(fd, 65536)\n"
        "    except OSError:\n"
        "        break\n"
        "    if not chunk:\n"
        "        break\n"
        "    out += chunk\n"
        "os.waitpid(pid, 0)\n"
        "sys.stdout.buffer.write(out)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=repo,
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "TERM": "xterm", "COLUMNS": "200"},
        timeout=60,
        check=False,
    )
    text = proc.stdout.decode("utf-8", "replace")
    assert "\\x1b[31mred [bold]b[/bold]" in text, text
    assert "\x1b[31mred" not in text


# -- a branch name the file system refuses starts no container -----------------------------


def _containers_created(since: str, until: str, key: str) -> list[str]:
    out = subprocess.run(
        [
            "docker",
            "events",
            "--since",
            since,
            "--until",
            until,
            "--filter",
            "type=container",
            "--filter",
            "event=create",
            "--filter",
            f"label=gittask.repo={key}",
            "--format",
            "{{.Actor.ID}}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return out.split()


@pytest.mark.skipif(not docker_available(), reason="no Docker engine")
def test_a_branch_the_file_system_refuses_is_refused_before_any_container_starts(
    tmp_path: Path,
) -> None:
    from gittask.runner import naming
    from gittask.store.repo import GitRepo

    project = Project(tmp_path / "p", build_image()).setup()
    key = naming.repo_key(GitRepo(git_dir=project.common.resolve(), workdir=project.work))
    start = str(int(time.time()) - 1)

    refused = project.cli("task", "create", "-m", "Spend no money", "--branch", "b" * 300)

    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.splitlines() == [refused.stderr.strip()]
    assert "is 300 bytes, over the 255 a file name may have" in refused.stderr
    ran = project.cli("task", "create", "-m", "Spend a little", "--branch", "fine-name")
    assert ran.returncode == 0, ran.stderr  # the same setup does start a container
    until = str(int(time.time()) + 1)
    created = _containers_created(start, until, key)
    assert len(created) == 1, created  # the good name's run, and only that
    tasks = json.loads(project.cli("task", "list", "--json").stdout)
    assert [t["branch_name"] for t in tasks] == ["fine-name"]
