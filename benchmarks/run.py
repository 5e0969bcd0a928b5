"""The run loop's overhead over a bare ``docker run --rm`` of the same image. Prints a table.

    python benchmarks/run.py [--runs 5]

Both sides run the real Claude Code in the real image (built by
``claude-container build --base-from-debian``, see ``tests/real_image.py``)
against the scripted Messages-API server of the tests on 127.0.0.1, with the
same two-turn script each time (write a file, then say done):

  bare   ``docker run --rm -i`` with a folder mounted at /workspace and one at
         Claude's config folder, host network
  full   ``claude-container task create -m ...``: record, worktree, container,
         stream, commit with trailer, note, push to a local bare remote, logs
         and session to git, record

They alternate (bare, full, bare, full, ...) so both see the same machine
state; the overhead is the difference of the medians. Target: at most 1.0 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from _common import ROOT, cli_command, command_env, git, print_table

from tests.fake_anthropic import FakeAnthropic, text, write

TARGET_SECONDS = 1.0
SECRET = "sk-ant-bench-not-a-real-key-0123"


def setup(root: Path, image: str, base_url: str) -> Path:
    origin = root / "origin.git"
    git(root, "init", "-q", "--bare", "-b", "trunk", str(origin))
    work = root / "work"
    git(root, "init", "-q", "-b", "trunk", str(work))
    git(work, "config", "user.name", "Bench Mark")
    git(work, "config", "user.email", "bench@example.com")
    (work / "README.md").write_text("# bench\n")
    git(work, "add", "README.md")
    git(work, "commit", "-q", "-m", "initial")
    git(work, "remote", "add", "origin", str(origin))
    git(work, "push", "-q", "-u", "origin", "trunk")
    git(work, "remote", "set-head", "origin", "trunk")
    config = work / ".claude-container" / "container_config.json"
    config.parent.mkdir()
    config.write_text(
        json.dumps(
            {
                "image": image,
                "agent": "claude",
                "network": "host",
                "allow_host_network": True,
                "memory": "2g",
                "env": ["ANTHROPIC_BASE_URL"],
                "max_retries": 0,
            }
        )
    )
    os.environ["ANTHROPIC_BASE_URL"] = base_url
    return work


def bare_run(image: str, folder: Path, prompt: str, base_url: str) -> float:
    folder.mkdir(parents=True, exist_ok=True)
    (folder.parent / f"{folder.name}-config").mkdir(exist_ok=True)
    env = ["-e", "IS_SANDBOX=1"] if os.getuid() == 0 else []
    command = [
        "docker",
        "run",
        "--rm",
        "-i",
        "--network",
        "host",
        "--user",
        f"{os.getuid()}:{os.getgid()}",
        "-v",
        f"{folder}:/workspace",
        "-v",
        f"{folder.parent / (folder.name + '-config')}:/home/agent/.claude",
        "-w",
        "/workspace",
        *env,
        "-e",
        f"ANTHROPIC_API_KEY={SECRET}",
        "-e",
        f"ANTHROPIC_BASE_URL={base_url}",
        "-e",
        "CLAUDE_CODE_MAX_RETRIES=0",
        image,
        "claude",
        "-p",
        "--output-format",
        "stream-json",
        "--verbose",
        "--dangerously-skip-permissions",
    ]
    start = time.perf_counter()
    proc = subprocess.run(command, input=prompt.encode(), check=False, capture_output=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0 or b'"subtype":"success"' not in proc.stdout:
        raise SystemExit(f"bare docker run failed: {proc.stdout[-500:]!r} {proc.stderr[-500:]!r}")
    return elapsed


def full_run(work: Path, n: int) -> float:
    env = {**command_env(), "ANTHROPIC_API_KEY": SECRET, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    proc = subprocess.run(
        [*cli_command(), "task", "create", "-m", f"Benchmark task {n}"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"task create failed: {proc.stderr.strip()}")
    return elapsed


def script_two_turns(model: FakeAnthropic, n: int) -> None:
    model.turn(write(f"{{cwd}}/bench_{n}.txt", f"run {n}\n"))
    model.turn(text(f"Wrote bench_{n}.txt."))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each kind (default 5)")
    args = parser.parse_args()

    from tests.real_image import REAL_IMAGE, build_real_image

    build_real_image()
    image = REAL_IMAGE
    with (
        tempfile.TemporaryDirectory(prefix="gittask-bench-") as tmp,
        FakeAnthropic(api_key=SECRET) as model,
    ):
        root = Path(tmp)
        work = setup(root, image, model.base_url)
        # one warm-up of each: image layers and Python bytecode in the cache
        script_two_turns(model, 0)
        bare_run(image, root / "bare-warm", "Warm up\n", model.base_url)
        script_two_turns(model, 0)
        full_run(work, 0)
        bare: list[float] = []
        full: list[float] = []
        for n in range(1, args.runs + 1):
            script_two_turns(model, n)
            prompt = f"Benchmark task {n}\n"
            bare.append(bare_run(image, root / f"bare-{n}", prompt, model.base_url))
            script_two_turns(model, n)
            full.append(full_run(work, n))
        pushed = git(work, "ls-remote", "origin").count("refs/heads/claude/")
        if pushed != args.runs + 1:
            raise SystemExit(f"expected {args.runs + 1} pushed task branches, found {pushed}")
        if model.problems:
            raise SystemExit("scripted API: " + "; ".join(model.problems))

    bare_median, full_median = statistics.median(bare), statistics.median(full)
    overhead = full_median - bare_median
    print_table(
        f"run loop overhead ({args.runs} runs each, alternating)",
        [
            ("bare docker run --rm (median)", f"{bare_median:.3f} s", "", ""),
            ("task create, two-turn task (median)", f"{full_median:.3f} s", "", ""),
            ("bare min / max", f"{min(bare):.3f} / {max(bare):.3f} s", "", ""),
            ("full min / max", f"{min(full):.3f} / {max(full):.3f} s", "", ""),
            (
                "overhead (difference of medians)",
                f"{overhead:.3f} s",
                f"<= {TARGET_SECONDS} s",
                "yes" if overhead <= TARGET_SECONDS else "NO",
            ),
        ],
    )


if __name__ == "__main__":
    main()
