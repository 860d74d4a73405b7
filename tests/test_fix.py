"""recommend --app --format diff and fix --app on real apps (tests/apps/edits), each against the limit that
makes it fail (issue 23's "done when"): the diff applies with `git apply`, `fix` makes the same tree and a
second `fix` changes nothing, the patched app compiles and keeps every name and argument, and, run for real
against the same server with the same idle spell, no request fails; check --app and probe --app then pass."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_runner import Run, run_pool_doctor
from conftest import MakePgBouncer
from harness import LocalPostgres

from pool_doctor.faults import ThreadedFaultProxy

PASSWORD = "edits-pw-T5"
APPS = Path(__file__).parent / "apps" / "edits"
IDLE = 3.0  # seconds each app idles between its requests: past every limit below (2 s)


@pytest.fixture(scope="module")
def server(pg_bindirs: list[Path]) -> Iterator[LocalPostgres]:
    with LocalPostgres(pg_bindirs[0]) as pg:
        pg.create_role("app", PASSWORD, settings={"idle_session_timeout": "2s"})
        pg.create_role("plain", PASSWORD)  # no limit of its own: behind the proxy, only the proxy's
        for name, owner in (("appdb", "app"), ("plaindb", "plain")):
            pg.create_database(name, owner=owner)
        yield pg


def copy(app: str, where: Path) -> Path:
    shutil.copytree(APPS / app, where / app)
    return where / app


def pool_doctor(command: str, url: str, app: Path, *extra: str) -> Run:
    return run_pool_doctor(command, "--url", url, "--app", ".", *extra, secret=PASSWORD, cwd=app, timeout=90)


def run_app(app: Path, code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The patched app, run for real in a fresh interpreter: its own modules, the same server."""
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=app,
        env={**os.environ, "PYTHONPATH": str(app), "PGPASSFILE": os.devnull, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def keywords(source: str) -> dict[str, set[str]]:
    """Every call's keyword names, by the call's function: what the patched code must keep."""
    out: dict[str, set[str]] = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            out.setdefault(ast.unparse(node.func), set()).update(k.arg for k in node.keywords if k.arg)
        if isinstance(node, ast.Dict):
            keys = {k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)}
            out.setdefault("dict", set()).update(keys)
    return out


def applied(app: Path, url: str, *extra: str) -> tuple[Path, str]:
    """The diff recommend prints, applied with git to one copy; fix run on another; both trees the same; a
    second fix changes nothing; every file compiles and keeps its names. The patched copy and the diff."""
    before = {p.relative_to(app): p.read_text() for p in app.rglob("*.py")}
    assert pool_doctor("check", url, app, *extra).code == 1  # the limit makes the app fail: the finding
    diff = pool_doctor("recommend", url, app, *extra, "--format", "diff")
    assert diff.code == 0 and diff.stdout.startswith("--- a/"), diff.stderr
    patched = app.parent / f"{app.name}-git"
    shutil.copytree(app, patched)
    subprocess.run(["git", "init", "-q"], cwd=patched, check=True)
    subprocess.run(["git", "apply", "-"], cwd=patched, input=diff.stdout, text=True, check=True)
    fixed = pool_doctor("fix", url, app, *extra)
    assert fixed.code == 0 and fixed.stdout.startswith("Changed"), fixed.stderr
    for path, old in before.items():
        new = (app / path).read_text()
        assert new == (patched / path).read_text()  # fix == git apply
        compile(new, str(path), "exec")
        for call, names in keywords(old).items():
            assert names <= keywords(new)[call], (path, call)  # every argument and key kept
    again = pool_doctor("fix", url, app, *extra)
    assert again.code == 0 and "Nothing to change" in again.stdout
    assert {p.relative_to(app): p.read_text() for p in app.rglob("*.py")} != before
    return app, diff.stdout


def test_sqlalchemy_async_app_behind_the_roles_idle_timeout(server: LocalPostgres, tmp_path: Path) -> None:
    url = server.url("app", PASSWORD, "appdb", driver="asyncpg")
    code = (
        "import asyncio\nfrom app.db import async_engine, request\n"
        f"async def main():\n    assert await request() == 1\n    await asyncio.sleep({IDLE})\n"
        "    assert await request() == 1\n    await async_engine.dispose()\nasyncio.run(main())\n"
    )
    app = copy("sqla", tmp_path)
    failed = run_app(app, code, {"PG_DATABASE_ASYNC_URL": url})
    assert failed.returncode != 0 and "connection is closed" in failed.stderr  # the incident, before
    app, diff = applied(app, url)
    assert (
        "-    pg_database_async_url" not in diff
        and "settings.pg_database_async_url," in (app / "app/db.py").read_text()
    )
    assert '"application_name": "edits-sqla"' in (app / "app/db.py").read_text()  # merged, not replaced
    ran = run_app(app, code, {"PG_DATABASE_ASYNC_URL": url})
    assert ran.returncode == 0, ran.stderr
    assert pool_doctor("check", url, app).code == 0
    probed = pool_doctor(
        "probe", url, app, "--scenario", "server_idle_timeout", "--connections", "1", "--load-seconds", "0.2"
    )
    assert probed.code == 0, probed.stdout + probed.stderr


