"""The project commands on real repositories and the real Docker engine:
``init``, ``build``, ``config show|get|set``, ``clean`` and ``scripts/demo``.

The CLI runs as a subprocess; every container and image made here is removed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import git, init_repo, run_cli
from tests.paths import ROOT
from tests.run_support import Project, build_image, docker_available

CONFIG = Path(".claude-container") / "container_config.json"
DOCKERFILE = Path(".claude-container") / "Dockerfile.claude"
BUSYBOX = Path("/bin/busybox")

needs_docker = pytest.mark.skipif(not docker_available(), reason="no Docker engine")


def _repo_of(path: Path) -> object:
    from gittask.store.repo import GitRepo

    return GitRepo(git_dir=(path / ".git").resolve(), workdir=path)


def _default_tag(path: Path) -> str:
    from gittask.runner import naming

    return naming.default_image_tag(_repo_of(path))  # type: ignore[arg-type]


def _repo_key(path: Path) -> str:
    from gittask.runner import naming

    return naming.repo_key(_repo_of(path))  # type: ignore[arg-type]


def _docker(*args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check)


def _image_exists(tag: str) -> bool:
    return _docker("image", "inspect", tag).returncode == 0


@pytest.fixture
def images() -> Iterator[list[str]]:
    """Tags to remove at the end of the test."""
    made: list[str] = []
    yield made
    for tag in made:
        _docker("rmi", "-f", tag)


@pytest.fixture
def containers() -> Iterator[list[str]]:
    made: list[str] = []
    yield made
    for cid in made:
        _docker("rm", "-f", cid)


def _scratch_dockerfile(work: Path) -> None:
    folder = work / ".claude-container"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(BUSYBOX, folder / "busybox")
    (folder / "Dockerfile.claude").write_text(
        "FROM scratch\nCOPY busybox /bin/busybox\nUSER 1000\nWORKDIR /workspace\n"
    )


# -- init ------------------------------------------------------------------------------


def test_init_writes_config_dockerfile_and_gitignore(repo: Path) -> None:
    (repo / ".gitignore").write_text("*.pyc\nbuild/")  # no final newline: kept as is
    proc = run_cli(repo, "init")
    assert proc.returncode == 0, proc.stderr
    config = json.loads((repo / CONFIG).read_text())
    assert config["agent"] == "claude" and config["timeout_seconds"] == 3600
    dockerfile = (repo / DOCKERFILE).read_text()
    assert "ARG BASE_IMAGE=node:" in dockerfile and "claude-code@" in dockerfile
    uid = os.getuid() or 1000
    assert f"USER_UID={uid}" in dockerfile
    from gittask.runner.dockerfile import validate_dockerfile

    assert validate_dockerfile(dockerfile) == []
    lines = (repo / ".gitignore").read_text().splitlines()
    assert lines == ["*.pyc", "build/", ".claude-container/tasks/"]
    # the shared files are not ignored
    ignored = git(repo, "check-ignore", str(CONFIG), str(DOCKERFILE), check=False)
    assert ignored == ""
    assert "wrote" in proc.stdout and ".gitignore" in proc.stdout


def test_init_twice_changes_nothing(repo: Path) -> None:
    assert run_cli(repo, "init").returncode == 0
    files = [repo / CONFIG, repo / DOCKERFILE, repo / ".gitignore"]
    before = [(p.read_bytes(), p.stat().st_mtime_ns) for p in files]
    config_before = git(repo, "config", "--local", "--list")
    proc = run_cli(repo, "init")
    assert proc.returncode == 0, proc.stderr
    assert [(p.read_bytes(), p.stat().st_mtime_ns) for p in files] == before
    assert git(repo, "config", "--local", "--list") == config_before
    assert "nothing to change" in proc.stdout


def test_init_keeps_edited_files_unless_forced(repo: Path) -> None:
    assert run_cli(repo, "init").returncode == 0
    edited_config = '{"agent": "command", "agent_command": "make fix"}\n'
    edited_dockerfile = "FROM mine\nUSER 1000\nWORKDIR /workspace\n"
    (repo / CONFIG).write_text(edited_config)
    (repo / DOCKERFILE).write_text(edited_dockerfile)
    proc = run_cli(repo, "init")
    assert proc.returncode == 0, proc.stderr
    assert (repo / CONFIG).read_text() == edited_config
    assert (repo / DOCKERFILE).read_text() == edited_dockerfile
    assert "kept .claude-container/container_config.json" in proc.stdout
    assert "kept .claude-container/Dockerfile.claude" in proc.stdout
    assert "--force" in proc.stdout

    proc = run_cli(repo, "init", "--force")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((repo / CONFIG).read_text())["agent"] == "claude"
    assert "ARG BASE_IMAGE=node:" in (repo / DOCKERFILE).read_text()
    assert "replaced" in proc.stdout
    assert (repo / ".gitignore").read_text().count(".claude-container/tasks/") == 1


def test_init_without_origin_works(repo: Path) -> None:
    proc = run_cli(repo, "init")
    assert proc.returncode == 0, proc.stderr
    assert "no remote 'origin'" in proc.stdout
    assert git(repo, "remote") == ""


def test_init_with_origin_configures_the_remote(team: object) -> None:
    from tests.conftest import Team

    assert isinstance(team, Team)
    work = team.clone("alice")
    proc = run_cli(work, "init")
    assert proc.returncode == 0, proc.stderr
    assert "added remote.origin.fetch = +refs/notes/claude-tasks*" in proc.stdout
    fetch = git(work, "config", "--get-all", "remote.origin.fetch")
    assert "refs/notes/claude-tasks" in fetch
    # plain `git push` is left alone
    assert git(work, "config", "--get-all", "remote.origin.push", check=False) == ""
    # twice: no duplicated refspecs
    assert run_cli(work, "init").returncode == 0
    assert git(work, "config", "--get-all", "remote.origin.fetch") == fetch


def test_init_in_a_subfolder_writes_at_the_top(repo: Path) -> None:
    sub = repo / "src" / "deep"
    sub.mkdir(parents=True)
    assert run_cli(sub, "init").returncode == 0
    assert (repo / CONFIG).is_file() and not (sub / ".claude-container").exists()


def test_init_outside_a_repository_is_one_line(tmp_path: Path) -> None:
    proc = run_cli(tmp_path, "init")
    assert proc.returncode != 0
    assert proc.stderr.count("\n") == 1 and "not a git repository" in proc.stderr


# -- config ----------------------------------------------------------------------------


def test_config_get_set_show(repo: Path) -> None:
    assert run_cli(repo, "init").returncode == 0
    proc = run_cli(repo, "config", "get", "agent")
    assert (proc.returncode, proc.stdout) == (0, "claude\n")
    for key, value, stored in [
        ("image", "my/image:1", "my/image:1"),
        ("agent", "command", "command"),
        ("agent_command", "make fix", "make fix"),
        ("base_branch", "develop", "develop"),
        ("timeout_seconds", "120", 120),
        ("memory", "2G", "2g"),
        ("cpus", "1.5", 1.5),
        ("env", "FOO, BAR_2", ["FOO", "BAR_2"]),
        ("network", "none", "none"),
    ]:
        proc = run_cli(repo, "config", "set", key, value)
        assert proc.returncode == 0, (key, proc.stderr)
        assert json.loads((repo / CONFIG).read_text())[key] == stored
    assert run_cli(repo, "config", "get", "env").stdout == "FOO,BAR_2\n"
    assert run_cli(repo, "config", "get", "timeout_seconds").stdout == "120\n"
    proc = run_cli(repo, "config", "show", "--json")
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(proc.stdout)
    assert shown["image"]["value"] == "my/image:1" and shown["cpus"]["value"] == 1.5
    proc = run_cli(repo, "config", "show")
    assert proc.returncode == 0 and "agent_command" in proc.stdout and "make fix" in proc.stdout
    # back to the default
    assert run_cli(repo, "config", "set", "image", "").returncode == 0
    assert json.loads((repo / CONFIG).read_text())["image"] is None


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("no_such_key", "1", "unknown config key"),
        ("agent", "gpt", "claude"),
        ("timeout_seconds", "-5", "positive"),
        ("timeout_seconds", "soon", "timeout_seconds"),
        ("memory", "lots", "512m"),
        ("cpus", "0", "positive"),
        ("env", "ANTHROPIC_API_KEY=sk-123", "names only"),
        ("base_branch", "--evil", "branch"),
    ],
)
def test_config_set_refuses_bad_input(repo: Path, key: str, value: str, words: str) -> None:
    assert run_cli(repo, "init").returncode == 0
    before = (repo / CONFIG).read_bytes()
    proc = run_cli(repo, "config", "set", key, value)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1
    assert words in proc.stderr
    assert (repo / CONFIG).read_bytes() == before
    assert not list((repo / ".claude-container").glob(".config.*"))


def test_config_get_unknown_key(repo: Path) -> None:
    proc = run_cli(repo, "config", "get", "nope")
    assert proc.returncode == 2 and "unknown config key 'nope'" in proc.stderr


def test_config_set_without_init_creates_the_file(repo: Path) -> None:
    proc = run_cli(repo, "config", "set", "memory", "1g")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((repo / CONFIG).read_text())["memory"] == "1g"


# -- build -----------------------------------------------------------------------------


@needs_docker
def test_build_produces_the_derived_tag(repo: Path, images: list[str]) -> None:
    _scratch_dockerfile(repo)
    tag = _default_tag(repo)
    images.append(tag)
    proc = run_cli(repo, "build")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == tag
    # progress, plain lines when piped, then what was built
    assert "Step 1/" in proc.stderr and ": FROM scratch" in proc.stderr
    assert f"built: {tag} (image " in proc.stderr
    assert _image_exists(tag)
    image_id = json.loads(_docker("image", "inspect", tag, check=True).stdout)[0]["Id"]

    # nothing changed: no build at all, the same image
    again = run_cli(repo, "build", "--json")
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["cached"] is True and report["image_id"] == image_id
    assert "Step " not in again.stderr
    # a setting that does not shape the image changes nothing either
    assert run_cli(repo, "config", "set", "memory", "1g").returncode == 0
    assert json.loads(run_cli(repo, "build", "--json").stdout)["cached"] is True
    # an edited Dockerfile is built again
    with (repo / DOCKERFILE).open("a") as handle:
        handle.write("ENV EDITED=1\n")
    edited = json.loads(run_cli(repo, "build", "--json").stdout)
    assert edited["cached"] is False and edited["image_id"] != image_id
    inspect = json.loads(_docker("image", "inspect", tag, check=True).stdout)[0]
    assert inspect["Config"]["User"] == "1000"
    assert inspect["Config"]["WorkingDir"] == "/workspace"

    # --no-cache builds again; clean --images removes it
    assert run_cli(repo, "build", "--no-cache").returncode == 0
    proc = run_cli(repo, "clean", "--images")
    assert proc.returncode == 0, proc.stderr
    assert f"removed image {tag}" in proc.stdout
    assert not _image_exists(tag)


@needs_docker
def test_build_context_leaves_out_the_task_working_copy(repo: Path, images: list[str]) -> None:
    _scratch_dockerfile(repo)
    folder = repo / ".claude-container"
    (folder / "tasks" / "tasks").mkdir(parents=True)
    (folder / "tasks" / "tasks" / "log.txt").write_text("a task's log\n")
    (folder / "extra.txt").write_text("part of the image\n")
    (folder / "Dockerfile.claude").write_text(
        "FROM scratch\nCOPY . /ctx/\nUSER 1000\nWORKDIR /workspace\n"
    )
    tag = _default_tag(repo)
    images.append(tag)
    proc = run_cli(repo, "build")
    assert proc.returncode == 0, proc.stderr
    listing = _docker(
        "run", "--rm", "--network", "none", "--entrypoint", "/ctx/busybox", tag, "ls", "/ctx"
    )
    assert listing.returncode == 0, listing.stderr
    names = listing.stdout.split()
    assert "extra.txt" in names and "busybox" in names and "tasks" not in names


@needs_docker
def test_build_gives_the_declared_uid_args_the_builders_ids(repo: Path, images: list[str]) -> None:
    _scratch_dockerfile(repo)
    (repo / DOCKERFILE).write_text(
        "FROM scratch\nCOPY busybox /bin/busybox\n"
        "ARG USER_UID=4242\nARG USER_GID=4243\n"
        'RUN ["/bin/busybox", "sh", "-c", "echo $USER_UID:$USER_GID > /ids"]\n'
        "USER 1000\nWORKDIR /workspace\n"
    )
    tag = _default_tag(repo)
    images.append(tag)
    env: dict[str, str] = {}
    if os.getuid() == 0:  # as root under sudo: the invoking user's ids
        env = {"SUDO_UID": "1234", "SUDO_GID": "1235"}
        expected = "1234:1235"
    else:
        expected = f"{os.getuid()}:{os.getgid()}"
    proc = run_cli(repo, "build", env=env)
    assert proc.returncode == 0, proc.stderr
    shown = _docker(
        "run", "--rm", "--network", "none", "--entrypoint", "/bin/busybox", tag, "cat", "/ids"
    )
    assert shown.stdout.strip() == expected, shown.stderr


def test_declared_args() -> None:
    from gittask.runner.image import declared_args

    text = "FROM x\nARG USER_UID=1\n  arg USER_GID\nARG A=1 B\n# ARG NOT_ME\nENV ARG=1\n"
    assert declared_args(text) == {"USER_UID", "USER_GID", "A", "B"}


@needs_docker
def test_build_uses_the_configured_image(repo: Path, images: list[str]) -> None:
    _scratch_dockerfile(repo)
    tag = f"gittask-test-configured-{os.getpid()}:v1"
    images.append(tag)
    assert run_cli(repo, "config", "set", "image", tag).returncode == 0
    proc = run_cli(repo, "build")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == tag and _image_exists(tag)


@needs_docker
def test_same_folder_name_different_tags(tmp_path: Path, images: list[str]) -> None:
    first = init_repo(tmp_path / "a" / "proj")
    second = init_repo(tmp_path / "b" / "proj")
    tags = []
    for work in (first, second):
        _scratch_dockerfile(work)
        tag = _default_tag(work)
        images.append(tag)
        proc = run_cli(work, "build")
        assert proc.returncode == 0, proc.stderr
        tags.append(proc.stdout.strip())
    assert tags[0] != tags[1]
    assert all("proj" in t for t in tags)
    assert all(_image_exists(t) for t in tags)


@needs_docker
def test_build_refuses_an_invalid_dockerfile(repo: Path, images: list[str]) -> None:
    tag = _default_tag(repo)
    images.append(tag)
    folder = repo / ".claude-container"
    folder.mkdir()
    (folder / "Dockerfile.claude").write_text(
        "FROM scratch\nENV ANTHROPIC_API_KEY=oops\nWORKDIR /tmp\n"
    )
    proc = run_cli(repo, "build")
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1
    for words in ("runs as root", "credential", "WORKDIR /workspace", "--force"):
        assert words in proc.stderr
    assert not _image_exists(tag)


@needs_docker
def test_build_force_overrides_validation(repo: Path, images: list[str]) -> None:
    tag = _default_tag(repo)
    images.append(tag)
    folder = repo / ".claude-container"
    folder.mkdir()
    shutil.copy(BUSYBOX, folder / "busybox")
    (folder / "Dockerfile.claude").write_text("FROM scratch\nCOPY busybox /bin/busybox\n")
    proc = run_cli(repo, "build", "--force")
    assert proc.returncode == 0, proc.stderr
    assert "warning: the image runs as root" in proc.stderr
    assert _image_exists(tag)


@needs_docker
def test_build_step_failure_is_one_line(repo: Path, images: list[str]) -> None:
    tag = _default_tag(repo)
    images.append(tag)
    folder = repo / ".claude-container"
    folder.mkdir()
    (folder / "Dockerfile.claude").write_text(
        'FROM scratch\nRUN ["/does-not-exist"]\nUSER 1000\nWORKDIR /workspace\n'
    )
    proc = run_cli(repo, "build")
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "failed" in errors[0] and "does-not-exist" in errors[0]
    assert not _image_exists(tag)


def test_build_without_dockerfile(repo: Path) -> None:
    proc = run_cli(repo, "build")
    assert proc.returncode == 1 and "claude-container init" in proc.stderr


def test_build_with_unreachable_engine_is_one_line(repo: Path) -> None:
    _scratch_dockerfile(repo)
    proc = run_cli(repo, "build", env={"DOCKER_HOST": "unix:///nonexistent.sock"})
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1
    assert "cannot reach the Docker engine" in proc.stderr and "start" in proc.stderr
    assert "Traceback" not in proc.stderr


# -- clean -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def test_image() -> str:
    if not docker_available():
        pytest.skip("no Docker engine")
    build_image()
    return "gittask-test-agent:latest"


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _labelled_container(image: str, work: Path, task_id: str, pid: int) -> str:
    labels = {
        "gittask": "1",
        "gittask.repo": _repo_key(work),
        "gittask.task_id": task_id,
        "gittask.run": "1",
        "gittask.host_pid": str(pid),
    }
    args = ["create", "--network", "none"]
    for key, value in labels.items():
        args += ["--label", f"{key}={value}"]
    return _docker(*args, image, "true", check=True).stdout.strip()


def _marker(project: Project, task_id: str, pid: int, worktree: Path, cid: str) -> None:
    runs = project.state / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    (runs / f"{task_id}.json").write_text(
        json.dumps(
            {
                "task_id": task_id,
                "pid": pid,
                "run": 1,
                "state": "running",
                "container_id": cid,
                "worktree": str(worktree),
            }
        )
    )


@pytest.fixture
def live_process() -> Iterator[subprocess.Popen[bytes]]:
    """A process that looks like the tool to ``live.pid_alive`` (its cmdline says gittask)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)", "gittask-live-run"]
    )
    yield proc
    proc.kill()
    proc.wait()


