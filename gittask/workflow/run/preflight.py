"""Stage 1, preflight: everything that can be checked before the task is touched.

The agent and its settings, the credentials it needs, the engine and the image.
Nothing is written: a run that cannot start leaves the record as it was.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gittask.config import ProjectConfig, load_config
from gittask.errors import GittaskError
from gittask.model import TaskMetadata
from gittask.runner import egress, naming
from gittask.runner.agents import Agent, AgentRun, AgentSettings, credentials_for, get_agent
from gittask.runner.engine import Engine
from gittask.store.database import TaskDatabase
from gittask.workflow.run.handoffs import Preflight


def agent_settings(config: ProjectConfig) -> AgentSettings:
    return AgentSettings(
        command=config.agent_command,
        model=config.model,
        max_turns=config.max_turns,
        max_budget_usd=config.max_budget_usd,
        max_retries=config.max_retries,
        append_system_prompt=config.append_system_prompt,
        pass_env=config.env,
    )


def image_name(db: TaskDatabase, config: ProjectConfig) -> str:
    return config.image or naming.default_image_tag(db.repo)


def agent_state_dir(db: TaskDatabase, task_id: str) -> Path:
    """The per-task folder mounted at the agent's ``state_dir`` (Claude's transcripts)."""
    return db.repo.state_dir / "agent-state" / task_id


#: The network mode that gives the agent this machine's network.
HOST_NETWORK = "host"


def check_network(config: ProjectConfig, allow_host_network: bool = False) -> None:
    """``network host`` only when asked for explicitly (the flag or the setting)."""
    if config.network != HOST_NETWORK or allow_host_network or config.allow_host_network:
        return
    raise GittaskError(
        "network host gives the agent this machine's network (every service listening on "
        "it, localhost included): nothing was started",
        "pass --allow-host-network (or `config set allow_host_network true`) if you mean "
        "it, or `config set network` to another mode",
    )


def host_network_warning(network: str | None) -> str | None:
    """The warning a run with the host's network prints, or None."""
    if network != HOST_NETWORK:
        return None
    return (
        "warning: network host: the agent's container shares this machine's network "
        "(it reaches every service listening here, localhost included)"
    )


#: a task's own settings (from its template), over the project's
TASK_SETTINGS = {"agent": "run_agent", "model": "run_model"}


def task_overrides(task: TaskMetadata) -> dict[str, str]:
    """The settings a task runs with instead of the project's (its template's agent, model)."""
    found = {key: task.extra.get(field) for key, field in TASK_SETTINGS.items()}
    return {k: str(v) for k, v in found.items() if v}


def with_overrides(config: ProjectConfig, overrides: Mapping[str, str]) -> ProjectConfig:
    """``config`` with some settings replaced (checked as ``config set`` checks them)."""
    from dataclasses import replace

    from gittask.config import lookup

    changed: dict[str, Any] = {  # each checked by its setting's kind
        lookup(k).attribute: lookup(k).parse(v, "task setting: ") for k, v in overrides.items()
    }
    return replace(config, **changed)


def preflight(
    db: TaskDatabase,
    config: ProjectConfig | None = None,
    engine: Engine | None = None,
    overrides: Mapping[str, str] | None = None,
    allow_host_network: bool = False,
) -> Preflight:
    """Check what a run needs; ``engine``: the Docker engine unless given;
    ``overrides``: settings of the task over the project's (see :func:`task_overrides`)."""
    config = config or load_config(db.repo)
    check_network(config, allow_host_network)
    if overrides:
        config = with_overrides(config, overrides)
    try:
        agent = get_agent(config.agent)
    except ValueError as exc:
        raise GittaskError(str(exc)) from None
    settings = agent_settings(config)
    problem = agent.check(settings, os.environ)
    if problem:
        raise GittaskError(problem, "nothing was started")
    try:
        agent.argv(settings, AgentRun(task_id="check", branch="check"))
    except ValueError as exc:
        raise GittaskError(str(exc)) from None
    if engine is None:
        from gittask.runner.container import DockerEngine

        engine = DockerEngine.connect(pinned=config.engine)
    image = image_name(db, config)
    engine.ensure_image(image)
    creds = credentials_for(agent, settings, os.environ)
    allow = allow_list(config, agent, creds)
    workspace = workspace_of(config, engine)
    if workspace == "bundle" and allow is not None:
        raise GittaskError(
            "network allowlist needs the run's proxy socket mounted in the container, which "
            "an engine on another host cannot see (workspace bundle)",
            "`config set network none` (or a network mode such as bridge: unfiltered) for "
            "this engine; nothing was started",
        )
    return Preflight(
        config, agent, settings, image, engine, creds, workspace=workspace, allow=allow
    )


def workspace_of(config: ProjectConfig, engine: Engine) -> str:
    """``bind`` or ``bundle``: the setting, or (auto) bundle for an engine on another host."""
    chosen = str(config.workspace)
    if chosen != "auto":
        return chosen
    return "bundle" if getattr(engine, "remote", False) else "bind"


def allow_list(
    config: ProjectConfig, agent: Agent, passed: Mapping[str, str]
) -> egress.AllowList | None:
    """network allowlist: the agent's model API plus ``network.allow``; else None."""
    if config.network != egress.ALLOWLIST:
        return None
    clash = sorted(name for name in passed if name in egress.proxy_environment())
    if clash:
        raise GittaskError(
            f"{', '.join(clash)} is passed to the agent (config env), but with network "
            "allowlist the run's own proxy is the container's only way out",
            "remove it from `config env` (the run's proxy connects from this host), "
            "or `config set network host` (with --allow-host-network)",
        )
    api = agent.api_url(passed)
    try:
        return egress.AllowList.of(config.network_allow, [api] if api else [])
    except ValueError as exc:
        raise GittaskError(
            f"the network allow-list: {exc}",
            "fix the agent's base URL variable or `config set network.allow ...`",
        ) from None
