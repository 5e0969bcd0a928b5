"""Helpers for the run tests: the test image, a project with a bare origin, the CLI.

Everything is real: git repositories, a bare ``origin``, the Docker engine, the
busybox image with the scripted agent (``tests/docker_image``), and the CLI in
a subprocess.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.paths import ROOT

TEST_IMAGE = "gittask-test-agent:latest"
GIT_IMAGE = "gittask-test-agent-git:latest"
SECRET = "sk-test-SECRET-" + os.urandom(8).hex()
DEFAULT_BRANCH = "develop"  # not main/master: nothing may assume a name


def docker_available() -> bool:
    try:
        proc = subprocess.run(["docker", "info"], capture_output=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


def build_image() -> str:
    """The busybox test image with the scripted agent (built once per session)."""
    try:
        from tests.docker_image.build import build_test_image
    except ImportError:  # the image engineer's builder is not there yet
        return _build_fallback(TEST_IMAGE)
    return build_test_image(TEST_IMAGE) or TEST_IMAGE


def _build_fallback(tag: str) -> str:
    source = ROOT / "tests" / "docker_image"
    busybox = shutil.which("busybox") or "/bin/busybox"
    with tempfile.TemporaryDirectory() as ctx:
        for name in ("Dockerfile", "fake-claude"):
            shutil.copy(source / name, Path(ctx) / name)
        shutil.copy(busybox, Path(ctx) / "busybox")
        subprocess.run(["docker", "build", "-q", "-t", tag, ctx], check=True, capture_output=True)
    return tag


def build_git_image(base: str) -> str | None:
    """The test image plus the host's git binary and its libraries (for agents using git)."""
    git_path = shutil.which("git")
    if git_path is None:
        return None
    proc = subprocess.run(["ldd", git_path], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return None
    libs = []
    for line in proc.stdout.splitlines():
        parts = line.split()
        for part in parts:
            if part.startswith("/") and Path(part).exists():
                libs.append(Path(part))
    with tempfile.TemporaryDirectory() as ctx:
        rootfs = Path(ctx) / "rootfs"
        for item in [Path(git_path), *libs]:
            target = rootfs / str(item).lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(item.resolve(), target)
        (Path(ctx) / "Dockerfile").write_text(
            f"FROM {base}\nUSER 0\nCOPY rootfs/ /\nUSER 1000:1000\n", encoding="utf-8"
        )
        built = subprocess.run(
            ["docker", "build", "-q", "-t", GIT_IMAGE, ctx], capture_output=True, check=False
        )
    return GIT_IMAGE if built.returncode == 0 else None


LEAKY_IMAGE = "gittask-test-agent-leaky:latest"
#: Claude Code's transcripts of a session, below its config folder.
LEAKY_TRANSCRIPT = "projects/-workspace/leaky-session.jsonl"


def build_leaky_claude_image(base: str) -> str:
    """The test image whose ``claude`` first writes a transcript line holding the value
    of ``$ANTHROPIC_API_KEY`` (as a tool's output would), then runs the scripted one."""
    wrapper = f"""#!/bin/sh
mkdir -p "$CLAUDE_CONFIG_DIR/{Path(LEAKY_TRANSCRIPT).parent}"
printf '{{"type":"user","message":{{"content":"env: ANTHROPIC_API_KEY=%s"}}}}\\n' \\
  "$ANTHROPIC_API_KEY" >> "$CLAUDE_CONFIG_DIR/{LEAKY_TRANSCRIPT}"
exec /usr/local/bin/claude-scripted "$@"
"""
    with tempfile.TemporaryDirectory() as ctx:
        (Path(ctx) / "claude").write_text(wrapper, encoding="utf-8")
        (Path(ctx) / "Dockerfile").write_text(
            f"FROM {base}\nUSER 0\n"
            "RUN mv /usr/local/bin/claude /usr/local/bin/claude-scripted\n"
            "COPY claude /usr/local/bin/claude\n"
            "RUN chmod 0755 /usr/local/bin/claude\n"
            "USER 1000:1000\n",
            encoding="utf-8",
        )
        subprocess.run(
            ["docker", "build", "-q", "-t", LEAKY_IMAGE, ctx], check=True, capture_output=True
        )
    return LEAKY_IMAGE


def git(cwd: Path, *args: str, check: bool = True, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        ["git", "-c", "safe.directory=*", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout.strip()


@dataclass
class Project:
    """A clone ``work`` of a bare ``origin.git`` whose default branch is ``develop``."""

    root: Path
    image: str
    env: dict[str, str] = field(default_factory=dict)
    python: list[str] = field(default_factory=lambda: [sys.executable])
    run_as: int | None = None  # uid to run the CLI as (with the docker socket's group)
    groups: list[int] = field(default_factory=list)

    @property
    def origin(self) -> Path:
        return self.root / "origin.git"

    @property
    def work(self) -> Path:
        return self.root / "work"

    @property
    def common(self) -> Path:
        return self.work / ".git"

    @property
    def state(self) -> Path:
        return self.common / "claude-tasks"

    def setup(self) -> Project:
        self.root.mkdir(parents=True, exist_ok=True)
        git(self.root, "init", "-q", "--bare", "-b", DEFAULT_BRANCH, str(self.origin))
        seed = self.root / "seed"
        git(self.root, "init", "-q", "-b", DEFAULT_BRANCH, str(seed))
        self._identity(seed, "Seed Person")
        (seed / "README.md").write_text("# sample project\n")
        (seed / "app.txt").write_text("line 1\n")
        git(seed, "add", ".")
        git(seed, "commit", "-q", "-m", "initial")
        git(seed, "push", "-q", str(self.origin), f"{DEFAULT_BRANCH}:{DEFAULT_BRANCH}")
        shutil.rmtree(seed)
        git(self.root, "clone", "-q", str(self.origin), str(self.work))
        self._identity(self.work, "Task User")
        self.configure(
            image=self.image,
            agent="claude",
            network="none",
            timeout_seconds=60,
            silence_timeout_seconds=60,
            memory="256m",
            cpus=1.0,
            pids_limit=64,
        )
        return self

    @staticmethod
    def _identity(path: Path, name: str) -> None:
        git(path, "config", "user.name", name)
        git(path, "config", "user.email", f"{name.split()[0].lower()}@example.com")

    def configure(self, **values: Any) -> None:
        path = self.work / ".claude-container" / "container_config.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        current = json.loads(path.read_text()) if path.is_file() else {}
        current.update(values)
        path.write_text(json.dumps(current, indent=2) + "\n")

    def full_env(self, env: dict[str, str] | None) -> dict[str, str]:
        merged = {**os.environ, "PYTHONPATH": str(ROOT), "ANTHROPIC_API_KEY": SECRET}
        merged.pop("CLAUDE_CODE_OAUTH_TOKEN", None)
        merged.update(self.env)
        merged.update(env or {})
        return {k: v for k, v in merged.items() if v is not None}

    def _run_kwargs(self) -> dict[str, Any]:
        if self.run_as is None:
            return {}
        return {"user": self.run_as, "group": self.run_as, "extra_groups": self.groups}

    def cli(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        timeout: float = 120,
        input: str = "",
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.python, "-m", "gittask", *args],
            cwd=self.work,
            capture_output=True,
            text=True,
            input=input,
            env=self.full_env(env),
            timeout=timeout,
            check=False,
            **self._run_kwargs(),
        )

    def popen(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [*self.python, "-m", "gittask", *args],
            cwd=self.work,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env=self.full_env(env),
            **self._run_kwargs(),
        )

    def show(self, task_id: str) -> dict[str, Any]:
        proc = self.cli("task", "show", task_id, "--json")
        assert proc.returncode == 0, proc.stderr
        data: dict[str, Any] = json.loads(proc.stdout)
        return data

    def tasks(self) -> list[dict[str, Any]]:
        proc = self.cli("task", "list", "--json")
        assert proc.returncode == 0, proc.stderr
        data: list[dict[str, Any]] = json.loads(proc.stdout)
        return data

    def logs_root(self, task_id: str) -> Path:
        return self.work / ".claude-container" / "tasks" / "tasks" / task_id / "logs"

    def remote_branch(self, branch: str) -> str:
        out = git(self.origin, "rev-parse", "--verify", "-q", f"refs/heads/{branch}", check=False)
        return out

    def containers(self) -> list[str]:
        """Containers (any state) the tool started for this project."""
        from gittask.runner import naming
        from gittask.store.repo import GitRepo

        key = naming.repo_key(GitRepo(git_dir=self.common.resolve(), workdir=self.work))
        out = subprocess.run(
            ["docker", "ps", "-aq", "--filter", f"label={naming.LABEL_REPO}={key}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return out.split()

    def leftovers(self) -> list[str]:
        """Worktrees, run folders and markers still on disk, plus git's worktree list."""
        found = []
        for sub in ("worktrees", "runs"):
            folder = self.state / sub
            if folder.is_dir():
                found += [
                    f"{sub}/{p.name}" for p in folder.iterdir() if not p.name.endswith(".log")
                ]
        admin = self.common / "worktrees"
        if admin.is_dir():
            found += [f"git-admin/{p.name}" for p in admin.iterdir()]
        listed = git(self.work, "worktree", "list", "--porcelain").count("worktree ")
        if listed != 1:
            found.append(f"git worktree list shows {listed} worktrees")
        return found

    def wait_for_marker(self, state: str = "running", timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            runs = self.state / "runs"
            if runs.is_dir():
                for path in runs.glob("*.json"):
                    try:
                        data: dict[str, Any] = json.loads(path.read_text())
                    except (OSError, ValueError):
                        continue
                    if data.get("state") == state:
                        return data
            time.sleep(0.05)
        raise AssertionError(f"no run reached state {state} within {timeout}s")


def all_text_under(path: Path) -> str:
    """Every file below ``path`` as text (symlinks not followed)."""
    chunks = []
    for dirpath, _, files in os.walk(path):
        for name in files:
            file = Path(dirpath) / name
            if file.is_symlink():
                continue
            try:
                chunks.append(file.read_bytes().decode("utf-8", errors="replace"))
            except OSError:
                continue
    return "\n".join(chunks)


def everything_git_holds(repo: Path) -> str:
    """Every object reachable from any ref (commits, trees, blobs, notes), as text."""
    objects = git(repo, "rev-list", "--objects", "--all").split("\n")
    shas = [line.split(" ", 1)[0] for line in objects if line.strip()]
    if not shas:
        return ""
    proc = subprocess.run(
        ["git", "-c", "safe.directory=*", "cat-file", "--batch"],
        cwd=repo,
        input=("\n".join(shas) + "\n").encode(),
        capture_output=True,
        check=True,
    )
    return proc.stdout.decode("utf-8", errors="replace")


def _python_for(uid: int, pythonpath: str) -> str | None:
    """An interpreter uid can run with the test's packages (the venv's may be in /root)."""
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    for candidate in (sys.executable, f"/usr/bin/python{version}"):
        try:
            check = subprocess.run(
                [candidate, "-c", "import pygit2, docker, typer"],
                user=uid,
                group=uid,
                env={"PYTHONPATH": pythonpath, "HOME": "/tmp"},
                capture_output=True,
                check=False,
            )
        except OSError:
            continue
        if check.returncode == 0:
            return candidate
    return None


def _readable_copy(dest: Path, site_dirs: list[str]) -> str:
    """The package and its site-packages where any user may read them (hard links
    when the file system allows: no data is copied); their PYTHONPATH."""
    import shutil

    code = dest / "code"
    shutil.copytree(
        ROOT / "gittask",
        code / "gittask",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    paths = [str(code)]
    for number, folder in enumerate(site_dirs):
        target = dest / f"site-{number}"
        linked = subprocess.run(["cp", "-al", folder, str(target)], capture_output=True)
        if linked.returncode != 0:
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(folder, target, symlinks=True)
        paths.append(str(target))
    subprocess.run(["chmod", "-R", "a+rX", str(dest)], check=True)
    return ":".join(paths)


@contextlib.contextmanager
def unprivileged_project(tmp_path: Path, image: str) -> Iterator[tuple[int, Project]]:
    """A project run by an unprivileged user: uid 1000 when the tests run as root."""
    if os.getuid() != 0:
        yield os.getuid(), Project(tmp_path / "p", image).setup()
        return
    import shutil
    import site
    import tempfile

    try:
        docker_gid = os.stat("/var/run/docker.sock").st_gid
    except OSError as exc:
        raise RuntimeError("no local docker socket") from exc
    uid = 1000
    root = Path(tempfile.mkdtemp(prefix="gittask-uid-"))
    try:
        os.chmod(root, 0o755)
        pythonpath = ":".join([str(ROOT), *site.getsitepackages()])
        python = _python_for(uid, pythonpath)
        if python is None:  # the checkout or the venv is behind a folder uid 1000 cannot enter
            pythonpath = _readable_copy(root / "python", site.getsitepackages())
            python = _python_for(uid, pythonpath)
        assert python is not None, "no Python interpreter usable by uid 1000"
        home = root / "home"
        home.mkdir()
        project = Project(
            root / "p",
            image,
            env={"HOME": str(home), "PYTHONPATH": pythonpath},
            python=[python],
            run_as=uid,
            groups=[docker_gid],
        ).setup()
        # not the python copy: its hard links share their files with the real ones
        os.chown(root, uid, uid)
        for mine in (home, root / "p"):
            subprocess.run(["chown", "-R", f"{uid}:{uid}", str(mine)], check=True)
        yield uid, project
    finally:
        shutil.rmtree(root, ignore_errors=True)
