"""Synthetic task stores in the real layout, built with ``git fast-import``.

One commit per task (``create <id>: <title>`` with the tool's trailers), so the
data ref has the history a real store of that size has. Records are written
from a template that matches the tool's own YAML dumper byte for byte
(``tests/test_benchmarks.py`` checks that), which keeps 100,000 tasks to
seconds instead of the minutes the dumper would take.

The same tasks can be exported as Taskwarrior's JSON import format
(:func:`taskwarrior_json`), so both tools hold the same data.
"""

from __future__ import annotations

import json
import random
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

AUTHOR = "Bench Mark <bench@example.com>"
COMMON_WORD = "widget"  # in every description
RARE_WORD = "zanzibar"  # in about one task in 2,000
RARE_EVERY = 2000
# statuses at rest (a `running` task makes `list` ask Docker about its container)
STATUSES = ("pending", "pending", "pending", "created", "continued", "failed", "merged", "closed")
_WORDS = (
    "parser",
    "cache",
    "login",
    "signup",
    "form",
    "email",
    "button",
    "layout",
    "report",
    "export",
    "import",
    "queue",
    "worker",
    "retry",
    "timeout",
    "database",
    "schema",
    "migration",
    "index",
    "search",
    "filter",
    "sort",
    "page",
    "header",
    "footer",
    "theme",
    "color",
    "font",
    "icon",
    "upload",
    "download",
    "thumbnail",
    "preview",
    "billing",
    "invoice",
    "payment",
    "refund",
    "coupon",
    "cart",
    "checkout",
    "shipping",
    "address",
    "profile",
    "avatar",
)
TASKWARRIOR_STATUS = {"merged": "completed", "closed": "deleted"}
START = datetime(2025, 1, 1, tzinfo=UTC)

METADATA = """\
id: {id}
status: {status}
branch_name: {branch}
base_branch: main
created_at: '{created}'
started_at: null
completed_at: null
last_continued_at: null
author: {author}
agent: null
container_id: null
claimed_by: null
pr_url: null
pr_number: null
pr_note: null
commit_hash: null
commits: []
session_id: null
cost_usd: null
input_tokens: null
output_tokens: null
num_turns: null
run_count: 0
error_message: null
publish_error: null
depends_on: []
template: null
"""

FEEDBACK = """\
id: {id}
timestamp: '{timestamp}'
feedback_type: inline
author: {author}
claude_response_summary: null
feedback: {text}
"""


@dataclass(frozen=True)
class BenchTask:
    id: str
    number: int
    status: str
    created: datetime
    description: str
    feedback: str | None  # one feedback entry on every third task

    @property
    def title(self) -> str:
        return self.description.splitlines()[0]

    @property
    def branch(self) -> str:
        return f"claude/task-{self.number}-{self.id[:6]}"

    @property
    def created_text(self) -> str:
        return self.created.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    @property
    def feedback_time(self) -> datetime:
        return self.created + timedelta(minutes=5)

    @property
    def feedback_id(self) -> str:
        return self.feedback_time.strftime("%Y%m%dT%H%M%S%fZ") + "-" + self.id[-8:]

    def files(self) -> dict[str, bytes]:
        """Path inside the task folder -> content, as the tool writes it."""
        out = {
            "metadata.yaml": METADATA.format(
                id=self.id,
                status=self.status,
                branch=self.branch,
                created=self.created_text,
                author=AUTHOR,
            ).encode(),
            "description.md": self.description.encode(),
        }
        if self.feedback is not None:
            out[f"feedback/{self.feedback_id}.yaml"] = FEEDBACK.format(
                id=self.feedback_id,
                timestamp=self.feedback_time.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                author=AUTHOR,
                text=self.feedback,
            ).encode()
        return out


