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
import re
from collections.abc import Mapping
from pathlib import Path

from gittask.runner.agents.base import (
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
from gittask.runner.agents.codex_output import (
    MAX_ERROR,
    CodexOutput,
    CodexTranscript,
    clip_line,
    thread_usage,
)

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
    detail = clip_line(t.error, MAX_ERROR) if t.error else "no reason given"
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
