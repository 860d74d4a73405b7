"""Round trip, for every pool of every app under tests/apps: judge it, fix it, read it again. The pool's
findings the recommendation set keys for are gone, and no value the recommendation did not name changed
(issue 23, Build 4). A real server whose app role closes idle sessions after 2 s, a middlebox at 60 s."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_runner import run_pool_doctor
from harness import LocalPostgres

PASSWORD = "roundtrip-pw-H8"
APPS = Path(__file__).parent / "apps"
APP_DIRS = sorted([*APPS.glob("*/"), *(APPS / "edits").glob("*/")])
APP_DIRS = [path for path in APP_DIRS if path.name != "edits"]
LIMITS = ("--network-idle-timeout", "60")


@pytest.fixture(scope="module")
def server(pg_bindirs: list[Path]) -> Iterator[LocalPostgres]:
    with LocalPostgres(pg_bindirs[0]) as pg:
        pg.create_role("app", PASSWORD, settings={"idle_session_timeout": "2s"})
        pg.create_database("appdb", owner="app")
        yield pg


def judged(server: LocalPostgres, app: Path) -> dict[str, Any]:
    run = run_pool_doctor(
        "check",
        "--url",
        server.url("app", PASSWORD, "appdb"),
        "--app",
        ".",
        *LIMITS,
        "--json",
        secret=PASSWORD,
        cwd=app,
    )
    assert run.code in (0, 1), run.stderr
    return json.loads(run.stdout)  # type: ignore[no-any-return]


def pools(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The app's pools in the order the scan finds them (an import fix adds moves the lines below it)."""
    return list(report["app"]["pools"])


def pool_ref(pool: dict[str, Any]) -> dict[str, Any]:
    return {"file": pool["file"], "line": pool["line"], "stack": pool["stack"]}


def where(pool: dict[str, Any]) -> str:
    return f"{pool['file']}:{pool['line']}"


def named(reasons: list[dict[str, Any]]) -> set[str]:
    """Every key a recommendation sets (keepalives name their siblings: the whole table they sit in)."""
    return {reason["key"] for reason in reasons}


def related(key: str, keys: set[str]) -> bool:
    """The key is one the recommendation names, or sits beside one under the same table (keepalives)."""
    parent = key.rsplit(".", 1)[0] if "." in key else None
    return key in keys or any(other.rsplit(".", 1)[0] == parent for other in keys if parent and "." in other)


@pytest.mark.parametrize("app", APP_DIRS, ids=[path.name for path in APP_DIRS])
def test_fix_removes_what_it_fixes_and_changes_nothing_else(server: LocalPostgres, tmp_path: Path, app: Path) -> None:
    copy = tmp_path / app.name
    shutil.copytree(app, copy)
    before = judged(server, copy)
    fixed = run_pool_doctor(
        "fix", "--url", server.url("app", PASSWORD, "appdb"), "--app", ".", *LIMITS, secret=PASSWORD, cwd=copy
    )
    assert fixed.code == 0, fixed.stderr
    after = judged(server, copy)
    assert len(pools(before)) == len(pools(after))
    for pool, now in zip(pools(before), pools(after)):
        keys = named(pool["recommended"])
        for key, setting in pool["settings"].items():  # nothing the recommendation did not name has changed
            if not related(key, keys):  # (where it is written may: a call laid out one argument a line)
                assert {k: now["settings"][key][k] for k in ("value", "known")} == {
                    k: setting[k] for k in ("value", "known")
                }, (where(pool), key)
        fixed_codes = {f["code"] for f in before["findings"] if f["pool"] == pool_ref(pool) and set(f["keys"]) & keys}
        left = {f["code"] for f in after["findings"] if f["pool"] == pool_ref(now)}
        # What the recommendation said it fixes is gone, unless fix said why it could not write it: the code
        # computes that value when it runs, or the pool has no such argument (psycopg2's pools).
        unfixable = [line for line in fixed.stderr.splitlines() if f"{where(pool)}:" in line]
        if fixed_codes & left:
            assert unfixable, (where(pool), fixed_codes & left, fixed.stderr)
        else:
            assert fixed_codes.isdisjoint(left)