@needs_docker
def test_clean_removes_leftovers_but_not_a_live_run(
    tmp_path: Path,
    test_image: str,
    containers: list[str],
    live_process: subprocess.Popen[bytes],
) -> None:
    project = Project(tmp_path / "p", test_image).setup()
    dead_id, live_id = "d" * 32, "a" * 32
    worktrees = project.state / "worktrees"
    dead_tree = worktrees / f"{dead_id[:12]}-r1-crash"
    live_tree = worktrees / f"{live_id[:12]}-r1-busy"
    for tree in (dead_tree, live_tree):
        tree.mkdir(parents=True)
        (tree / "file.txt").write_text("work\n")
    dead_pid = _dead_pid()
    orphan = _labelled_container(test_image, project.work, dead_id, dead_pid)
    busy = _labelled_container(test_image, project.work, live_id, live_process.pid)
    containers += [orphan, busy]
    _marker(project, dead_id, dead_pid, dead_tree, orphan)
    _marker(project, live_id, live_process.pid, live_tree, busy)

    proc = project.cli("clean", "--dry-run", "--json")
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert [c["id"] for c in plan["containers"]] == [orphan]
    assert plan["worktrees"] == [str(dead_tree)]
    assert plan["stale_markers"] == [dead_id] and plan["interrupted_tasks"] == [dead_id]
    assert plan["removed"] == []
    assert dead_tree.is_dir() and _docker("inspect", orphan).returncode == 0

    proc = project.cli("clean")
    assert proc.returncode == 0, proc.stderr
    assert "removed container" in proc.stdout and "removed worktree" in proc.stdout
    assert f"removed the stale run marker of task {dead_id[:8]}" in proc.stdout
    assert _docker("inspect", orphan).returncode != 0
    assert not dead_tree.exists()
    assert not (project.state / "runs" / f"{dead_id}.json").exists()
    # the live run keeps everything
    assert _docker("inspect", busy).returncode == 0
    assert live_tree.is_dir() and (project.state / "runs" / f"{live_id}.json").is_file()

    proc = project.cli("clean")
    assert proc.returncode == 0 and "nothing to clean" in proc.stdout


