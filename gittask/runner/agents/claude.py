"""Claude Code, run headless: ``claude -p --output-format stream-json --verbose``.

The prompt is read from stdin (redirected from the prompt file, see
:mod:`gittask.runner.agents.base`); the output is stream-json, decoded with
:mod:`gittask.runner.stream_json`.  A run succeeds only if the process exits 0
*and* a ``result`` event was seen *and* it is not ``is_error`` *and* its subtype
is ``success`` (a failed API call can arrive as ``subtype: success`` with
``is_error: true``).

The container gets ``CLAUDE_CODE_MAX_RETRIES`` (:data:`DEFAULT_MAX_RETRIES` unless
configured: the CLI's own default, 10 retries with backoff up to about 35 s,
makes a dead API look like a hang) and ``CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1``
(no telemetry or update checks: only the API is called).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

from gittask.runner.agents.base import (
    WORKDIR,
    AgentOutcome,
    AgentOutput,
    AgentRun,
    AgentSettings,
    StopReason,
    check_settings,
    judge_exit,
    stdin_from_file,
    task_environment,
)
from gittask.runner.stream_json import ClaudeTranscript, Item, StreamDecoder, render

__all__ = [
    "CLAUDE_CONFIG_DIR",
    "CONTAINER_HOME",
    "CREDENTIAL_NAMES",
    "ClaudeAgent",
    "ClaudeOutput",
]

#: Home directory of the non-root user in the generated image.
CONTAINER_HOME = "/home/agent"
#: Claude Code's config and session transcripts (``CLAUDE_CONFIG_DIR``).
CLAUDE_CONFIG_DIR = f"{CONTAINER_HOME}/.claude"
#: API key (API billing) or OAuth token from ``claude setup-token`` (subscription).
CREDENTIAL_NAMES = ("ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN")
#: Where the model API is when set (config ``env`` passes it through), and without it.
BASE_URL_ENV = "ANTHROPIC_BASE_URL"
DEFAULT_API_URL = "https://api.anthropic.com"

#: API retries when the project does not configure ``max_retries``.
DEFAULT_MAX_RETRIES = 3

_SESSION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_ONBOARDING = {"hasCompletedOnboarding": True}


class ClaudeOutput:
    """Decodes Claude Code's stream-json output; keeps a :class:`ClaudeTranscript`."""

    def __init__(self) -> None:
        self._decoder = StreamDecoder()
        self.transcript = ClaudeTranscript()
        #: The last line that was not JSON (often the reason Claude Code refused to start).
        self.last_text_line: str | None = None

    def feed(self, chunk: bytes) -> list[str]:
        return self._handle(self._decoder.feed(chunk))

    def flush(self) -> list[str]:
        return self._handle(self._decoder.flush())

    @property
    def finished(self) -> bool:
        return self.transcript.saw_result

    def _handle(self, items: list[Item]) -> list[str]:
        lines: list[str] = []
        for item in items:
            self.transcript.consume(item)
            if isinstance(item, str) and item.strip():
                self.last_text_line = item.strip()
            shown = render(item, self.transcript.cwd or WORKDIR)
            if shown is not None:
                lines.extend(shown.splitlines())
        return lines


