"""The config model: the example file, precedence CLI > env > file > defaults, and one-line errors."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from cli_runner import run_in_process
from pydantic import BaseModel

from pool_doctor.cli_options import CommonArgs
from pool_doctor.config import (
    SECTIONS,
    AppConfig,
    DeploymentConfig,
    NetworkConfig,
    load_settings,
    pool_model,
    read_config_file,
    unknown_keys,
)
from pool_doctor.errors import ConfigError
from pool_doctor.inputs import build_inputs
from pool_doctor.stacks.sqlalchemy import SQLAlchemyPool

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"
# `key = value  # comment`, or the same commented out: `# key = value  # comment`.
KEY_LINE = re.compile(r"^(?P<off>#\s*)?(?P<key>[a-z_]+)\s*=\s*(?P<value>[^#]+?)\s*(?:#\s*(?P<comment>\S.*))?$")
SECTION_LINE = re.compile(r"^(?:#\s*)?\[(?P<name>[a-z_.]+)\]")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No POOL_DOCTOR_* or libpq variables from the developer's shell, and no ./pool-doctor.toml."""
    for name in list(os.environ):
        if name.startswith(("POOL_DOCTOR_", "PG")) or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def model_sections() -> dict[str, type[BaseModel] | None]:
    """Every top-level field of AppConfig: its model, or None for a free-form table (connect_args)."""
    sections: dict[str, type[BaseModel] | None] = {}
    for name, info in AppConfig.model_fields.items():
        # [pool] is a tagged union of the stacks' models: a table without `stack` is the default stack's.
        kind = pool_model({}) if name == "pool" else info.annotation
        sections[name] = kind if isinstance(kind, type) and issubclass(kind, BaseModel) else None
    return sections


def example_keys() -> dict[str, dict[str, str | None]]:
    """section -> key -> its comment, for active and commented-out keys of config.example.toml."""
    found: dict[str, dict[str, str | None]] = {}
    section = None
    for line in EXAMPLE.read_text().splitlines():
        if match := SECTION_LINE.match(line):
            section = match["name"]
            found.setdefault(section, {})
        elif (match := KEY_LINE.match(line)) and section is not None:
            found[section][match["key"]] = match["comment"]
    return found


def uncommented(text: str) -> str:
    """The example with every commented-out key and table switched on."""
    return re.sub(r"^#\s*(?=[a-z_]+\s*=|\[)", "", text, flags=re.MULTILINE)


# -- config.example.toml ------------------------------------------------------------------------


def test_every_settings_section_is_known_to_the_loader() -> None:
    modelled = {name for name, model in model_sections().items() if model is not None}
    assert set(SECTIONS) == modelled
    assert all(SECTIONS[name] is model_sections()[name] for name in modelled)


def test_example_covers_the_model_exactly_with_a_comment_per_key() -> None:
    keys = example_keys()
    for section, model in model_sections().items():
        assert section in keys, f"[{section}] missing from {EXAMPLE.name}"
        if model is None:
            continue  # free-form table: its keys are the driver's, not ours
        assert set(keys[section]) == set(model.model_fields), f"[{section}] keys differ from {model.__name__}"
    for section, entries in keys.items():
        for key, comment in entries.items():
            assert comment, f"{section}.{key} has no comment"
    top_level = {name.split(".")[0] for name in keys}
    assert top_level == set(model_sections())


def test_example_loads_through_the_real_loader_as_the_defaults() -> None:
    data, path = read_config_file(EXAMPLE)
    assert path == EXAMPLE
    assert unknown_keys(data) == []
    settings = load_settings({}, data, origin=str(path))
    assert settings.pool == SQLAlchemyPool()
    assert settings.deployment == DeploymentConfig()
    assert settings.network == NetworkConfig()
    assert settings.connect_args == {}


def test_example_with_every_example_switched_on_still_loads(tmp_path: Path) -> None:
    on = tmp_path / "all-on.toml"
    on.write_text(uncommented(EXAMPLE.read_text()))
    data, _ = read_config_file(on)
    assert unknown_keys(data) == []
    settings = load_settings({}, data, origin=str(on))
    assert settings.network.idle_timeout == 350
    assert settings.connect_args["keepalives_idle"] == 60
    assert settings.connect_args["server_settings"] == {"tcp_keepalives_idle": "60"}


def test_example_values_are_the_model_defaults() -> None:
    data = tomllib.loads(EXAMPLE.read_text())
    for section, model in model_sections().items():
        if model is None:
            continue
        for key, value in data.get(section, {}).items():
            assert value == model.model_fields[key].default, f"{section}.{key} = {value!r} is not the default"


# -- precedence ----------------------------------------------------------------------------------