@needs_docker
def test_clean_flags_select_what_goes(
    tmp_path: Path, test_image: str, containers: list[str]
) -> None:
    project = Project(tmp_path / "p", test_image).setup()
    dead_id = "e" * 32
    tree = project.state / "worktrees" / f"{dead_id[:12]}-r1-x"
    tree.mkdir(parents=True)
    orphan = _labelled_container(test_image, project.work, dead_id, _dead_pid())
    containers.append(orphan)
    proc = project.cli("clean", "--worktrees")
    assert proc.returncode == 0, proc.stderr
    assert not tree.exists() and _docker("inspect", orphan).returncode == 0
    proc = project.cli("clean", "--containers", "--json")
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout)["removed"]) == 1
    assert _docker("inspect", orphan).returncode != 0


def _refs(work: Path) -> list[str]:
    return git(work, "for-each-ref", "--format=%(refname)").splitlines()


NO_ENGINE = {"DOCKER_HOST": "unix:///nonexistent.sock"}


@dataclass(frozen=True)
class TaskData:
    """A project with one task, its index, and a stale worktree folder."""

    project: Project
    stale_tree: Path
    refs: list[str]
    index: list[str]  # the index's files


def _index_files(project: Project) -> list[str]:
    return sorted(p.name for p in project.state.glob("index.sqlite*"))


