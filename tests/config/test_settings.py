"""The typed settings (:mod:`gittask.config`): one table of every setting with its
type, default and check, read as typed attributes, and the ``config`` commands it
drives (unknown keys name close ones, wrong types name the expected type, ``unset``
goes back to the default, ``show --json`` says where each value comes from)."""

from __future__ import annotations

import json
import types
import typing
from pathlib import Path

import pytest

from gittask.config import SETTINGS, ConfigFile, ProjectConfig, default_values, lookup
from gittask.errors import UsageError
from tests.conftest import run_cli

CONFIG = Path(".claude-container") / "container_config.json"


def _write(root: Path, values: dict[str, object]) -> Path:
    path = root / CONFIG
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(values) + "\n")
    return path


# -- the table ---------------------------------------------------------------------------


def test_every_default_fits_its_own_type_and_check() -> None:
    hints = typing.get_type_hints(ProjectConfig)
    for key, one in SETTINGS.items():
        assert one.kind.parse(one.default) == one.default, key
        hint = hints[one.attribute]
        union = isinstance(hint, types.UnionType)
        allowed = tuple(
            typing.get_origin(t) or t for t in (typing.get_args(hint) if union else [hint])
        )
        assert isinstance(one.default, allowed), (key, hint)
        assert one.kind.optional == (one.default is None), key


def test_what_init_writes_reads_back_as_every_default(tmp_path: Path) -> None:
    _write(tmp_path, default_values())
    assert ProjectConfig.load(tmp_path) == ProjectConfig()
    assert ProjectConfig.load(tmp_path / "no-project") == ProjectConfig()


def test_settings_are_typed_where_they_are_read(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "timeout_seconds": "120",
            "cpus": 1,
            "pids_limit": 64.0,
            "env": "FOO, BAR_2",
            "sync.auto": "off",
            "claude_install": "NPM",
            "dependencies.success": "Finished",
            "memory": "2G",
            "model": None,
            "network": None,  # null: the default
            "from_a_newer_version": 1,  # unknown keys are left alone
        },
    )
    config = ProjectConfig.load(tmp_path)
    assert config.timeout_seconds == 120 and isinstance(config.timeout_seconds, int)
    assert config.cpus == 1.0 and isinstance(config.cpus, float)
    assert config.pids_limit == 64 and isinstance(config.pids_limit, int)
    assert config.env == ("FOO", "BAR_2")
    assert config.sync_auto is False and config.claude_install == "npm"
    assert (config.memory, config.model, config.network) == ("2g", None, "allowlist")
    assert config.get("sync.auto") is False and config.logs_max_bytes == 5 * 1024 * 1024
    assert config.dependencies_success == "finished"


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("timeout_seconds", True, "a positive whole number"),
        ("timeout_seconds", 2.5, "a positive whole number"),
        ("max_retries", -1, "a whole number, 0 or more"),
        ("cpus", "nan", "a positive number"),
        ("pr_draft", "maybe", "true or false"),
        ("agent", "gpt", "one of claude, codex, command"),
        ("dependencies.success", "done", "one of merged, finished"),
        ("model", ["opus"], "text, or null"),
        ("env", "A=1", "names of host variables such as FOO,BAR: names only"),
    ],
)
def test_a_wrong_type_in_the_file_is_one_line_naming_the_expected_type(
    tmp_path: Path, key: str, value: object, expected: str
) -> None:
    path = _write(tmp_path, {key: value})
    with pytest.raises(UsageError) as caught:
        ProjectConfig.load(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{path}: bad value for {key}: ")
    assert f"(expected {expected}" in message and "\n" not in message


def test_an_unknown_key_names_the_close_ones() -> None:
    with pytest.raises(UsageError, match=r"did you mean memory\?"):
        lookup("memroy")
    with pytest.raises(UsageError, match=r"did you mean logs\.max_bytes\?"):
        lookup("logs_max_bytes")  # the attribute's name
    with pytest.raises(UsageError, match="valid keys: agent, agent_command"):
        lookup("zzz")


def test_set_checks_and_unset_restores_the_default(tmp_path: Path) -> None:
    config = ConfigFile.open(tmp_path)
    assert config.set("max_turns", "7") == 7 and config.settings.max_turns == 7
    assert config.set("max_turns", "none") is None
    with pytest.raises(UsageError, match="config unset memory"):
        config.set("memory", "null")
    assert config.set("memory", "1G") == "1g"
    config.save()
    config = ConfigFile.open(tmp_path)
    assert config.settings.memory == "1g" and config.source("memory") == "file"
    assert config.unset("memory") == "4g" and config.settings.memory == "4g"


# -- the commands ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("set", "memory", "abc"), "(expected a memory size such as 512m or 4g)"),
        (("set", "timeout_seconds", "soon"), "(expected a positive whole number)"),
        (("set", "pr_draft", "maybe"), "(expected true or false)"),
        (("set", "model", "null"), None),  # clears it: JSON null, not "null"
        (("set", "memroy", "1g"), "unknown config key 'memroy' (did you mean memory?)"),
        (("get", "sync_auto"), "unknown config key 'sync_auto' (did you mean sync.auto?)"),
        (("unset", "pids"), "did you mean pids_limit?"),
    ],
)
def test_config_commands_refuse_in_one_line(repo: Path, args: tuple[str, ...], says: str) -> None:
    proc = run_cli(repo, "config", *args)
    if says is None:
        assert proc.returncode == 0, proc.stderr
        assert json.loads((repo / CONFIG).read_text())["model"] is None
        return
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1
    assert says in proc.stderr
    assert not (repo / CONFIG).exists()  # nothing written


def test_config_show_json_gives_value_default_type_and_source(repo: Path) -> None:
    proc = run_cli(repo, "config", "show", "--json")
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(proc.stdout)
    assert list(shown) == list(SETTINGS)  # every setting, in the table's order
    assert shown["memory"] == {
        "value": "4g",
        "source": "default",
        "default": "4g",
        "type": "a memory size such as 512m or 4g",
    }
    assert {one["source"] for one in shown.values()} == {"default"}
    _write(repo, {"memory": "1g", "model": None, "env": ["FOO"]})
    shown = json.loads(run_cli(repo, "config", "show", "--json").stdout)
    assert shown["memory"]["value"] == "1g" and shown["memory"]["source"] == "file"
    assert shown["env"]["value"] == ["FOO"] and shown["env"]["default"] == []
    assert shown["model"]["source"] == "default" and shown["model"]["value"] is None
    assert shown["max_turns"]["type"] == "a positive whole number, or null"