FILE = {"pool": {"pool_size": 7, "pool_recycle": 100, "pool_timeout": 12}, "network": {"idle_timeout": 240}}


@pytest.mark.parametrize(
    ("env", "flags", "expected"),
    [
        ({}, {}, {"pool_size": 7, "pool_recycle": 100, "pool_timeout": 12, "pool_pre_ping": False}),
        ({"POOL_DOCTOR_POOL__POOL_RECYCLE": "200"}, {}, {"pool_size": 7, "pool_recycle": 200, "pool_timeout": 12}),
        ({"POOL_DOCTOR_POOL__POOL_RECYCLE": "200"}, {"pool_recycle": 300}, {"pool_size": 7, "pool_recycle": 300}),
        (
            {"POOL_DOCTOR_POOL__POOL_PRE_PING": "true"},
            {"pool_size": 9},
            {"pool_size": 9, "pool_pre_ping": True, "pool_recycle": 100},
        ),
        ({"pool_doctor_pool__max_overflow": "2"}, {}, {"max_overflow": 2, "pool_size": 7}),
    ],
    ids=["file-over-defaults", "env-over-file", "cli-over-env", "layers-merge-per-key", "env-case-insensitive"],
)
def test_precedence_cli_env_file_defaults(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], flags: dict[str, Any], expected: dict[str, Any]
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    pool = load_settings({"pool": flags}, FILE, origin="pool-doctor.toml").pool
    assert {key: getattr(pool, key) for key in expected} == expected
    assert pool.pool_use_lifo is False  # given nowhere: the default


def test_no_file_no_env_no_flags_gives_sqlalchemy_defaults() -> None:
    settings = load_settings({}, {})
    assert settings.pool.model_dump() == {
        "pool_size": 5,
        "max_overflow": 10,
        "pool_recycle": -1,
        "pool_pre_ping": False,
        "pool_timeout": 30,
        "pool_use_lifo": False,
        "poolclass": None,
        "stack": "sqlalchemy",
    }
    assert settings.network.idle_timeout is None


def test_env_reaches_every_section(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POOL_DOCTOR_DEPLOYMENT__REPLICAS", "4")
    monkeypatch.setenv("POOL_DOCTOR_NETWORK__IDLE_TIMEOUT", "350")
    monkeypatch.setenv("POOL_DOCTOR_CONNECT_ARGS", '{"keepalives_idle": 60}')
    settings = load_settings({}, {"deployment": {"replicas": 2, "workers_per_replica": 3}})
    assert (settings.deployment.replicas, settings.deployment.workers_per_replica) == (4, 3)
    assert settings.network.idle_timeout == 350
    assert settings.connect_args == {"keepalives_idle": 60}


def _common(config: Path | None, url: str = "postgresql://app@db.internal/appdb", **given: Any) -> CommonArgs:
    fields: dict[str, Any] = {name: None for name in CommonArgs.__dataclass_fields__}
    fields.update(url=url, config=config, timeout=5.0, ask_password=False, debug=False)
    fields.update(given)
    return CommonArgs(**fields)


def test_cli_inputs_apply_flag_over_env_over_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "app.toml"
    config.write_text("[pool]\npool_recycle = 100\npool_size = 7\nmax_overflow = 1\n\n[network]\nidle_timeout = 240\n")
    monkeypatch.setenv("POOL_DOCTOR_POOL__POOL_RECYCLE", "200")
    monkeypatch.setenv("POOL_DOCTOR_POOL__POOL_SIZE", "8")
    inputs = build_inputs(_common(config, pool_recycle=300, network_idle_timeout=350.0), os.environ)
    pool = inputs.settings.pool
    assert (pool.pool_recycle, pool.pool_size, pool.max_overflow) == (300, 8, 1)
    assert inputs.settings.network.idle_timeout == 350
    assert inputs.config_path == str(config) and inputs.warnings == ()


def test_cli_reads_pool_doctor_toml_in_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / "pool-doctor.toml").write_text("[pool]\npool_pre_ping = true\n")
    inputs = build_inputs(_common(None), os.environ)
    assert inputs.settings.pool.pool_pre_ping is True
    assert inputs.config_path == "pool-doctor.toml"


# -- unknown keys and bad values -------------------------------------------------------------------


def test_unknown_keys_are_reported_with_their_section() -> None:
    data = {
        "pool": {"pool_size": 5, "pool_sise": 6},
        "netwrok": {"idle_timeout": 350},
        "deployment": {"replica": 2},
        "connect_args": {"anything_the_driver_takes": 1},
    }
    assert unknown_keys(data) == ["pool.pool_sise", "netwrok", "deployment.replica"]
    settings = load_settings({}, data)  # reported, not fatal: the known keys still apply
    assert settings.pool.pool_size == 5


