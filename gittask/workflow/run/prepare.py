"""Stage 3, prepare: logs, base branch, branch plan, worktree, prompt, session, container.

The record is untouched until :mod:`gittask.workflow.run.execute`: a run that
cannot be prepared leaves the task as it was. Each step that takes something
(a log folder, a worktree, a container) is followed, in the pipeline, by the
cleanup that gives it back.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from pathlib import Path

from gittask.errors import GittaskError
from gittask.model.clock import utcnow
from gittask.runner import egress, live, naming, sandbox, transfer
from gittask.runner import worktree as wt
from gittask.runner.agents import DEFAULT_PROMPT_FILE, AgentRun
from gittask.runner.credentials import IN_CONTAINER as creds_dir_in_container
from gittask.runner.credentials import CredentialFiles
from gittask.runner.logs import RunLogs
from gittask.runner.prompt import branch_state, build_prompt
from gittask.workflow import deps, tasklogs
from gittask.workflow.run.context import RunContext
from gittask.workflow.run.handoffs import Claimed, Plan, Sandboxed, Workspace
from gittask.workflow.run.preflight import agent_state_dir, host_network_warning


def open_logs(ctx: RunContext, claimed: Claimed) -> RunLogs:
    """The run's log folder: execution.log, the agent's output, run.json."""
    task, run = claimed.task, claimed.run
    logs = RunLogs(ctx.db.logs_folder(task.id), run, ctx.scrub, ctx.config.logs_run_max_bytes)
    ctx.logs = logs
    claimed.marker.log_dir = str(logs.folder)
    ctx.log(f"run {run} of task {task.id} ({ctx.request.kind}), pid {os.getpid()}")
    ctx.log(f"agent {ctx.pre.agent.name}, image {ctx.pre.image}")
    return logs


def plan(ctx: RunContext, claimed: Claimed) -> Plan:
    """The base branch and where the task's branch starts (fetching both)."""
    repo, task = ctx.db.repo, claimed.task
    stacked = deps.stacked_base(ctx.db, task)  # on an unmerged dependency's branch
    if stacked is not None:
        ctx.log(f"stacked on a dependency's branch {stacked}")
    base, how = wt.resolve_base(
        repo, task.base_branch or stacked, ctx.config.base_branch, ctx.remote
    )
    base_tip, base_ref = wt.base_commit(
        repo, base, ctx.remote, how, prefer_local=ctx.request.local_base
    )
    ctx.log(f"base branch {base} ({how}) at {base_tip[:12]} via {base_ref}")
    first_run = task.run_count == 0 and not task.commit_hash
    branch = wt.plan_branch(repo, task.branch_name, ctx.remote, first_run, base, base_tip)
    holder = wt.checked_out_at(repo, task.branch_name)
    if holder is not None:
        raise GittaskError(
            f"branch '{task.branch_name}' is checked out in {holder}; "
            "a run would move it under that checkout",
            "switch that checkout to another branch first (git switch -)",
        )
    return Plan(base, base_ref, branch)


def checkout(ctx: RunContext, claimed: Claimed, planned: Plan) -> wt.Worktree:
    """The run's own worktree at the planned start (the user's checkout is not touched)."""
    repo = ctx.db.repo
    worktree = wt.create_worktree(repo, claimed.task.id, claimed.run, planned.branch.start)
    claimed.marker.worktree = str(worktree.path)
    live.update(repo, claimed.marker)
    ctx.log(f"worktree {worktree.path} at {planned.branch.start[:12]} ({planned.branch.note})")
    return worktree


def workspace(ctx: RunContext, claimed: Claimed, planned: Plan, worktree: wt.Worktree) -> Workspace:
    """Merge the remote's diverged copy, find the session to resume, write the prompt."""
    task = claimed.task
    if planned.branch.merge:
        start = wt.merge_remote_copy(worktree, planned.branch.merge, task.branch_name, ctx.remote)
        ctx.log(f"merged {ctx.remote}/{task.branch_name}: start is now {start[:12]}")
    state = branch_state(
        ctx.db.repo, task.branch_name, planned.base, planned.base_ref, worktree.start
    )
    resume, agent_state = _session(ctx, claimed)
    prompt = build_prompt(
        task, state, resumed=resume is not None, current_feedback_id=ctx.request.feedback_id
    )
    prompt_file = worktree.scratch / "prompt.md"
    prompt_file.write_text(ctx.scrub.text(prompt), encoding="utf-8")
    os.chmod(prompt_file, 0o644)
    assert ctx.logs is not None
    (ctx.logs.folder / "prompt.md").write_text(ctx.scrub.text(prompt), encoding="utf-8")
    return Workspace(worktree, prompt_file, resume, agent_state)


def _session(ctx: RunContext, claimed: Claimed) -> tuple[str | None, Path | None]:
    """(session to resume, host folder of the agent's state), for agents that keep one."""
    agent, task = ctx.pre.agent, claimed.task
    if not agent.state_dir:
        return None, None
    state_host = agent_state_dir(ctx.db, task.id)
    agent.seed_state_dir(state_host)
    tasklogs.restore_session(ctx.db, ctx.remote, task, state_host, ctx.log)
    if task.session_id and agent.session_file(state_host, task.session_id) is not None:
        ctx.log(f"resuming session {task.session_id}")
        return task.session_id, state_host
    if task.session_id:
        ctx.log(f"session {task.session_id} has no transcript here: starting fresh")
    return None, state_host


