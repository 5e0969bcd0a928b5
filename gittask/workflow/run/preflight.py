"""Stage 1, preflight: everything that can be checked before the task is touched.

The agent and its settings, the credentials it needs, the engine and the image.
Nothing is written: a run that cannot start leaves the record as it was.
"""

from __future__ import annotations

import os
from pathlib import Path

from gittask.config import ProjectConfig, load_config
from gittask.errors import GittaskError
from gittask.runner import naming
from gittask.runner.agents import AgentRun, AgentSettings, credentials_for, get_agent
from gittask.runner.engine import Engine
from gittask.store.database import TaskDatabase
from gittask.workflow.run.handoffs import Preflight


def agent_settings(config: ProjectConfig) -> AgentSettings:
    return AgentSettings(
        command=config["agent_command"],
        model=config["model"],
        max_turns=config["max_turns"],
        max_budget_usd=config["max_budget_usd"],
        max_retries=config["max_retries"],
        append_system_prompt=config["append_system_prompt"],
        pass_env=tuple(config["env"] or ()),
    )


def image_name(db: TaskDatabase, config: ProjectConfig) -> str:
    return str(config["image"] or naming.default_image_tag(db.repo))


def agent_state_dir(db: TaskDatabase, task_id: str) -> Path:
    """The per-task folder mounted at the agent's ``state_dir`` (Claude's transcripts)."""
    return db.repo.state_dir / "agent-state" / task_id


def preflight(
    db: TaskDatabase, config: ProjectConfig | None = None, engine: Engine | None = None
) -> Preflight:
    """Check what a run needs; ``engine``: the Docker engine unless given."""
    config = config or load_config(db.repo)
    try:
        agent = get_agent(config["agent"])
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

        engine = DockerEngine.connect(pinned=config["engine"])
    image = image_name(db, config)
    engine.ensure_image(image)
    creds = credentials_for(agent, settings, os.environ)
    return Preflight(config, agent, settings, image, engine, creds, workspace_of(config, engine))


def workspace_of(config: ProjectConfig, engine: Engine) -> str:
    """``bind`` or ``bundle``: the setting, or (auto) bundle for an engine on another host."""
    chosen = str(config["workspace"])
    if chosen != "auto":
        return chosen
    return "bundle" if getattr(engine, "remote", False) else "bind"