def test_cli_warns_about_unknown_keys(tmp_path: Path) -> None:
    config = tmp_path / "typo.toml"
    config.write_text("[pool]\npool_recylce = 1800\n")
    inputs = build_inputs(_common(config), os.environ)
    assert inputs.warnings == (f"unknown key 'pool.pool_recylce' in {config} (ignored)",)


def test_cli_warns_about_unknown_environment_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pydantic-settings drops a misspelt nested variable silently; the section's fields say it is unknown."""
    for name in ("POOL_DOCTOR_POOL__POOLSIZE", "POOL_DOCTOR_DEPLOYMENT__REPLICAZ", "POOL_DOCTOR_POOL__POOL_SIZE"):
        monkeypatch.setenv(name, "3")
    monkeypatch.setenv("POOL_DOCTOR_CONNECT_ARGS__SSLMODE", "prefer")  # a driver key: no warning
    inputs = build_inputs(_common(None), os.environ)
    assert inputs.settings.pool.pool_size == 3
    assert inputs.warnings == (
        "unknown environment variable POOL_DOCTOR_DEPLOYMENT__REPLICAZ (ignored)",
        "unknown environment variable POOL_DOCTOR_POOL__POOLSIZE (ignored)",
    )
    monkeypatch.setenv("POOL_DOCTOR_POOL__STACK", "asyncpg")  # another stack's strangers are its own to name
    monkeypatch.delenv("POOL_DOCTOR_POOL__POOL_SIZE")
    monkeypatch.delenv("POOL_DOCTOR_CONNECT_ARGS__SSLMODE")  # libpq's, refused for asyncpg
    warnings = build_inputs(_common(None), os.environ).warnings
    assert "unknown environment variable POOL_DOCTOR_POOL__POOLSIZE (ignored)" not in warnings
    assert "[pool] key 'poolsize' does not belong to stack asyncpg (ignored)" in warnings