def credential_files(ctx: RunContext) -> CredentialFiles | None:
    """The credentials as files on a tmpfs (never in the container's configuration)."""
    if not ctx.pre.credentials:
        return None
    try:
        files = CredentialFiles.write(ctx.pre.credentials)
    except (OSError, ValueError) as exc:
        raise GittaskError(f"cannot write the credential files: {exc}") from None
    ctx.credential_files = files
    ctx.log(files.describe())
    return files


def open_egress(ctx: RunContext) -> egress.Egress | None:
    """network allowlist: the run's proxy, listening before the container exists."""
    if ctx.pre.allow is None:
        return None
    way_out = egress.Egress(ctx.pre.allow, ctx.log)
    ctx.log(f"egress: network none; the run's proxy lets through only {ctx.pre.allow}")
    return way_out


def create_container(
    ctx: RunContext,
    claimed: Claimed,
    planned: Plan,
    ws: Workspace,
    way_out: egress.Egress | None = None,
) -> Sandboxed:
    """The agent's container, created (not started) as :mod:`gittask.runner.sandbox` says."""
    repo, pre, task = ctx.db.repo, ctx.pre, claimed.task
    agent_run = AgentRun(
        task_id=task.id,
        branch=task.branch_name,
        prompt_file=DEFAULT_PROMPT_FILE,
        resume_session_id=ws.resume,
    )
    try:
        command = pre.agent.argv(pre.settings, agent_run)
    except ValueError as exc:
        raise GittaskError(str(exc)) from None
    given = _sandbox_inputs(ctx, claimed, ws, tuple(command), agent_run)
    if way_out is not None:
        given = dataclasses.replace(given, egress_dir=way_out.folder)
    spec = sandbox.container_spec(given)
    warning = host_network_warning(spec.network)
    if warning:
        ctx.say(warning)
    ctx.log(sandbox.environment_line(spec))
    if pre.workspace == "bind":
        # from here on the container may write the admin folder: host git stays out
        # of the worktree until the container is gone and the folder is reclaimed
        ws.worktree.exposed = True
    container_id = pre.engine.create(spec)
    if pre.workspace == "bundle":  # nothing mounted: the worktree goes in as git objects
        _copy_in(ctx, container_id, ws)
    claimed.marker.container_id = container_id
    claimed.marker.container_name = spec.name
    live.update(repo, claimed.marker)
    ctx.log(f"container {spec.name} ({container_id[:12]}): {sandbox.describe(spec)}")
    _save_start_info(ctx, claimed, planned, ws, spec.name)
    return Sandboxed(spec, container_id)


def _copy_in(ctx: RunContext, container_id: str, ws: Workspace) -> None:
    """The start as a bundle, the prompt, /workspace and the agent's state, in one archive."""
    uid, gid = sandbox.host_ids()
    bundle = wt.start_bundle(ws.worktree)
    entries = transfer.inputs(
        bundle,
        ws.prompt_file.read_bytes(),
        uid,
        gid,
        ctx.pre.agent.state_dir,
        ws.agent_state,
    )
    if ctx.pre.credentials:
        entries += transfer.credential_inputs(creds_dir_in_container, ctx.pre.credentials, uid, gid)
    ctx.pre.engine.copy_in_archive(container_id, transfer.archive(entries))
    ctx.log(f"copied the workspace in: a bundle of {len(bundle)} bytes, {len(entries)} entries")


def _sandbox_inputs(
    ctx: RunContext,
    claimed: Claimed,
    ws: Workspace,
    command: tuple[str, ...],
    agent_run: AgentRun,
) -> sandbox.SandboxInputs:
    """Everything the sandbox policy decides from, for this run."""
    repo, pre, task, run = ctx.db.repo, ctx.pre, claimed.task, claimed.run
    signature = repo.signature()
    uid, gid = sandbox.host_ids()
    worktree = ws.worktree
    return sandbox.SandboxInputs(
        image=pre.image,
        name=f"claude-task-{task.id[:12]}-r{run:03d}-{secrets.token_hex(3)}",
        command=command,
        agent_environment=pre.agent.environment(pre.settings, agent_run),
        agent_state_dir=pre.agent.state_dir,
        credential_names=tuple(pre.credentials),
        git_name=signature.name,
        git_email=signature.email,
        paths=sandbox.RunPaths(
            worktree=worktree.path,
            admin=worktree.admin,
            objects=worktree.objects,
            git_config=worktree.container_config,
            prompt_file=ws.prompt_file,
            common_dir=repo.common_dir,
            private_dir=repo.state_dir if repo.state_dir.is_dir() else None,
            agent_state=ws.agent_state,
            credentials=ctx.credential_files.path if ctx.credential_files else None,
        ),
        uid=uid,
        gid=gid,
        limits=sandbox.Limits(
            network=ctx.config.network,
            memory=ctx.config.memory,
            cpus=ctx.config.cpus,
            pids_limit=ctx.config.pids_limit,
        ),
        repo_key=naming.repo_key(repo),
        task_id=task.id,
        run=run,
        host_pid=os.getpid(),
        workspace=pre.workspace,
        start=worktree.start,
    )


def _save_start_info(
    ctx: RunContext, claimed: Claimed, planned: Plan, ws: Workspace, name: str
) -> None:
    assert ctx.logs is not None
    ctx.logs.save_info(
        task_id=claimed.task.id,
        kind=ctx.request.kind,
        feedback_id=ctx.request.feedback_id,
        agent=ctx.pre.agent.name,
        image=ctx.pre.image,
        container=name,
        base=planned.base,
        start=ws.worktree.start,
        resumed_session=ws.resume,
        started_at=utcnow().isoformat(),
    )