def test_sqlalchemy_async_app_behind_transaction_pooling(
    server: LocalPostgres, make_pgbouncer: MakePgBouncer, tmp_path: Path
) -> None:
    bouncer = make_pgbouncer(server, pool_mode="transaction", users={"plain": PASSWORD})
    url = bouncer.url("plain", PASSWORD, "plaindb", driver="asyncpg")
    code = (
        "import asyncio\nfrom sqlalchemy import text\nfrom app.db import async_engine\n"
        "async def main():\n"
        "    async with async_engine.connect() as a, async_engine.connect() as b:\n"
        "        for n in range(6):\n"
        "            await a.execute(text('SELECT CAST(:n AS integer)'), {'n': n}); await a.commit()\n"
        "            await b.execute(text('SELECT CAST(:n AS integer)'), {'n': n})\n"
        "            await a.execute(text('SELECT CAST(:n AS integer)'), {'n': n}); await a.commit(); await b.commit()\n"
        "    await async_engine.dispose()\nasyncio.run(main())\n"
    )
    app = copy("sqla", tmp_path)
    failed = run_app(app, code, {"PG_DATABASE_ASYNC_URL": url})
    assert failed.returncode != 0 and "prepared statement" in failed.stderr  # before: the statements collide
    app, diff = applied(app, url)
    assert "statement_cache_size" in diff and "prepared_statement_name_func" in diff
    ran = run_app(app, code, {"PG_DATABASE_ASYNC_URL": url})
    assert ran.returncode == 0, ran.stderr
    assert pool_doctor("check", url, app).code == 0
    probed = pool_doctor(
        "probe", url, app, "--scenario", "prepared_statements", "--connections", "1", "--load-seconds", "0.2"
    )
    assert probed.code == 0, probed.stdout + probed.stderr


def test_asyncpg_pool_behind_a_resetting_proxy(server: LocalPostgres, tmp_path: Path) -> None:
    with ThreadedFaultProxy("127.0.0.1", server.port, idle_timeout=2.0, mode="reset") as nat:
        url = server.url("plain", PASSWORD, "plaindb").replace(f":{server.port}/", f":{nat.port}/")
        network = ("--network-idle-timeout", "2")
        code = (
            "import asyncio, os\nfrom app.db import make_pool, request\n"
            "async def main():\n    pool = await make_pool(os.environ['DSN'])\n    assert await request(pool) == 1\n"
            f"    await asyncio.sleep({IDLE})\n    assert await request(pool) == 1\n    await pool.close()\n"
            "asyncio.run(main())\n"
        )
        app = copy("asyncpg_app", tmp_path)
        failed = run_app(app, code, {"DSN": url})
        assert failed.returncode != 0 and "ConnectionDoesNotExistError" in failed.stderr  # the incident's words
        app, _ = applied(app, url, *network)
        ran = run_app(app, code, {"DSN": url})
        assert ran.returncode == 0, ran.stderr
        assert pool_doctor("check", url, app, *network).code == 0
        probed = pool_doctor(
            "probe", url, app, *network, "--scenario", "network_reset", "--connections", "1", "--load-seconds", "0.2"
        )
        assert probed.code == 0, probed.stdout + probed.stderr


def test_psycopg_pool_behind_the_roles_idle_timeout(server: LocalPostgres, tmp_path: Path) -> None:
    url = server.url("app", PASSWORD, "appdb", driver="psycopg")
    dsn = f"host=127.0.0.1 port={server.port} dbname=appdb user=app password={PASSWORD}"
    code = (
        "import time\nfrom app.db import pool, request\npool.open(wait=True, timeout=10)\n"
        f"assert request() == 1\ntime.sleep({IDLE})\nassert request() == 1\npool.close()\n"
    )
    app = copy("pg_pool", tmp_path)
    failed = run_app(app, code, {"DSN": dsn})
    assert failed.returncode != 0 and "IdleSessionTimeout" in failed.stderr
    app, diff = applied(app, url)
    assert "check=ConnectionPool.check_connection" in diff
    ran = run_app(app, code, {"DSN": dsn})
    assert ran.returncode == 0, ran.stderr
    assert pool_doctor("check", url, app).code == 0