@pytest.fixture
def task_data(tmp_path: Path) -> TaskData:
    project = Project(tmp_path / "p", "unused:latest").setup()
    proc = project.cli("task", "create", "--no-run", "-m", "Keep me")
    assert proc.returncode == 0, proc.stderr
    stale_tree = project.state / "worktrees" / ("f" * 12 + "-r1-x")
    stale_tree.mkdir(parents=True)
    before = _refs(project.work)
    assert "refs/claude-tasks" in before
    index = _index_files(project)
    assert index
    return TaskData(project, stale_tree, before, index)


@pytest.fixture
def cleaned(task_data: TaskData) -> tuple[Project, subprocess.CompletedProcess[str]]:
    """The same project after ``clean --task-data --yes``."""
    project = task_data.project
    proc = project.cli("clean", "--task-data", "--yes", env=NO_ENGINE)
    assert proc.returncode == 0, proc.stderr
    return project, proc


def test_clean_task_data_without_yes_changes_nothing(task_data: TaskData) -> None:
    project = task_data.project
    proc = project.cli("clean", "--task-data", env=NO_ENGINE)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "--yes" in proc.stderr
    assert _refs(project.work) == task_data.refs
    assert task_data.stale_tree.is_dir()  # nothing at all was changed
    assert _index_files(project) == task_data.index


