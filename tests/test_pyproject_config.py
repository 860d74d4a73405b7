"""`[tool.pool-doctor]` in the project's pyproject.toml: found walking up from the current directory as ruff finds
its own, the same keys as pool-doctor.toml, `--config` wins, and the output names the file used."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_runner import run_pool_doctor
from harness import LocalPostgres

from pool_doctor.config import find_config, read_config_file
from pool_doctor.errors import ConfigError

PASSWORD = "pyproj-cfg-pw-K2"
PYPROJECT = """\
[project]
name = "the-app"

[tool.ruff]
line-length = 100

[tool.pool-doctor.pool]
pool_pre_ping = true
pool_recycle = 240

[tool.pool-doctor.network]
idle_timeout = 350
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "the-app"
    (root / "src" / "the_app").mkdir(parents=True)
    (root / "pyproject.toml").write_text(PYPROJECT)
    monkeypatch.chdir(root / "src" / "the_app")
    return root


def test_found_walking_up_with_the_same_keys(project: Path) -> None:
    data, path = read_config_file(None)
    assert path == project / "pyproject.toml"
    assert data == {"pool": {"pool_pre_ping": True, "pool_recycle": 240}, "network": {"idle_timeout": 350}}


def test_nearest_file_wins_and_a_pyproject_without_the_table_is_passed_by(project: Path) -> None:
    (project / "src" / "pyproject.toml").write_text('[project]\nname = "inner"\n')  # no [tool.pool-doctor]
    assert find_config(project / "src" / "the_app") == project / "pyproject.toml"
    (project / "src" / "pool-doctor.toml").write_text("[pool]\npool_recycle = 60\n")
    assert find_config(project / "src" / "the_app") == project / "src" / "pool-doctor.toml"
    (project / "src" / "the_app" / "pyproject.toml").write_text("[tool.pool-doctor.pool]\npool_size = 2\n")
    assert find_config(project / "src" / "the_app") == Path("pyproject.toml")  # the current directory's: relative
    # In one directory pool-doctor.toml comes before pyproject.toml.
    (project / "src" / "the_app" / "pool-doctor.toml").write_text("[pool]\npool_size = 3\n")
    assert find_config(project / "src" / "the_app") == Path("pool-doctor.toml")


def test_config_pyproject_reads_its_table_and_refuses_one_without(tmp_path: Path) -> None:
    given = tmp_path / "pyproject.toml"
    given.write_text(PYPROJECT)
    data, _ = read_config_file(given)
    assert data["pool"]["pool_recycle"] == 240
    given.write_text('[project]\nname = "x"\n')
    with pytest.raises(ConfigError, match=r"has no \[tool.pool-doctor\] table"):
        read_config_file(given)
    given.write_text('[tool]\npool-doctor = "yes"\n')
    with pytest.raises(ConfigError, match="must be a table"):
        read_config_file(given)


def test_a_broken_pyproject_on_the_way_up_is_an_error(project: Path) -> None:
    (project / "src" / "pyproject.toml").write_text("[tool.pool-doctor\n")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        read_config_file(None)


# -- through the command, against a real server -------------------------------------------------------------


@pytest.fixture(scope="module")
def server(pg_bindirs: list[Path]) -> Iterator[LocalPostgres]:
    with LocalPostgres(pg_bindirs[0]) as pg:
        pg.create_role("app", PASSWORD, settings={"idle_session_timeout": "5min"})
        pg.create_database("appdb", owner="app")
        yield pg


def test_tool_pool_doctor_keys_take_effect_and_the_output_names_the_file(server: LocalPostgres, project: Path) -> None:
    url = server.url("app", PASSWORD, "appdb", driver="asyncpg")
    here = project / "src" / "the_app"
    wide = {"COLUMNS": "300"}  # the tmp path is long: one line
    run = run_pool_doctor("check", "--url", url, secret=PASSWORD, cwd=here, env=wide)
    assert run.code == 0, run.stdout + run.stderr  # pre-ping and recycle 240 s: the 5 min limit is no longer critical
    assert f"config: {project / 'pyproject.toml'} [tool.pool-doctor]" in run.stdout.splitlines()[2]
    report = run_pool_doctor("check", "--url", url, "--json", secret=PASSWORD, cwd=here).json()
    assert report["config"] == f"{project / 'pyproject.toml'} [tool.pool-doctor]"
    assert report["pool"]["pool_recycle"] == 240 and report["network"]["idle_timeout"] == 350

    # Without the table, the same project is judged at SQLAlchemy's defaults.
    (project / "pyproject.toml").write_text('[project]\nname = "the-app"\n')
    bare = run_pool_doctor("check", "--url", url, "--json", secret=PASSWORD, cwd=here)
    assert bare.code == 1 and bare.json()["config"] is None
    assert bare.finding("idle-session-timeout")["severity"] == "critical"


def test_config_flag_wins_and_unknown_keys_name_the_table(server: LocalPostgres, project: Path) -> None:
    url = server.url("app", PASSWORD, "appdb", driver="asyncpg")
    here = project / "src" / "the_app"
    other = project / "strict.toml"
    other.write_text("[pool]\npool_pre_ping = false\n")
    run = run_pool_doctor("check", "--url", url, "--config", str(other), "--json", secret=PASSWORD, cwd=here)
    assert run.code == 1 and run.json()["config"] == str(other)
    assert run.json()["pool"]["pool_recycle"] == -1  # nothing of [tool.pool-doctor] is merged in

    (project / "pyproject.toml").write_text(PYPROJECT + "\n[tool.pool-doctor.deployment]\nreplica = 3\n")
    warned = run_pool_doctor("recommend", "--url", url, secret=PASSWORD, cwd=here, env={"COLUMNS": "300"})
    name = f"{project / 'pyproject.toml'} [tool.pool-doctor]"
    assert f"pool-doctor: warning: unknown key 'deployment.replica' in {name} (ignored)" in warned.stderr
    assert f"config: {name}" in warned.stdout
    assert json.loads(run_pool_doctor("recommend", "--url", url, "--format", "json", secret=PASSWORD, cwd=here).stdout)[
        "recommendation"
    ]["pool_recycle"]