class ClaudeAgent:
    """The default agent: Claude Code from the ``@anthropic-ai/claude-code`` package."""

    name = "claude"
    state_dir: str | None = CLAUDE_CONFIG_DIR
    executable = "claude"

    def cli_args(self, settings: AgentSettings, run: AgentRun) -> list[str]:
        """The ``claude`` command line itself (without the stdin redirection)."""
        args = [
            self.executable,
            "-p",
            "--output-format",
            "stream-json",
            "--verbose",
            "--dangerously-skip-permissions",
        ]
        if settings.model:
            args += ["--model", settings.model]
        if settings.max_turns is not None:
            args += ["--max-turns", str(settings.max_turns)]
        if settings.max_budget_usd is not None:
            args += ["--max-budget-usd", _format_amount(settings.max_budget_usd)]
        if settings.append_system_prompt:
            args += ["--append-system-prompt", settings.append_system_prompt]
        if run.resume_session_id:
            if not _SESSION_ID.match(run.resume_session_id):
                raise ValueError(f"not a valid Claude session id: {run.resume_session_id!r}")
            args += ["--resume", run.resume_session_id]
        return args

    def argv(self, settings: AgentSettings, run: AgentRun) -> list[str]:
        problem = check_settings(settings)
        if problem:
            raise ValueError(problem)
        return stdin_from_file(run.prompt_file, self.cli_args(settings, run))

    def environment(self, settings: AgentSettings, run: AgentRun) -> dict[str, str]:
        env = task_environment(run)
        env["CLAUDE_CONFIG_DIR"] = CLAUDE_CONFIG_DIR
        # The image's global npm install is not writable by the agent's user.
        env["DISABLE_AUTOUPDATER"] = "1"
        env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1"
        retries = settings.max_retries if settings.max_retries is not None else DEFAULT_MAX_RETRIES
        env["CLAUDE_CODE_MAX_RETRIES"] = str(retries)
        return env

    def credential_names(self, settings: AgentSettings) -> tuple[str, ...]:
        extra = tuple(n for n in settings.pass_env if n not in CREDENTIAL_NAMES)
        return CREDENTIAL_NAMES + extra

    def api_url(self, passed: Mapping[str, str]) -> str | None:
        return (passed.get(BASE_URL_ENV) or "").strip() or DEFAULT_API_URL

    def check(self, settings: AgentSettings, host_env: Mapping[str, str]) -> str | None:
        problem = check_settings(settings)
        if problem:
            return problem
        if not any((host_env.get(name) or "").strip() for name in CREDENTIAL_NAMES):
            return (
                "no Claude credentials: set ANTHROPIC_API_KEY (API billing) or "
                "CLAUDE_CODE_OAUTH_TOKEN (subscription; create one with `claude setup-token`)"
            )
        return None

    def seed_state_dir(self, host_dir: Path) -> None:
        """Create *host_dir* with ``.claude.json`` marking onboarding as done.

        An existing ``.claude.json`` is kept (Claude Code stores state in it) and
        only gets the onboarding flag added if it lacks it.
        """
        host_dir.mkdir(parents=True, exist_ok=True)
        config = host_dir / ".claude.json"
        data: dict[str, object] = {}
        if config.exists():
            try:
                loaded = json.loads(config.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError):
                loaded = None
            if not isinstance(loaded, dict):
                return  # not ours to repair; Claude Code will report it
            if loaded.get("hasCompletedOnboarding") is True:
                return
            data = loaded
        data.update(_ONBOARDING)
        tmp = config.with_name(".claude.json.tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        tmp.replace(config)

    def session_file(self, host_dir: Path, session_id: str) -> Path | None:
        """``projects/-workspace/<session>.jsonl`` under the config folder, if present."""
        if not _SESSION_ID.match(session_id):
            return None
        path = host_dir / "projects" / WORKDIR.replace("/", "-") / f"{session_id}.jsonl"
        return path if path.is_file() else None

    def new_output(self) -> ClaudeOutput:
        return ClaudeOutput()

    def outcome(
        self,
        exit_code: int | None,
        output: AgentOutput,
        *,
        stopped: StopReason | None = None,
    ) -> AgentOutcome:
        if not isinstance(output, ClaudeOutput):
            raise TypeError("ClaudeAgent.outcome needs the output from its own new_output()")
        t = output.transcript
        result = AgentOutcome(
            success=False,
            session_id=t.session_id,
            summary=t.result if t.result and t.result.strip() else t.last_assistant_text,
            cost_usd=t.cost_usd,
            input_tokens=t.input_tokens,
            output_tokens=t.output_tokens,
            num_turns=t.num_turns,
            warnings=_warnings(t),
        )
        if stopped == "after_result" and t.saw_result:
            # Claude Code sometimes hangs after its result: the result is what counts.
            result.error_message = None if t.succeeded else _reported_error(t)
        else:
            result.error_message = judge_exit(
                stopped=stopped,
                exit_code=exit_code,
                reported=_reported_error(t) if t.saw_result and not t.succeeded else None,
                finished=t.saw_result,
                completed=t.saw_result,
                retrying=t.retries[-1].describe() if t.retries else None,
                last_text_line=output.last_text_line,
                final_event="result",
            )
        result.success = result.error_message is None
        return result


def _reported_error(t: ClaudeTranscript) -> str:
    what = "an error" if t.subtype in (None, "success") else t.subtype
    message = f"Claude reported {what}"
    if t.num_turns is not None:
        message += f" after {t.num_turns} turn{'' if t.num_turns == 1 else 's'}"
    detail = t.error_detail()
    if detail:
        message += f": {detail}"
    hint = _api_hint(t)
    return f"{message} ({hint})" if hint else message


def _api_hint(t: ClaudeTranscript) -> str | None:
    """What to do about the API error that ended the run, if one did."""
    status = t.api_error_status
    if status is None and t.terminal_reason == "api_error" and t.retries:
        status = t.retries[-1].status
    tries = len(t.retries)
    after = f" after {tries} retr{'y' if tries == 1 else 'ies'}" if tries else ""
    if status in (401, 403) or t.api_error == "authentication_failed":
        return "the API refused the credentials: check ANTHROPIC_API_KEY or CLAUDE_CODE_OAUTH_TOKEN"
    if status == 429:
        hint = f"rate limited by the API{after}; try again later"
        delay = t.retries[-1].delay_ms if t.retries else None
        if delay is not None and delay >= 1000:
            hint += f" (it asked to wait about {delay // 1000}s)"
        return hint
    if status is not None and (status >= 500 or status == 408):
        return f"the API is overloaded or failing (HTTP {status}){after}; try again later"
    unreachable = t.api_error == "connection_failed"
    if unreachable or (status is None and t.terminal_reason == "api_error" and tries):
        return (
            f"the API could not be reached{after}: check the container's network "
            "(config key network) and ANTHROPIC_BASE_URL"
        )
    return None


def _warnings(t: ClaudeTranscript) -> list[str]:
    if not t.permission_denials:
        return []
    count = len(t.permission_denials)
    shown = ", ".join(t.permission_denials[:5]) + (", …" if count > 5 else "")
    return [f"Claude was denied {count} tool call{'' if count == 1 else 's'}: {shown}"]


def _format_amount(amount: float) -> str:
    text = f"{amount:.4f}".rstrip("0").rstrip(".")
    return text or "0"