def test_clean_task_data_removes_refs_index_and_working_copy_but_not_the_config(
    cleaned: tuple[Project, subprocess.CompletedProcess[str]],
) -> None:
    project, proc = cleaned
    assert "refs/claude-tasks" in proc.stderr  # said what goes before it went
    after = _refs(project.work)
    assert "refs/claude-tasks" not in after
    assert not [r for r in after if "claude-tasks" in r]
    assert not list(project.state.glob("index.sqlite*"))
    assert not (project.work / ".claude-container" / "tasks").exists()
    assert (project.work / CONFIG).is_file()  # the project's config stays
    assert "refs/heads/develop" in after
    proc = project.cli("task", "list", "--json")
    assert proc.returncode == 0 and json.loads(proc.stdout) == []


def test_plain_git_push_works_after_clean_task_data(
    cleaned: tuple[Project, subprocess.CompletedProcess[str]],
) -> None:
    project, _ = cleaned
    # no refspec names the deleted ref any more
    (project.work / "app.txt").write_text("changed after clean\n")
    git(project.work, "commit", "-qam", "after clean")
    pushed = subprocess.run(
        ["git", "push", "-q"], cwd=project.work, capture_output=True, text=True, check=False
    )
    assert pushed.returncode == 0, pushed.stderr
    assert git(project.origin, "log", "-1", "--format=%s", "develop") == "after clean"