@pytest.mark.parametrize(
    ("text", "env", "flags", "says"),
    [
        ('[pool]\npool_size = "many"\n', {}, {}, ["{file}: pool.pool_size", "'many'"]),
        ("[pool]\npool_size = 0\n", {}, {}, ["{file}: pool.pool_size", "greater than or equal to 1"]),
        ("[pool]\npool_pre_ping = 3\n", {}, {}, ["{file}: pool.pool_pre_ping"]),
        ("[network]\nidle_timeout = -5\n", {}, {}, ["{file}: network.idle_timeout"]),
        ("pool = 5\n", {}, {}, ["{file}: [pool] must be a table"]),
        ("connect_args = 1\n", {}, {}, ["[connect_args] must be a table"]),
        (
            "",
            {"POOL_DOCTOR_POOL__POOL_RECYCLE": "soon"},
            {},
            ["environment POOL_DOCTOR_POOL__POOL_RECYCLE: pool.pool_recycle", "'soon'"],
        ),
        ("", {"POOL_DOCTOR_CONNECT_ARGS": "{not json"}, {}, ["environment:", "connect_args"]),
        ("[pool]\npool_size = 3\n", {}, {"pool": {"pool_size": 0}}, ["command line: pool.pool_size"]),
        ('[pool]\npool_size = "a"\nmax_overflow = "b"\n', {}, {}, ["pool.pool_size", "and 1 more problem(s)"]),
        # A boolean is not a number: pydantic's lax mode would judge `pool_recycle = true` as 1 second.
        ("[pool]\npool_recycle = true\n", {}, {}, ["{file}: pool.pool_recycle", "a number is needed, not true"]),
        ("[pool]\npool_timeout = false\n", {}, {}, ["{file}: pool.pool_timeout", "not false"]),
        ("[deployment]\nreplicas = true\n", {}, {}, ["{file}: deployment.replicas", "not true"]),
        ("[network]\nidle_timeout = true\n", {}, {}, ["{file}: network.idle_timeout", "not true"]),
        # Another stack's keys, read as its library reads them, refused when the file is loaded.
        ('[pool]\nstack = "psycopg_pool"\nkwargs = 3\n', {}, {}, ["{file}: pool: kwargs must be a table", "int"]),
        ('[pool]\nstack = "django"\nOPTIONS = 3\n', {}, {}, ["{file}: pool: OPTIONS must be a table", "int"]),
        (
            '[pool]\nstack = "django"\n[pool.OPTIONS]\npool = 3\n',
            {},
            {},
            ["OPTIONS.pool must be true, false or a table"],
        ),
        ('[pool]\nstack = "asyncpg"\nmin_size = 5\nmax_size = 2\n', {}, {}, ["min_size 5 is above max_size 2"]),
        ('[pool]\nstack = "psycopg_pool"\nmin_size = 5\nmax_size = 2\n', {}, {}, ["min_size 5 is above max_size 2"]),
        ('[pool]\nstack = "psycopg_pool"\nmax_size = -1\n', {}, {}, ["max_size must be 1 or more"]),
        (
            '[pool]\nstack = "django"\n[pool.OPTIONS.pool]\nmin_size = 3\nmax_size = 1\n',
            {},
            {},
            ["OPTIONS.pool.min_size 3 is above OPTIONS.pool.max_size 1"],
        ),
        ('[pool]\nstack = "asyncpg"\nmax_inactive_connection_lifetime = -1\n', {}, {}, ["must be 0 (off) or more"]),
        ('[pool]\nstack = "django"\nCONN_MAX_AGE = -5\n', {}, {}, ["{file}: pool: CONN_MAX_AGE must be 0", "-5"]),
        (
            '[pool]\nstack = "django"\nCONN_HEALTH_CHECKS = "yes"\n',
            {},
            {},
            ["CONN_HEALTH_CHECKS must be true or false"],
        ),
        ('[pool]\nstack = "django"\nCONN_HEALTH_CHECKS = 1\n', {}, {}, ["CONN_HEALTH_CHECKS must be true or false"]),
    ],
    ids=[
        "str-for-int",
        "out-of-range",
        "int-for-bool",
        "negative-timeout",
        "section-not-table",
        "connect-args-not-table",
        "bad-env",
        "env-not-json",
        "bad-flag",
        "two-problems",
        "bool-for-int",
        "bool-for-float",
        "bool-for-deployment-int",
        "bool-for-network-float",
        "psycopg-pool-kwargs-not-table",
        "django-options-not-table",
        "django-options-pool-not-table",
        "asyncpg-min-above-max",
        "psycopg-pool-min-above-max",
        "psycopg-pool-no-connections",
        "django-pool-min-above-max",
        "asyncpg-negative-lifetime",
        "django-negative-conn-max-age",
        "django-health-checks-string",
        "django-health-checks-number",
    ],
)
def test_bad_values_give_one_line_config_error(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    text: str,
    env: dict[str, str],
    flags: dict[str, Any],
    says: list[str],
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    path = tmp_path / "bad.toml"
    path.write_text(text)
    data, _ = read_config_file(path)
    with pytest.raises(ConfigError) as caught:
        load_settings(flags, data, origin=str(path))
    message = str(caught.value)
    assert "\n" not in message
    for fragment in says:
        assert fragment.format(file=path) in message


@pytest.mark.parametrize(
    ("content", "says"),
    [(b"[pool\n", "is not valid TOML"), (b"\xff\xfe[pool]", "is not UTF-8"), (None, "does not exist")],
    ids=["bad-toml", "not-utf8", "missing"],
)
def test_unreadable_config_file(tmp_path: Path, content: bytes | None, says: str) -> None:
    path = tmp_path / "c.toml"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ConfigError, match=says) as caught:
        read_config_file(path)
    assert "\n" not in str(caught.value)
    with pytest.raises(ConfigError, match="is a directory"):
        read_config_file(tmp_path)


def test_bad_config_through_the_command_exits_2_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "pool-doctor.toml").write_text('[pool]\npool_recycle = "hourly"\n')
    done = run_in_process(
        ["check", "--url", "postgresql://app:hunter2@127.0.0.1:1/appdb"], env=dict(os.environ), timeout=60, cwd=tmp_path
    )
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        (
            "pool-doctor: error: pool-doctor.toml: pool.pool_recycle: Input should be a valid integer, "
            "unable to parse string as an integer (got 'hourly')"
        )
    ]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('[pool]\nstack = "psycopg_pool"\nkwargs = 3\n', "pool: kwargs must be a table of keys, not int 3"),
        ('[pool]\nstack = "django"\nOPTIONS = 3\n', "pool: OPTIONS must be a table of keys, not int 3"),
        ("[pool]\npool_recycle = true\n", "pool.pool_recycle: a number is needed, not true (got True)"),
    ],
    ids=["psycopg-pool-kwargs", "django-options", "bool-recycle"],
)
def test_a_stacks_bad_table_through_the_command_exits_2_before_connecting(tmp_path: Path, text: str, says: str) -> None:
    """Was exit 4 (`unexpected TypeError: 'int' object is not iterable`), or judged as 1 s; port 1: no connect."""
    (tmp_path / "pool-doctor.toml").write_text(text)
    done = run_in_process(
        ["check", "--url", "postgresql://app:hunter2@127.0.0.1:1/appdb"], env=dict(os.environ), timeout=60, cwd=tmp_path
    )
    assert (done.returncode, done.stdout) == (2, ""), done.stderr
    assert done.stderr.splitlines() == [f"pool-doctor: error: pool-doctor.toml: {says}"]