def tasks(count: int, seed: int = 14) -> Iterator[BenchTask]:
    rng = random.Random(seed)
    for number in range(count):
        words = rng.sample(_WORDS, 6)
        rare = f" {RARE_WORD}" if number % RARE_EVERY == RARE_EVERY // 2 else ""
        description = (
            f"Fix the {words[0]} {COMMON_WORD} {number}\n\n"
            f"The {words[1]} {COMMON_WORD} breaks when the {words[2]} is empty{rare}.\n"
            f"Add tests for the {words[3]}, the {words[4]} and the {words[5]}.\n"
        )
        yield BenchTask(
            id=f"{rng.getrandbits(128):032x}",
            number=number,
            status=STATUSES[number % len(STATUSES)],
            created=START + timedelta(minutes=number),
            description=description,
            feedback=f"please also handle the {rng.choice(_WORDS)} case {number}"
            if number % 3 == 0
            else None,
        )


def _data(payload: bytes) -> bytes:
    return b"data %d\n" % len(payload) + payload + b"\n"


# The newest tasks get one commit each, as the tool makes them; older ones are
# imported BATCH to a commit, which keeps a 100,000-task store to seconds
# (fast-import spends ~0.6 ms hashing the fan-out trees of every commit).
SINGLE_COMMITS = 2000
BATCH = 25


def fast_import_stream(count: int, ref: str = "refs/claude-tasks") -> Iterator[bytes]:
    from gittask.store import layout

    readme = layout.README_TEXT.encode()
    batch: list[BenchTask] = []
    for task in tasks(count):
        batch.append(task)
        single = task.number >= count - SINGLE_COMMITS
        if not single and len(batch) < BATCH and task.number != count - SINGLE_COMMITS - 1:
            continue
        when = int(task.created.timestamp())
        if len(batch) == 1:
            message = (
                f"create {task.id[:8]}: {task.title}\n\nTask-Id: {task.id}\nTask-Action: create\n"
            )
        else:
            message = f"import {len(batch)} tasks\n\nTask-Action: import\n"
        chunk = [
            b"commit " + ref.encode() + b"\n",
            f"author {AUTHOR} {when} +0000\ncommitter {AUTHOR} {when} +0000\n".encode(),
            _data(message.encode()),
        ]
        if batch[0].number == 0:
            chunk.append(b"M 100644 inline README.md\n" + _data(readme))
        for item in batch:
            folder = layout.task_dir(item.id)
            for name, content in item.files().items():
                chunk.append(f"M 100644 inline {folder}/{name}\n".encode() + _data(content))
        chunk.append(b"\n")
        batch.clear()
        yield b"".join(chunk)


def build_store(repo: Path, count: int) -> None:
    """A fresh repository at ``repo`` whose data ref holds ``count`` tasks."""
    repo.mkdir(parents=True)
    for args in (
        ["init", "-q", "-b", "main"],
        ["config", "user.name", "Bench Mark"],
        ["config", "user.email", "bench@example.com"],
        ["commit", "-q", "--allow-empty", "-m", "initial"],
    ):
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)
    proc = subprocess.Popen(
        ["git", "fast-import", "--quiet", "--depth=50"],
        cwd=repo,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
    )
    assert proc.stdin is not None
    buffered: list[bytes] = []
    for chunk in fast_import_stream(count):
        buffered.append(chunk)
        if len(buffered) >= 500:
            proc.stdin.write(b"".join(buffered))
            buffered.clear()
    proc.stdin.write(b"".join(buffered) + b"done\n")
    proc.stdin.close()
    if proc.wait() != 0:
        raise RuntimeError("git fast-import failed")


def taskwarrior_json(count: int) -> str:
    """The same tasks as Taskwarrior's ``task import`` JSON (one array)."""
    out = []
    for task in tasks(count):
        entry = task.created.strftime("%Y%m%dT%H%M%SZ")
        item: dict[str, object] = {
            "uuid": f"{task.id[:8]}-{task.id[8:12]}-{task.id[12:16]}-{task.id[16:20]}-"
            f"{task.id[20:]}",
            "description": " ".join(task.description.split()),
            "status": TASKWARRIOR_STATUS.get(task.status, "pending"),
            "entry": entry,
            "modified": entry,
            "project": "bench",
        }
        if item["status"] != "pending":
            item["end"] = entry
        if task.feedback is not None:
            item["annotations"] = [{"entry": entry, "description": task.feedback}]
        out.append(item)
    return json.dumps(out)