def test_clean_task_data_takes_inits_settings_and_the_next_task_brings_them_back(
    cleaned: tuple[Project, subprocess.CompletedProcess[str]],
) -> None:
    project, proc = cleaned
    assert "removed remote.origin.fetch = +refs/notes/claude-tasks*" in proc.stdout
    assert "refs/notes/claude-tasks" not in git(
        project.work, "config", "--get-all", "remote.origin.fetch"
    )
    assert project.cli("task", "create", "--no-run", "-m", "Again").returncode == 0
    assert "refs/notes/claude-tasks" in git(
        project.work, "config", "--get-all", "remote.origin.fetch"
    )
    assert git(project.work, "config", "--get-all", "remote.origin.push", check=False) == ""


def test_clean_task_data_refused_while_a_run_is_live(
    tmp_path: Path, live_process: subprocess.Popen[bytes]
) -> None:
    project = Project(tmp_path / "p", "unused:latest").setup()
    assert project.cli("task", "create", "--no-run", "-m", "Busy").returncode == 0
    task_id = project.tasks()[0]["id"]
    _marker(project, task_id, live_process.pid, project.state / "worktrees" / "x", "")
    before = _refs(project.work)
    proc = project.cli(
        "clean", "--task-data", "--yes", env={"DOCKER_HOST": "unix:///nonexistent.sock"}
    )
    assert proc.returncode == 1 and "is running" in proc.stderr
    assert _refs(project.work) == before


