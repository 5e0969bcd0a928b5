"""The run loop's overhead over a bare ``docker run --rm`` of the same image. Prints a table.

    python benchmarks/run.py [--runs 9]

Both sides run the scripted agent of the test image (``tests/docker_image``),
which reads the prompt on stdin, prints stream-json and makes one edit:

  bare   ``docker run --rm -i`` with a folder mounted at /workspace
  full   ``claude-container task create -m ...``: record, worktree, container,
         stream, commit with trailer, note, push to a local bare remote, record

They alternate (bare, full, bare, full, ...) so both see the same machine
state; the overhead is the difference of the medians. Target: at most 1.5 s.
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

TARGET_SECONDS = 1.5
SECRET = "sk-bench-not-a-real-key"


def setup(root: Path, image: str) -> Path:
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
        json.dumps({"image": image, "agent": "claude", "network": "none", "memory": "512m"})
    )
    return work


def bare_run(image: str, folder: Path, prompt: str) -> float:
    folder.mkdir(parents=True, exist_ok=True)
    env = ["-e", "IS_SANDBOX=1"] if os.getuid() == 0 else []
    command = [
        "docker",
        "run",
        "--rm",
        "-i",
        "--network",
        "none",
        "--user",
        f"{os.getuid()}:{os.getgid()}",
        "-v",
        f"{folder}:/workspace",
        "-w",
        "/workspace",
        *env,
        "-e",
        f"ANTHROPIC_API_KEY={SECRET}",
        image,
        "claude",
        "-p",
        "--output-format",
        "stream-json",
        "--verbose",
        "--dangerously-skip-permissions",
    ]
    start = time.perf_counter()
    subprocess.run(command, input=prompt.encode(), check=True, capture_output=True)
    return time.perf_counter() - start


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="runs of each kind (default 9)")
    args = parser.parse_args()

    from tests.run_support import build_image

    image = build_image()
    with tempfile.TemporaryDirectory(prefix="gittask-bench-") as tmp:
        root = Path(tmp)
        work = setup(root, image)
        # one warm-up of each: image layers and Python bytecode in the cache
        bare_run(image, root / "bare-warm", "Warm up\n")
        full_run(work, 0)
        bare: list[float] = []
        full: list[float] = []
        for n in range(1, args.runs + 1):
            bare.append(bare_run(image, root / f"bare-{n}", f"Benchmark task {n}\n"))
            full.append(full_run(work, n))
        pushed = git(work, "ls-remote", "origin").count("refs/heads/claude/")
        if pushed != args.runs + 1:
            raise SystemExit(f"expected {args.runs + 1} pushed task branches, found {pushed}")

    bare_median, full_median = statistics.median(bare), statistics.median(full)
    overhead = full_median - bare_median
    print_table(
        f"run loop overhead ({args.runs} runs each, alternating)",
        [
            ("bare docker run --rm (median)", f"{bare_median:.3f} s", "", ""),
            ("task create, full run (median)", f"{full_median:.3f} s", "", ""),
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
