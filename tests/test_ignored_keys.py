"""The one rule for a key pool-doctor does not know: reported on stderr and ignored, for real. It is dropped when
the config is loaded, so no rule judges it and no generated code (python, TOML, JSON) carries it.

Was: `pool_sise = 5` went into the recommended create_async_engine(...) (a TypeError in the app) and into
check --json's `pool`; `--stack asyncpg --pool-recycle 5` warned that pool_recycle was ignored, then reported
recycle-churn on it.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_runner import clean_environment, run_in_process
from harness import LocalPostgres

from pool_doctor.config import load_settings

PASSWORD = "ik-s3cret-pw"


@pytest.mark.parametrize(
    ("pool", "ignored", "kept"),
    [
        ({"pool_sise": 5, "pool_size": 3}, [], {"pool_size": 3}),  # SQLAlchemy's: named by config.unknown_keys
        ({"stack": "asyncpg", "pool_recycle": 5, "max_size": 20}, ["pool_recycle"], {"max_size": 20}),
        ({"stack": "psycopg_pool", "max_sise": 9, "max_size": 4}, ["max_sise"], {"max_size": 4}),
        (
            {"stack": "django", "CONN_MAX_AGE": 0, "OPTIONS": {"pool": {"check": "x", "max_size": 4}}},
            ["OPTIONS.pool.check"],
            {"CONN_MAX_AGE": 0, "OPTIONS": {"pool": {"max_size": 4}}},
        ),
    ],
    ids=["sqlalchemy", "asyncpg", "psycopg_pool", "django-sets-check-itself"],
)
def test_an_unknown_key_is_dropped_at_load(
    pool: dict[str, object], ignored: list[str], kept: dict[str, object]
) -> None:
    settings = load_settings({}, {"pool": pool})
    assert list(settings.pool.ignored) == ignored
    own = settings.pool.own()
    assert {key: own[key] for key in kept} == kept
    assert not ({"pool_sise", "max_sise", *ignored} & set(own))
    assert "pool_sise" not in settings.pool.model_dump()


@pytest.fixture(scope="module")
def server(pg_bindirs: list[Path]) -> Iterator[LocalPostgres]:
    with LocalPostgres(pg_bindirs[0]) as pg:
        pg.create_role("ik_app", PASSWORD, settings={"idle_session_timeout": "5min"})
        yield pg


def run(*args: str, cwd: Path) -> tuple[int, str, str]:
    done = run_in_process(list(args), env=clean_environment({"HOME": str(cwd)}), cwd=cwd, timeout=60)
    return done.returncode, done.stdout, done.stderr


def test_an_ignored_key_is_in_no_generated_code(server: LocalPostgres, tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text("[pool]\npool_sise = 5\n")
    url = server.url("ik_app", PASSWORD, driver="asyncpg")
    for fmt in ("python", "toml", "json", "table", "markdown"):
        code, out, err = run("recommend", "--url", url, "--config", "c.toml", "--format", fmt, cwd=tmp_path)
        assert code == 0, err
        assert "pool_sise" not in out, out
        assert err.splitlines() == ["pool-doctor: warning: unknown key 'pool.pool_sise' in c.toml (ignored)"]
        if fmt == "toml":
            assert "pool_sise" not in tomllib.loads(out)["pool"]
        if fmt == "python":
            compile(out, "recommended.py", "exec")  # the code is Python, and holds only SQLAlchemy's keys
    code, out, err = run("check", "--url", url, "--config", "c.toml", "--json", cwd=tmp_path)
    assert code == 1 and "pool_sise" not in json.loads(out)["pool"]


def test_a_flag_another_stack_takes_is_not_judged(server: LocalPostgres, tmp_path: Path) -> None:
    url = server.url("ik_app", PASSWORD, driver="asyncpg")
    code, out, err = run("check", "--url", url, "--stack", "asyncpg", "--pool-recycle", "5", "--json", cwd=tmp_path)
    assert code in (0, 1), err
    assert "[pool] key 'pool_recycle' does not belong to stack asyncpg (ignored)" in err
    report = json.loads(out)
    assert "pool_recycle" not in report["pool"]
    assert not [f for f in report["findings"] if "pool_recycle" in json.dumps(f)]  # no verdict speaks of it
    assert "recycle-churn" not in {f["code"] for f in report["findings"]}
    code, out, err = run(
        "recommend", "--url", url, "--stack", "asyncpg", "--pool-recycle", "5", "-f", "python", cwd=tmp_path
    )
    assert code == 0 and "pool_recycle" not in out
