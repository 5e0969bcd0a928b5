"""OpenAI's Codex CLI, run headless: ``codex exec --json``.

Facts this module relies on, checked with ``@openai/codex`` 0.171.0 against a
scripted Responses-API server (``tests/fake_openai``):

- ``codex exec --json -`` reads the prompt from stdin and prints one JSON event
  per line: ``thread.started`` (``thread_id``: the session, resumable with
  ``codex exec resume <id> -``), ``turn.started``, ``item.started``/``item.completed``
  (``agent_message``, ``command_execution``, ``file_change``, ``mcp_tool_call``,
  ``web_search``, ``todo_list``, ``error``…), ``error`` (retries: ``Reconnecting...
  2/5 (…)``), then ``turn.completed`` with ``usage`` or ``turn.failed`` with
  ``error.message``.  Log lines (``… ERROR codex_api::…``) go to stderr.
- ``turn.completed.usage`` is the *thread's* running total: a resumed session
  reports the earlier runs' tokens too.  The outcome reports this run's share
  (the total minus the last ``token_count`` of the session file before the run).
- Codex reports no cost: ``cost_usd`` stays None.  Nor does it count turns:
  ``num_turns`` is derived (tool calls plus the final answer; Codex makes one
  model call per tool call, parallel tool calls being off).
- The API is OpenAI's Responses API (``POST /v1/responses``, SSE), tried first
  over a WebSocket (a server answering ``426`` gets plain HTTP at once).
- Credentials: ``codex exec`` reads ``CODEX_API_KEY`` only (``OPENAI_API_KEY`` is
  ignored by this release).  The container script copies ``OPENAI_API_KEY`` into
  ``CODEX_API_KEY`` when only the former is set.
- Base URL: the ``OPENAI_BASE_URL`` variable is ignored too; the config key
  ``openai_base_url`` is what counts.  Pass ``OPENAI_BASE_URL`` through (config
  ``env``) and the container script turns it into ``-c openai_base_url=…``.
- Retries cannot be bounded for the built-in ``openai`` provider (it may not be
  overridden); ``--disable unbounded_connection_retries`` makes an unreachable
  API fail after Codex's own 5+5 attempts (about 30 s) instead of waiting forever.
  ``max_retries``, ``max_turns`` and ``max_budget_usd`` have no Codex equivalent:
  :meth:`CodexAgent.check` refuses the latter two rather than ignore a limit.
- The container is the sandbox: ``--dangerously-bypass-approvals-and-sandbox``
  (no approval prompts, no bubblewrap), ``--skip-git-repo-check``.
- Sessions live in ``$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<time>-<id>.jsonl``;
  that file alone is enough to resume (the SQLite files beside it are rebuilt).
- The default model of 0.171 (``gpt-6.2-sol``) runs tools through a JavaScript
  "code mode" host (``codex-code-mode-host``, shipped beside ``codex`` in the
  package): the image carries the whole platform folder, not only ``codex``.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gittask.runner.agents.base import (
    WORKDIR,
    AgentOutcome,
    AgentOutput,
    AgentRun,
    AgentSettings,
    StopReason,
    check_settings,
    clip,
    judge_exit,
    task_environment,
)
from gittask.runner.stream_json import Item, StreamDecoder

__all__ = [
    "CODEX_HOME",
    "CODEX_SCRIPT",
    "CREDENTIAL_NAMES",
    "CodexAgent",
    "CodexOutput",
    "CodexTranscript",
    "session_file",
    "thread_usage",
]

#: Home directory of the non-root user in the generated image.
CONTAINER_HOME = "/home/agent"
#: Codex's state: sessions, logs, SQLite indexes (``CODEX_HOME``).
CODEX_HOME = f"{CONTAINER_HOME}/.codex"
#: What ``codex exec`` authenticates with (``CODEX_API_KEY``), and the usual name.
CREDENTIAL_NAMES = ("CODEX_API_KEY", "OPENAI_API_KEY")
#: Passed through when set, and turned into ``-c openai_base_url=…``.
BASE_URL_ENV = "OPENAI_BASE_URL"
#: The API without it (what the network allow-list lets through).
DEFAULT_API_URL = "https://api.openai.com/v1"

#: ``sh -c`` script: $1 is the prompt file, $2 the executable, $3 its subcommand
#: (``exec``), the rest its arguments.  Values only travel as argv entries.
CODEX_SCRIPT = (
    "prompt=$1; shift; "
    'if [ -z "${CODEX_API_KEY:-}" ] && [ -n "${OPENAI_API_KEY:-}" ]; then '
    "CODEX_API_KEY=$OPENAI_API_KEY; export CODEX_API_KEY; fi; "
    'if [ -n "${OPENAI_BASE_URL:-}" ]; then '
    'exe=$1; sub=$2; shift 2; set -- "$exe" "$sub" -c "openai_base_url=$OPENAI_BASE_URL" "$@"; '
    "fi; "
    'exec "$@" < "$prompt"'
)
_SCRIPT_NAME = "gittask-agent"

_SESSION_ID = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
_BASH_LC = re.compile(r"^(?:/usr)?/bin/(?:ba|z|da)?sh -lc (?P<q>['\"])(?P<cmd>.*)(?P=q)$", re.S)
_TOOL_ITEMS = (
    "command_execution",
    "file_change",
    "mcp_tool_call",
    "web_search",
    "collab_tool_call",
)
_MAX_LINE = 80
_MAX_ERROR = 300


# --------------------------------------------------------------------------------------
# Session files


def session_file(codex_home: Path, session_id: str) -> Path | None:
    """The rollout file of *session_id* under a ``CODEX_HOME`` folder, if there is one."""
    if not _SESSION_ID.match(session_id):
        return None
    sessions = codex_home / "sessions"
    if not sessions.is_dir():
        return None
    found = sorted(sessions.glob(f"*/*/*/rollout-*-{session_id}.jsonl"))
    return found[-1] if found else None


def thread_usage(rollout: Path) -> dict[str, int]:
    """The thread's token totals recorded last in a rollout file ({} if none)."""
    totals: dict[str, int] = {}
    try:
        with rollout.open(encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if '"token_count"' not in line:
                    continue
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                payload = event.get("payload") if isinstance(event, dict) else None
                info = payload.get("info") if isinstance(payload, dict) else None
                total = info.get("total_token_usage") if isinstance(info, dict) else None
                if isinstance(total, dict):
                    totals = {k: int(v) for k, v in total.items() if _is_int(v)}
    except OSError:
        return {}
    return totals


# --------------------------------------------------------------------------------------
# What a run printed


@dataclass
class CodexTranscript:
    """What the JSON events of one ``codex exec --json`` run said."""

    thread_id: str | None = None
    turn_completed: bool = False
    turn_failed: bool = False
    #: ``turn.failed`` message, else the last ``error`` event's.
    error: str | None = None
    #: Retry notices (``Reconnecting... 2/5 (…)``), in order.
    retries: list[str] = field(default_factory=list)
    last_message: str | None = None
    tool_calls: int = 0
    #: The thread's running totals from ``turn.completed`` (input, cached, output).
    usage: dict[str, int] = field(default_factory=dict)
    events: int = 0
    non_json_lines: int = 0
    _seen: set[str] = field(default_factory=set, repr=False)

    def consume(self, item: Item) -> None:
        if isinstance(item, str):
            self.non_json_lines += 1
            return
        self.events += 1
        kind = item.get("type")
        if kind == "thread.started":
            thread = item.get("thread_id")
            if isinstance(thread, str) and thread:
                self.thread_id = thread
        elif kind == "turn.completed":
            self.turn_completed = True
            usage = item.get("usage")
            if isinstance(usage, dict):
                self.usage = {k: int(v) for k, v in usage.items() if _is_int(v)}
        elif kind == "turn.failed":
            self.turn_failed = True
            error = item.get("error")
            message = error.get("message") if isinstance(error, dict) else None
            if isinstance(message, str) and message.strip():
                self.error = message.strip()
        elif kind == "error":
            message = item.get("message")
            if isinstance(message, str) and message.strip():
                if message.startswith("Reconnecting..."):
                    self.retries.append(message.strip())
                else:
                    self.error = message.strip()
        elif kind in ("item.started", "item.completed"):
            self._consume_item(kind, item.get("item"))

    def _consume_item(self, kind: str, thread_item: object) -> None:
        if not isinstance(thread_item, dict):
            return
        item_type = thread_item.get("type")
        item_id = thread_item.get("id")
        if item_type in _TOOL_ITEMS and isinstance(item_id, str) and item_id not in self._seen:
            self._seen.add(item_id)
            self.tool_calls += 1
        if kind == "item.completed" and item_type == "agent_message":
            text = thread_item.get("text")
            if isinstance(text, str) and text.strip():
                self.last_message = text.strip()

    @property
    def finished(self) -> bool:
        return self.turn_completed or self.turn_failed

    @property
    def succeeded(self) -> bool:
        return self.turn_completed and not self.turn_failed

    @property
    def num_turns(self) -> int | None:
        """Model calls: one per tool call, plus the final answer (derived, see module doc)."""
        if not self.events:
            return None
        return self.tool_calls + (1 if self.turn_completed else 0)


class CodexOutput:
    """Decodes ``codex exec --json`` output; keeps a :class:`CodexTranscript`.

    *baseline*: the session's token totals before this run (a resume), so that
    :meth:`run_usage` is this run's share of the thread's running total.
    """

    def __init__(self, workdir: str = WORKDIR, baseline: Mapping[str, int] | None = None) -> None:
        self._decoder = StreamDecoder()
        self.transcript = CodexTranscript()
        self.workdir = workdir
        self.baseline = dict(baseline or {})
        #: The last line that was not JSON (why Codex refused to start, a log line).
        self.last_text_line: str | None = None

    def feed(self, chunk: bytes) -> list[str]:
        return self._handle(self._decoder.feed(chunk))

    def flush(self) -> list[str]:
        return self._handle(self._decoder.flush())

    @property
    def finished(self) -> bool:
        return self.transcript.finished

    def run_usage(self, key: str) -> int | None:
        """This run's tokens of one kind (``input_tokens``, ``output_tokens``…)."""
        if key not in self.transcript.usage:
            return None
        return max(0, self.transcript.usage[key] - self.baseline.get(key, 0))

    def _handle(self, items: list[Item]) -> list[str]:
        lines: list[str] = []
        for item in items:
            self.transcript.consume(item)
            if isinstance(item, str):
                if item.strip():
                    self.last_text_line = item.strip()
                    lines.append(item.rstrip())
                continue
            shown = render(item, self.workdir)
            if shown is not None:
                lines.extend(shown.splitlines())
            if item.get("type") == "turn.completed":
                lines.append(self._done_line())
        return lines

    def _done_line(self) -> str:
        t = self.transcript
        stats: list[str] = []
        if t.num_turns is not None:
            stats.append(f"{t.num_turns} turn{'' if t.num_turns == 1 else 's'}")
        tokens_in, tokens_out = self.run_usage("input_tokens"), self.run_usage("output_tokens")
        if tokens_in is not None and tokens_out is not None:
            stats.append(f"{tokens_in} in / {tokens_out} out tokens")
        return "✓ done" + (f" in {', '.join(stats)}" if stats else "")


def render(item: Item, workdir: str = WORKDIR) -> str | None:
    """A short human-readable view of one event, or None to show nothing.

    ``→ shell: git status``, ``→ apply_patch: add hello.py``, the agent's messages
    as they are, a failed command as ``  ✗ exit 1: <last line>``, retries as
    ``… Reconnecting... 2/5 (…)`` and a failed turn as ``✗ failed: <why>``.
    """
    if isinstance(item, str):
        return item.rstrip() or None
    kind = item.get("type")
    if kind == "thread.started":
        thread = item.get("thread_id")
        return f"● Codex · session {thread}" if isinstance(thread, str) else "● Codex"
    if kind == "error":
        message = item.get("message")
        return f"… {_one_line(message, _MAX_ERROR)}" if isinstance(message, str) else None
    if kind == "turn.failed":
        error = item.get("error")
        message = error.get("message") if isinstance(error, dict) else None
        return f"✗ failed: {_one_line(message, _MAX_ERROR)}" if message else "✗ failed"
    if kind not in ("item.started", "item.completed"):
        return None
    thread_item = item.get("item")
    if not isinstance(thread_item, dict):
        return None
    item_type = thread_item.get("type")
    started = kind == "item.started"
    if item_type == "command_execution":
        if started:
            return f"→ shell: {_one_line(shell_command(thread_item.get('command')), _MAX_LINE)}"
        exit_code = thread_item.get("exit_code")
        if thread_item.get("status") in ("failed", "declined") or (
            _is_int(exit_code) and exit_code != 0
        ):
            output = thread_item.get("aggregated_output")
            last = _last_line(output if isinstance(output, str) else "")
            what = f"exit {exit_code}" if _is_int(exit_code) else str(thread_item.get("status"))
            return f"  ✗ {what}" + (f": {last}" if last else "")
        return None
    if item_type == "file_change":
        if started:
            return None
        changes = thread_item.get("changes")
        parts = [
            f"{change.get('kind', 'update')} {_short_path(str(change.get('path', '')), workdir)}"
            for change in (changes if isinstance(changes, list) else [])
            if isinstance(change, dict)
        ]
        line = (
            f"→ apply_patch: {_one_line(', '.join(parts), _MAX_LINE)}" if parts else "→ apply_patch"
        )
        if thread_item.get("status") == "failed":
            line += " (failed)"
        return line
    if started:
        if item_type == "mcp_tool_call":
            return f"→ {thread_item.get('server')}.{thread_item.get('tool')}"
        if item_type == "web_search":
            return f"→ web_search: {_one_line(str(thread_item.get('query') or ''), _MAX_LINE)}"
        return None
    if item_type == "agent_message":
        text = thread_item.get("text")
        return text.strip() if isinstance(text, str) and text.strip() else None
    if item_type == "todo_list":
        todos = thread_item.get("items")
        count = len(todos) if isinstance(todos, list) else 0
        return f"→ plan ({count} item{'' if count == 1 else 's'})"
    if item_type == "error":
        message = thread_item.get("message")
        return f"! {_one_line(message, _MAX_ERROR)}" if isinstance(message, str) else None
    return None


def shell_command(command: object) -> str:
    """The command the model asked for, without Codex's ``/bin/bash -lc '…'`` wrapper."""
    if isinstance(command, list):
        command = " ".join(str(part) for part in command)
    if not isinstance(command, str):
        return ""
    match = _BASH_LC.match(command.strip())
    if match is None:
        return command
    inner = match.group("cmd")
    return inner.replace("'\\''", "'") if match.group("q") == "'" else inner


# --------------------------------------------------------------------------------------
# The agent


class CodexAgent:
    """OpenAI's Codex CLI from the ``@openai/codex`` package.

    One instance serves one run: :meth:`seed_state_dir` and then :meth:`argv`
    with a ``resume_session_id`` make it remember the session's token totals so
    far, which :meth:`new_output` hands to the decoder (see :class:`CodexOutput`).
    """

    name = "codex"
    state_dir: str | None = CODEX_HOME
    #: The executable in the image (tests substitute a host path).
    executable = "codex"

    def __init__(self) -> None:
        self._host_state: Path | None = None
        self._baseline: dict[str, int] = {}

    def cli_args(self, settings: AgentSettings, run: AgentRun) -> list[str]:
        """The ``codex exec`` command line itself (without the container script)."""
        args = [
            self.executable,
            "exec",
            "--json",
            "--skip-git-repo-check",
            "--dangerously-bypass-approvals-and-sandbox",
            "--disable",
            "unbounded_connection_retries",
            "-c",
            "check_for_update_on_startup=false",
        ]
        if settings.model:
            args += ["-m", settings.model]
        if settings.append_system_prompt:
            args += ["-c", f"developer_instructions={json.dumps(settings.append_system_prompt)}"]
        if run.resume_session_id:
            if not _SESSION_ID.match(run.resume_session_id):
                raise ValueError(f"not a valid Codex session id: {run.resume_session_id!r}")
            args += ["resume", run.resume_session_id]
        return [*args, "-"]

    def argv(self, settings: AgentSettings, run: AgentRun) -> list[str]:
        problem = self._check_settings(settings)
        if problem:
            raise ValueError(problem)
        if not run.prompt_file.startswith("/"):
            raise ValueError(
                f"the prompt file must be an absolute path in the container: {run.prompt_file!r}"
            )
        command = self.cli_args(settings, run)
        self._baseline = {}
        if run.resume_session_id and self._host_state is not None:
            rollout = session_file(self._host_state, run.resume_session_id)
            if rollout is not None:
                self._baseline = thread_usage(rollout)
        return ["sh", "-c", CODEX_SCRIPT, _SCRIPT_NAME, run.prompt_file, *command]

    def environment(self, settings: AgentSettings, run: AgentRun) -> dict[str, str]:
        env = task_environment(run)
        env["CODEX_HOME"] = CODEX_HOME
        return env

    def credential_names(self, settings: AgentSettings) -> tuple[str, ...]:
        wanted = (*CREDENTIAL_NAMES, BASE_URL_ENV)
        return wanted + tuple(n for n in settings.pass_env if n not in wanted)

    def api_url(self, passed: Mapping[str, str]) -> str | None:
        return (passed.get(BASE_URL_ENV) or "").strip() or DEFAULT_API_URL

    def check(self, settings: AgentSettings, host_env: Mapping[str, str]) -> str | None:
        problem = self._check_settings(settings)
        if problem:
            return problem
        if not any((host_env.get(name) or "").strip() for name in CREDENTIAL_NAMES):
            return "no Codex credentials: set CODEX_API_KEY or OPENAI_API_KEY (an OpenAI API key)"
        return None

    def _check_settings(self, settings: AgentSettings) -> str | None:
        problem = check_settings(settings)
        if problem:
            return problem
        if settings.max_turns is not None:
            return "max_turns: the Codex CLI has no turn limit; unset it for agent codex"
        if settings.max_budget_usd is not None:
            return "max_budget_usd: the Codex CLI has no spending limit; unset it for agent codex"
        return None

    def seed_state_dir(self, host_dir: Path) -> None:
        """Create *host_dir* (Codex fills it itself); remember it for a resume's usage."""
        host_dir.mkdir(parents=True, exist_ok=True)
        self._host_state = host_dir

    def session_file(self, host_dir: Path, session_id: str) -> Path | None:
        """The session's rollout file in the state folder *host_dir*, if there is one."""
        return session_file(host_dir, session_id)

    def new_output(self) -> CodexOutput:
        return CodexOutput(baseline=self._baseline)

    def outcome(
        self,
        exit_code: int | None,
        output: AgentOutput,
        *,
        stopped: StopReason | None = None,
    ) -> AgentOutcome:
        if not isinstance(output, CodexOutput):
            raise TypeError("CodexAgent.outcome needs the output from its own new_output()")
        t = output.transcript
        result = AgentOutcome(
            success=False,
            session_id=t.thread_id,
            summary=t.last_message,
            cost_usd=None,  # Codex reports tokens, never a price
            input_tokens=output.run_usage("input_tokens"),
            output_tokens=output.run_usage("output_tokens"),
            num_turns=t.num_turns,
        )
        if stopped == "after_result" and t.finished:
            result.error_message = None if t.succeeded else _reported_error(t)
        else:
            failed = t.turn_failed or (t.error and not t.turn_completed)
            result.error_message = judge_exit(
                stopped=stopped,
                exit_code=exit_code,
                reported=_reported_error(t) if failed else None,
                finished=t.finished,
                completed=t.turn_completed,
                retrying=clip(t.retries[-1]) if t.retries else None,
                last_text_line=output.last_text_line,
                final_event="turn.completed",
            )
        result.success = result.error_message is None
        return result


def _reported_error(t: CodexTranscript) -> str:
    detail = _one_line(t.error, _MAX_ERROR) if t.error else "no reason given"
    message = f"Codex reported an error: {detail}"
    hint = _api_hint(t.error or "")
    return f"{message} ({hint})" if hint else message


def _api_hint(error: str) -> str | None:
    status = re.search(r"\b(?:status:?|status)\s+(\d{3})\b", error)
    code = int(status.group(1)) if status else None
    if code in (401, 403) or "Incorrect API key" in error:
        return "the API refused the credentials: check CODEX_API_KEY or OPENAI_API_KEY"
    if code == 429:
        return "rate limited by the API; try again later"
    if code is not None and code >= 500:
        return f"the API is overloaded or failing (HTTP {code}); try again later"
    if "Connection failed" in error or "error sending request" in error:
        return (
            "the API could not be reached: check the container's network "
            f"(config key network) and {BASE_URL_ENV}"
        )
    return None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _one_line(text: str | None, limit: int) -> str:
    if not text:
        return ""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return _one_line(lines[-1], 160) if lines else ""


def _short_path(path: str, workdir: str) -> str:
    workdir = workdir.rstrip("/") or "/"
    if path == workdir:
        return "."
    if path.startswith(workdir + "/"):
        return posixpath.relpath(path, workdir)
    return path