# -- the demo --------------------------------------------------------------------------


@needs_docker
def test_demo_script_runs_end_to_end(tmp_path: Path, claude_image: str) -> None:
    """The demo with the real claude in the real image; its output sent to one file,
    as `scripts/demo > demo.log 2>&1` does (no NUL bytes from a reopened stderr)."""
    from tests.real_image import cache_env

    env = {k: v for k, v in os.environ.items() if k not in ("GIT_CONFIG_NOSYSTEM",)}
    env.pop("ANTHROPIC_API_KEY", None)
    env.pop("CLAUDE_CODE_OAUTH_TOKEN", None)
    env["GITTASK_VENV"] = sys.prefix
    env.update(cache_env())
    log = tmp_path / "demo.log"
    with log.open("wb") as handle:
        proc = subprocess.run(
            [str(ROOT / "scripts" / "demo")],
            stdout=handle,
            stderr=subprocess.STDOUT,
            timeout=900,
            env=env,
            check=False,
        )
    raw = log.read_bytes()
    out = raw.decode("utf-8", "replace")
    assert proc.returncode == 0, out[-4000:]
    assert b"\x00" not in raw
    assert "the real claude talks to a scripted Messages-API server at http://127.0.0.1:" in out
    for command in (
        "init",
        "build --base-from-debian --check",
        "task continue",
        "task list",
        "task show",
        "task logs",
    ):
        assert f"$ claude-container {command}" in out
    assert "ok   claude       Claude Code 2.1.332" in out
    assert "→ Write greeting.py" in out and "→ Edit greeting.py" in out
    assert "on origin with 2 commit(s)" in out
    assert "agent: the real claude, 2 runs, 5 turns" in out


