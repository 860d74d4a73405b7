"""The monitor's metrics under OpenTelemetry's semantic-convention names, read back by the SDK's in-memory reader
and by a Prometheus registry, from real pools on a real server.

pool-doctor depends on opentelemetry-api only; the SDK here plays the app, which brings its own.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from harness import LocalPostgres
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from pool_doctor.monitor import watch
from pool_doctor.monitor.metrics import prometheus_name

otel_sdk = pytest.importorskip("opentelemetry.sdk.metrics")
from opentelemetry.sdk.metrics import MeterProvider  # noqa: E402
from opentelemetry.sdk.metrics.export import InMemoryMetricReader  # noqa: E402

PASSWORD = "s3cr3t-Pw!metrics"
NAMES = (
    "db.client.connection.count",
    "db.client.connection.max",
    "db.client.connection.idle.max",
    "db.client.connection.idle.min",
    "db.client.connection.pending_requests",
    "db.client.connection.timeouts",
    "db.client.connection.create_time",
    "db.client.connection.wait_time",
    "db.client.connection.use_time",
    "pool_doctor.connection.deaths",
)


@pytest.fixture(scope="module")
def server(pg_bindirs: list[Path]) -> Iterator[LocalPostgres]:
    with LocalPostgres(pg_bindirs[0]) as pg:
        yield pg


@pytest.fixture
def reader() -> Iterator[tuple[InMemoryMetricReader, Any]]:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    yield reader, provider.get_meter("the-app")
    provider.shutdown()


def points(reader: InMemoryMetricReader) -> dict[str, list[Any]]:
    """Every metric the reader collected, by name: its data points."""
    found: dict[str, list[Any]] = {}
    data = reader.get_metrics_data()
    assert data is not None
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                found.setdefault(metric.name, []).extend(metric.data.data_points)
    return found


def units(reader: InMemoryMetricReader) -> dict[str, str]:
    data = reader.get_metrics_data()
    assert data is not None
    return {m.name: m.unit for r in data.resource_metrics for s in r.scope_metrics for m in s.metrics}


def test_in_memory_reader_sees_connections_by_state_from_a_watched_engine(
    server: LocalPostgres, unique_name: str, reader: tuple[InMemoryMetricReader, Any]
) -> None:
    """The issue's done-when: db.client.connection.count for idle and used, and the pool's limits, from watch()."""
    memory, meter = reader
    server.create_role(unique_name, PASSWORD)
    url = server.url(unique_name, PASSWORD, driver="psycopg")
    engine = create_engine(url, pool_size=3, max_overflow=2)
    monitor = watch(engine, otel=meter, pool_name="orders-db")
    try:
        first, second = engine.connect(), engine.connect()
        first.execute(text("SELECT 1"))
        first.close()  # back in the pool: idle
        second.execute(text("SELECT 1"))  # still held: used
        found, named = points(memory), units(memory)
        second.close()
    finally:
        monitor.close()
        engine.dispose()

    counts = {
        (p.attributes["db.client.connection.state"], p.attributes["db.client.connection.pool.name"]): p.value
        for p in found["db.client.connection.count"]
    }
    assert counts == {("idle", "orders-db"): 1, ("used", "orders-db"): 1}
    assert [p.value for p in found["db.client.connection.max"]] == [5]  # pool_size + max_overflow
    assert [p.value for p in found["db.client.connection.idle.max"]] == [3]
    assert [p.value for p in found["db.client.connection.idle.min"]] == [0]
    assert [p.value for p in found["db.client.connection.pending_requests"]] == [0]
    # Two connections opened, two checkouts obtained, one returned before the collection.
    assert [p.count for p in found["db.client.connection.create_time"]] == [2]
    assert [p.count for p in found["db.client.connection.wait_time"]] == [2]
    assert [p.count for p in found["db.client.connection.use_time"]] == [1]
    for name in ("db.client.connection.create_time", "db.client.connection.wait_time"):
        [point] = found[name]
        assert 0 < point.sum < 5 and point.attributes == {"db.client.connection.pool.name": "orders-db"}
    assert named["db.client.connection.count"] == "{connection}"
    assert named["db.client.connection.use_time"] == "s"


def test_a_pool_timeout_and_a_death_are_counted(
    server: LocalPostgres, unique_name: str, reader: tuple[InMemoryMetricReader, Any]
) -> None:
    """A checkout that gives up is db.client.connection.timeouts; a connection the server ended is a death
    with its cause; while a checkout waits, pending_requests says so."""
    memory, meter = reader
    server.create_role(unique_name, PASSWORD, settings={"idle_session_timeout": "1s"})
    url = server.url(unique_name, PASSWORD, driver="psycopg")
    engine = create_engine(url, pool_size=1, max_overflow=0, pool_timeout=0.5)
    monitor = watch(engine, otel=meter)
    name = f"{engine.url.host}:{engine.url.port}/{engine.url.database}"  # the default pool name
    try:
        held = engine.connect()
        seen_pending: list[int] = []

        def wait_for_one() -> None:
            with pytest.raises(PoolTimeout):
                engine.connect()

        waiter = threading.Thread(target=wait_for_one)
        waiter.start()
        time.sleep(0.2)
        seen_pending += [p.value for p in points(memory)["db.client.connection.pending_requests"]]
        waiter.join()
        held.execute(text("SELECT 1"))
        held.close()
        time.sleep(2.0)  # the role's idle_session_timeout ends the pooled connection
        with pytest.raises(DBAPIError), engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        found = points(memory)
    finally:
        monitor.close()
        engine.dispose()

    assert seen_pending == [1]
    [timeouts] = found["db.client.connection.timeouts"]
    assert timeouts.value == 1 and timeouts.attributes == {"db.client.connection.pool.name": name}
    [death] = found["pool_doctor.connection.deaths"]
    assert death.value == 1
    assert death.attributes == {
        "db.client.connection.pool.name": name,
        "cause": "idle_session_timeout",
        "outcome": "failed",
        "stack": "sqlalchemy",
    }


def test_prometheus_gets_the_same_names_in_prometheus_form(server: LocalPostgres, unique_name: str) -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry()
    server.create_role(unique_name, PASSWORD)
    engine = create_engine(server.url(unique_name, PASSWORD, driver="psycopg"), pool_size=2, max_overflow=1)
    monitor = watch(engine, prometheus=registry, pool_name="orders-db")
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            used = registry.get_sample_value(
                "db_client_connection_count",
                {"db_client_connection_pool_name": "orders-db", "db_client_connection_state": "used"},
            )
        idle = registry.get_sample_value(
            "db_client_connection_count",
            {"db_client_connection_pool_name": "orders-db", "db_client_connection_state": "idle"},
        )
        exposition = generate_latest(registry).decode()
        pool = {"db_client_connection_pool_name": "orders-db"}
        sample = {
            name: registry.get_sample_value(f"db_client_connection_{name}", pool)
            for name in (
                "max",
                "idle_max",
                "idle_min",
                "pending_requests",
                "use_time_seconds_count",
                "create_time_seconds_count",
                "wait_time_seconds_count",
            )
        }
    finally:
        monitor.close()
        engine.dispose()
    assert (used, idle) == (1, 1)
    assert sample == {
        "max": 3,
        "idle_max": 2,
        "idle_min": 0,
        "pending_requests": 0,
        "use_time_seconds_count": 1,
        "create_time_seconds_count": 1,
        "wait_time_seconds_count": 1,
    }
    for name in ("db.client.connection.count", "db.client.connection.pending_requests"):
        assert f"# TYPE {prometheus_name(name)} gauge" in exposition
    assert "# TYPE db_client_connection_wait_time_seconds histogram" in exposition
    assert "# TYPE db_client_connection_timeouts_total counter" in exposition
    # A closed monitor's pool is no longer reported.
    assert (
        registry.get_sample_value("db_client_connection_count", {**pool, "db_client_connection_state": "idle"}) is None
    )


def test_asyncpg_and_psycopg_pools_report_their_state(
    server: LocalPostgres, unique_name: str, reader: tuple[InMemoryMetricReader, Any]
) -> None:
    from psycopg_pool import ConnectionPool

    from pool_doctor.monitor.asyncpg_pool import AsyncpgPoolMonitor
    from pool_doctor.monitor.psycopg_pool import PsycopgPoolMonitor

    memory, meter = reader
    server.create_role(unique_name, PASSWORD)
    dsn = server.url(unique_name, PASSWORD)
    found: dict[str, dict[tuple[str, str], int]] = {}

    def counts() -> dict[tuple[str, str], int]:
        return {
            (p.attributes["db.client.connection.pool.name"], p.attributes["db.client.connection.state"]): p.value
            for p in points(memory)["db.client.connection.count"]
        }

    async def with_asyncpg() -> None:
        monitor = AsyncpgPoolMonitor(target="asyncpg-pool", otel=meter, pool_name="asyncpg-pool")
        pool = await monitor.create_pool(dsn, min_size=2, max_size=4)
        async with pool.acquire() as conn:
            await conn.fetchval("SELECT 1")
            found["asyncpg"] = counts()
        await pool.close()
        monitor.close()

    asyncio.run(with_asyncpg())
    monitor = PsycopgPoolMonitor(target="psycopg-pool", otel=meter, pool_name="psycopg-pool")
    with ConnectionPool(dsn, min_size=2, max_size=3, open=False, **monitor.pool_kwargs()) as pool:
        monitor.attach(pool)
        pool.wait()
        with pool.connection() as conn:
            conn.execute("SELECT 1")
            found["psycopg"] = counts()
        # With a reset callback psycopg_pool returns the connection on a worker thread: wait for it.
        deadline = time.monotonic() + 5
        while counts().get(("psycopg-pool", "idle")) != 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        monitor.close()

    assert found["asyncpg"] == {("asyncpg-pool", "idle"): 1, ("asyncpg-pool", "used"): 1}
    assert found["psycopg"] == {("psycopg-pool", "idle"): 1, ("psycopg-pool", "used"): 1}
    final = points(memory)
    assert {
        p.attributes["db.client.connection.pool.name"]: p.count for p in final["db.client.connection.use_time"]
    } == {
        "asyncpg-pool": 1,
        "psycopg-pool": 1,
    }
    assert [p.count for p in final["db.client.connection.create_time"]] == [2]  # asyncpg's (its connect= hook)


def test_only_the_api_is_needed_and_every_name_is_documented() -> None:
    """The product imports opentelemetry-api only; each metric name is in the module's table and the README."""
    import pool_doctor.monitor.metrics as metrics

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    source = Path(metrics.__file__).read_text()
    assert "opentelemetry.sdk" not in source
    for name in NAMES:
        assert name in (metrics.__doc__ or "")
        assert f"`{name}`" in readme, name