def test_sqlalchemy_engine_a_project_factory_makes(server: LocalPostgres, tmp_path: Path) -> None:
    """The pool is at the factory's caller; `make_engine(url, pool_pre_ping=True)` would fail with a TypeError:
    the keys go into the create_engine call inside the factory."""
    url = server.url("app", PASSWORD, "appdb", driver="psycopg")
    code = (
        f"import time\nfrom app.db import request\nassert request() == 1\ntime.sleep({IDLE})\nassert request() == 1\n"
    )
    app = copy("wrapped", tmp_path)
    failed = run_app(app, code, {"DATABASE_URL": url})
    assert failed.returncode != 0 and "OperationalError" in failed.stderr
    app, _ = applied(app, url)
    calls = keywords((app / "app/db.py").read_text())
    assert calls["make_engine"] == set() and {"pool_size", "pool_pre_ping"} <= calls["create_engine"]
    ran = run_app(app, code, {"DATABASE_URL": url})
    assert ran.returncode == 0, ran.stderr
    assert pool_doctor("check", url, app).code == 0


def test_a_key_every_pool_of_a_factorys_engine_call_is_to_get_alike_is_added_there_once(
    server: LocalPostgres, tmp_path: Path
) -> None:
    """Two engines of one factory (sizes 2 and 1 from their callers): the keys both are to get with the same
    values go into the factory's create_engine call, once; each caller keeps its own size. Until this, each pool
    was a note ("this engine call also makes the pool at ..."), and the app kept failing."""
    url = server.url("app", PASSWORD, "appdb", driver="psycopg")
    code = (
        f"import time\nfrom app.db import request\nassert request() == 2\ntime.sleep({IDLE})\nassert request() == 2\n"
    )
    app = copy("shared", tmp_path)
    failed = run_app(app, code, {"DATABASE_URL": url})
    assert failed.returncode != 0 and "OperationalError" in failed.stderr
    app, diff = applied(app, url)
    assert diff.count("+        pool_pre_ping=True,") == 1, diff
    calls = keywords((app / "app/db.py").read_text())
    assert calls["make_engine"] == set() and {"pool_size", "pool_pre_ping", "pool_recycle"} <= calls["create_engine"]
    ran = run_app(app, code, {"DATABASE_URL": url})
    assert ran.returncode == 0, ran.stderr
    assert pool_doctor("check", url, app).code == 0


def test_flask_sqlalchemy_app_gains_keys_only_where_its_engines_arguments_are(
    server: LocalPostgres, tmp_path: Path
) -> None:
    """`db.init_app(app, pool_pre_ping=True)` would fail (init_app takes the app alone): the bind's dict gains the
    keys; the default engine's are notes naming SQLALCHEMY_ENGINE_OPTIONS, and "Changed" lists only what changed."""
    url = server.url("app", PASSWORD, "appdb", driver="psycopg")
    app = copy("flask_binds", tmp_path)
    fixed = run_pool_doctor("fix", "--url", url, "--app", ".", env={"DATABASE_URL": url}, secret=PASSWORD, cwd=app)
    assert fixed.code == 0, fixed.stderr
    source = (app / "app/__init__.py").read_text()
    assert "db.init_app(app)\n" in source and '"pool_pre_ping": True' in source
    assert fixed.stdout.count("pool_pre_ping = True") == 1  # the bind's; not the default engine's (a note)
    assert "SQLALCHEMY_ENGINE_OPTIONS" in fixed.stderr


def test_django_settings_behind_the_roles_idle_timeout(server: LocalPostgres, tmp_path: Path) -> None:
    url = server.url("app", PASSWORD, "appdb", driver="psycopg")
    code = (
        "import os, time, django\nos.environ['DJANGO_SETTINGS_MODULE'] = 'mysite.settings'\ndjango.setup()\n"
        "from django.core.signals import request_finished, request_started\nfrom django.db import connection\n"
        "def request():\n    request_started.send(sender=None)\n"
        "    with connection.cursor() as cursor:\n        cursor.execute('SELECT 1')\n        value = cursor.fetchone()[0]\n"
        "    request_finished.send(sender=None)\n    return value\n"
        f"assert request() == 1\ntime.sleep({IDLE})\nassert request() == 1\n"
    )
    env: dict[str, Any] = {"PGHOST": "127.0.0.1", "PGPORT": str(server.port), "PGUSER": "app", "PGPASSWORD": PASSWORD}
    app = copy("django_site", tmp_path)
    failed = run_app(app, code, env)
    assert failed.returncode != 0 and "IdleSessionTimeout" in failed.stderr
    app, _ = applied(app, url)
    assert 'os.environ.get("CONN_MAX_AGE", ' in (app / "mysite/settings.py").read_text()  # the variable stays
    ran = run_app(app, code, env)
    assert ran.returncode == 0, ran.stderr
    assert pool_doctor("check", url, app).code == 0