def test_config_null_clears_optional_keys_and_unset_restores_defaults(repo: Path) -> None:
    assert run_cli(repo, "init").returncode == 0
    assert run_cli(repo, "config", "set", "model", "opus").returncode == 0
    proc = run_cli(repo, "config", "set", "model", "null")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "model = null\n"
    assert json.loads((repo / CONFIG).read_text())["model"] is None  # JSON null, not "null"
    for word in ("None", ""):
        run_cli(repo, "config", "set", "max_turns", "5")
        assert run_cli(repo, "config", "set", "max_turns", word).returncode == 0
        assert json.loads((repo / CONFIG).read_text())["max_turns"] is None
    # a key with a real default: null is refused, unset goes back to the default
    before = (repo / CONFIG).read_bytes()
    proc = run_cli(repo, "config", "set", "timeout_seconds", "null")
    assert proc.returncode == 2 and "config unset timeout_seconds" in proc.stderr
    assert (repo / CONFIG).read_bytes() == before
    assert run_cli(repo, "config", "set", "network", "none").returncode == 0  # a real mode
    assert run_cli(repo, "config", "set", "timeout_seconds", "60").returncode == 0
    proc = run_cli(repo, "config", "unset", "timeout_seconds")
    assert proc.returncode == 0 and proc.stdout == "timeout_seconds = 3600 (the default)\n"
    assert json.loads((repo / CONFIG).read_text())["timeout_seconds"] == 3600
    before = (repo / CONFIG).read_bytes()
    proc = run_cli(repo, "config", "unset", "nope")
    assert proc.returncode == 2 and "unknown config key 'nope'" in proc.stderr
    assert (repo / CONFIG).read_bytes() == before


def test_init_names_its_git_settings_and_suggests_committing(team: object) -> None:
    from tests.conftest import Team

    assert isinstance(team, Team)
    work = team.clone("alice")
    proc = run_cli(work, "init")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    header = lines.index("changed in this clone's git config (.git/config; `uninit` undoes it):")
    assert lines[header + 1].startswith("  set notes.")
    assert "commit .claude-container/ and .gitignore so that teammates share" in proc.stdout
    git(work, "add", ".claude-container", ".gitignore")
    git(work, "commit", "-q", "-m", "setup")
    again = run_cli(work, "init")
    assert "nothing to change" in again.stdout and "commit " not in again.stdout


@needs_docker
def test_build_and_clean_leave_an_image_they_did_not_build(repo: Path, images: list[str]) -> None:
    _scratch_dockerfile(repo)
    foreign = f"gittask-foreign-{os.getpid()}:latest"
    images.append(foreign)
    context = repo.parent / "foreign"
    context.mkdir()
    (context / "Dockerfile").write_text("FROM scratch\nLABEL made.by=someone-else\nCMD x\n")
    _docker("build", "-q", "-t", foreign, str(context), check=True)
    before = json.loads(_docker("image", "inspect", foreign, check=True).stdout)[0]["Id"]
    assert run_cli(repo, "config", "set", "image", foreign).returncode == 0
    proc = run_cli(repo, "build")
    assert proc.returncode == 1
    assert f"image {foreign} was not built by claude-container" in proc.stderr
    assert "config set image" in proc.stderr and "--force" in proc.stderr
    proc = run_cli(repo, "clean", "--images")
    assert proc.returncode == 0, proc.stderr
    assert f"kept image {foreign}: claude-container did not build it" in proc.stdout
    assert json.loads(_docker("image", "inspect", foreign, check=True).stdout)[0]["Id"] == before
    # --force: the user says so
    assert run_cli(repo, "build", "--force").returncode == 0
    assert "removed image" in run_cli(repo, "clean", "--images", "--force").stdout
    assert not _image_exists(foreign)
    assert run_cli(repo, "clean", "--force").returncode == 2
