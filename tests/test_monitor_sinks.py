"""The monitor never raises into the app and never blocks it: with its JSON-lines file on /dev/full, on a tiny
filesystem that fills up, on a FIFO nobody reads, with a logger or an exporter that fails, the app's requests
under concurrent load end exactly as they do unwatched. Records are whole lines; `explain` reads the good ones
of a file the disk cut short.

Real servers, real SQLAlchemy engines (asyncpg in one event loop, psycopg in threads), a real tmpfs (root only).
"""

from __future__ import annotations

import asyncio
import errno
import gc
import json
import logging
import os
import subprocess
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_runner import clean_environment, command
from harness import LocalPostgres
from sqlalchemy import create_engine, text
from sqlalchemy.ext.asyncio import create_async_engine

from pool_doctor.monitor import stats, watch
from pool_doctor.monitor.core import Monitor, Sink
from pool_doctor.monitor.records import ConnState, Noticed, PoolSettings

PASSWORD = "s3cr3t-sinks-pw"
LIMIT = 1.0  # the role's idle_session_timeout, seconds
IDLE = 1.4
CONCURRENCY = 12
ROUNDS = 3
DISK_ROUNDS = 2  # the disk test's loads: four of them or more, each round an idle spell past the limit


@pytest.fixture(scope="module")
def server(pg_bindirs: list[Path]) -> Iterator[LocalPostgres]:
    with LocalPostgres(pg_bindirs[0]) as pg:
        pg.create_role("sink_app", PASSWORD, settings={"idle_session_timeout": f"{LIMIT:g}s"})
        yield pg


@pytest.fixture
def quick_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    """A failed sink rests 0.2 s instead of 1 s (doubling up to 5 min), so a test sees it recover."""
    monkeypatch.setattr(Sink, "FIRST_REST", 0.2)


def outcome(exc: BaseException | None) -> str:
    return "ok" if exc is None else f"{type(exc).__module__}.{type(exc).__name__}"


# ------------------------------------------------------------------------------------------------
# asyncpg, concurrent requests in one event loop


async def _async_load(url: str, jsonl: str | None, pre_ping: bool) -> tuple[list[list[str]], dict[str, Any] | None]:
    engine = create_async_engine(url, pool_size=CONCURRENCY, max_overflow=0, pool_pre_ping=pre_ping)
    monitor = watch(engine, jsonl=jsonl) if jsonl is not None else None

    async def request() -> str:
        try:
            async with engine.connect() as conn:
                await conn.scalar(text("SELECT pg_sleep(0.05)"))
        except Exception as exc:
            return outcome(exc)
        return "ok"

    rounds = []
    for _ in range(ROUNDS):
        rounds.append(sorted(await asyncio.gather(*(request() for _ in range(CONCURRENCY)))))
        await asyncio.sleep(IDLE)  # past the role's idle_session_timeout: every pooled connection dies
    await engine.dispose()
    counted = stats(engine) if monitor is not None else None
    if monitor is not None:
        monitor.close()
    return rounds, counted


@pytest.mark.parametrize("pre_ping", [True, False], ids=["pre-ping", "defaults"])
def test_a_full_sink_changes_nothing_the_app_sees(
    pre_ping: bool, server: LocalPostgres, caplog: pytest.LogCaptureFixture
) -> None:
    """jsonl=/dev/full (every write: ENOSPC). Was: OSError raised into the app from the pool's invalidate
    event, failing requests that pre-ping would have replaced silently."""
    url = server.url("sink_app", PASSWORD, driver="asyncpg")
    caplog.set_level(logging.INFO, logger="pool_doctor.monitor")
    unwatched, _ = asyncio.run(_async_load(url, None, pre_ping))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        watched, counted = asyncio.run(_async_load(url, "/dev/full", pre_ping))
        gc.collect()  # SQLAlchemy warns here of connections collected without being checked in
    assert watched == unwatched
    if pre_ping:
        assert all(result == "ok" for round_ in watched for result in round_)
    failed = sum(result != "ok" for round_ in watched for result in round_)
    assert counted is not None and counted["failed_requests"] == failed  # seen, only not written
    # Each pre-ping replaces a dead connection; without it the first failure invalidates the whole pool.
    assert counted["deaths"] >= (CONCURRENCY if pre_ping else max(failed, 1))
    said = [r.getMessage() for r in caplog.records if "cannot write records to file /dev/full" in r.getMessage()]
    assert len(said) == 1 and "the app is not affected" in said[0]  # once, not once per death
    assert not [w for w in caught if "checked in" in str(w.message) or "garbage collector" in str(w.message)]


# ------------------------------------------------------------------------------------------------
# psycopg, concurrent requests in threads, the log on a tiny filesystem that fills up


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs of our own (mounting needs root)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "fs"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(directory: Path) -> Path:
    """Fill the filesystem: whole blocks, then byte by byte, until ENOSPC."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        for chunk in (b"f" * 4096, b"f"):
            while True:
                try:
                    os.write(fd, chunk)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC
                    break
    finally:
        os.close(fd)
    return filler


def _request(engine: Any, results: list[str], start: threading.Barrier) -> None:
    try:
        start.wait(10)  # every thread checks out at once: the pool holds CONCURRENCY connections
    except threading.BrokenBarrierError:
        pass
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_sleep(0.05)"))
        results.append("ok")  # list.append is atomic: no lock needed
    except Exception as exc:
        results.append(outcome(exc))


def _thread_load(engine: Any, rounds_run: int = ROUNDS) -> list[list[str]]:
    rounds = []
    for _ in range(rounds_run):
        results: list[str] = []
        start = threading.Barrier(CONCURRENCY)
        threads = [threading.Thread(target=_request, args=(engine, results, start)) for _ in range(CONCURRENCY)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        rounds.append(sorted(results))
        time.sleep(IDLE)
    return rounds


def explain(path: Path) -> tuple[int, dict[str, Any], str]:
    done = subprocess.run(
        [*command(), "explain", str(path), "--json"],
        capture_output=True,
        text=True,
        env=clean_environment(),
        timeout=60,
    )
    return done.returncode, json.loads(done.stdout) if done.stdout else {}, done.stderr


def whole_records(path: Path) -> int:
    count = 0
    for line in path.read_bytes().split(b"\n"):
        try:
            count += json.loads(line).get("event") == "death"
        except ValueError:
            pass
    return count


def test_a_disk_that_fills_up_under_load(server: LocalPostgres, tiny_fs: Path, quick_retry: None) -> None:
    """The log fills its filesystem mid-record: the app goes on as unwatched, the cut record is one torn line,
    explain reads every whole record and skips that one; once space is freed the monitor writes again."""
    url = server.url("sink_app", PASSWORD, driver="psycopg")
    log = tiny_fs / "deaths.jsonl"

    baseline = create_engine(url, pool_size=CONCURRENCY, max_overflow=0, pool_pre_ping=True)
    unwatched = _thread_load(baseline, DISK_ROUNDS)
    baseline.dispose()

    engine = create_engine(url, pool_size=CONCURRENCY, max_overflow=0, pool_pre_ping=True)
    monitor = watch(engine, jsonl=log)
    try:
        assert _thread_load(engine, DISK_ROUNDS) == unwatched  # room on the disk
        written = whole_records(log)
        assert written >= 1  # each death at checkout, written whole (CONCURRENCY of them unless threads lag)
        filler = fill(tiny_fs)
        assert _thread_load(engine, DISK_ROUNDS) == unwatched  # the disk is full: nothing changes for the app
        code, report, err = explain(log)
        assert code == 0, err
        assert report["deaths"] == whole_records(log) >= written
        torn = not log.read_bytes().endswith(b"\n")
        assert torn == ("partly written record" in err), err  # said when (and only when) a line was cut

        before = whole_records(log)
        filler.unlink()  # space again: after its rest (0.2 s doubling) the sink writes again
        for _ in range(3):
            assert _thread_load(engine, DISK_ROUNDS) == unwatched
            if whole_records(log) > before:
                break
    finally:
        engine.dispose()
        monitor.close()
    code, report, err = explain(log)
    assert code == 0, err
    assert report["deaths"] == whole_records(log) > before  # written again, whole, the cut line ended first
    assert log.read_bytes().endswith(b"\n")
    assert all(line.startswith(b'{"schema_version":') for line in log.read_bytes().splitlines() if line)


def test_a_record_the_full_disk_cuts_is_one_torn_line_that_explain_skips(tiny_fs: Path, quick_retry: None) -> None:
    """Deterministic: records of 1000 bytes in 4096-byte pages. After the first, the disk is filled; three more
    fit the page, the fourth is cut after 96 bytes (the monitor says so once, the caller sees nothing). Explain
    reads the four whole ones and skips the cut one with a warning; once space is back, the next record starts
    on a line of its own."""
    log = tiny_fs / "deaths.jsonl"
    monitor = Monitor(PoolSettings("sqlalchemy", "QueuePool", "psycopg", "t"), jsonl=log)
    pad = {"pad": ""}
    record = monitor.build_record(monitor.opened(), ConnectionResetError("gone"), Noticed.REQUEST, pad)
    pad["pad"] = "x" * (1000 - len(json.dumps(record, separators=(",", ":"))) - 1)

    def die() -> dict[str, Any] | None:
        return monitor.died(monitor.opened(), ConnectionResetError("gone"), Noticed.REQUEST, dict(pad))

    assert die() is not None and log.stat().st_size == 1000
    filler = fill(tiny_fs)
    for _ in range(5):  # 3 whole, 1 cut, 1 refused (the sink rests): none raises
        assert die() is not None
    assert log.stat().st_size == 4096 and monitor.sinks[0].failures == 1
    code, report, err = explain(log)
    assert (code, report["deaths"]) == (0, 4), err
    assert "skipped a partly written record (line 5)" in err

    filler.unlink()
    time.sleep(0.3)  # the sink's first rest
    assert die() is not None
    monitor.close()
    code, report, err = explain(log)
    assert (code, report["deaths"]) == (0, 5), err
    assert "(line 5)" in err and log.read_bytes().endswith(b"\n")


def test_a_burst_of_failures_side_by_side_is_one_failure_for_the_back_off() -> None:
    """Twelve threads' deaths on a full disk fail together: the rest doubles once, not twelve times (it was
    up to 0.2 s * 2**11 after one burst, so a freed disk stayed unwritten for minutes). Once the rest is over,
    the next record is written and the recovery is said with the number dropped."""
    said: list[str] = []
    full = threading.Event()
    full.set()
    inside = threading.Barrier(CONCURRENCY)
    written: list[dict[str, Any]] = []

    def write(record: dict[str, Any]) -> None:
        if full.is_set():
            inside.wait(10)  # every thread is past the rest check before any fails
            raise OSError(errno.ENOSPC, "No space left on device")
        written.append(record)

    sink = Sink("file t", write, lambda level, message, *args: said.append(message % args))
    threads = [threading.Thread(target=sink, args=({"n": n},)) for n in range(CONCURRENCY)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert (sink.failures, sink.dropped, sink.rest) == (CONCURRENCY, CONCURRENCY, Sink.FIRST_REST)
    assert len(said) == 1 and "cannot write records to file t" in said[0]

    full.clear()
    sink({"n": "resting"})  # within the rest (a whole second: room for a loaded machine): dropped, not tried
    assert not written and sink.dropped == CONCURRENCY + 1
    time.sleep(Sink.FIRST_REST + 0.05)
    sink({"n": "after"})
    assert written == [{"n": "after"}] and sink.rest == 0.0
    assert said[1] == f"pool_doctor.monitor: writing records to file t again ({CONCURRENCY + 1} dropped)"


# ------------------------------------------------------------------------------------------------
# The other sinks, and watch()'s own arguments


def test_a_fifo_nobody_reads_never_blocks_the_app(server: LocalPostgres, tmp_path: Path) -> None:
    """open() of a FIFO for writing waits for a reader; the monitor opens it non-blocking and moves on."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    url = server.url("sink_app", PASSWORD, driver="psycopg")
    engine = create_engine(url, pool_size=2, max_overflow=0, pool_pre_ping=True)
    started = time.monotonic()
    monitor = watch(engine, jsonl=fifo)
    assert time.monotonic() - started < 2
    try:
        assert _thread_load(engine) == [["ok"] * CONCURRENCY] * ROUNDS
        assert monitor.stats()["deaths"] >= 2
    finally:
        engine.dispose()
        monitor.close()


class FailingLogger(logging.Logger):
    def _log(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        raise RuntimeError("the app's logging is broken")


def test_a_failing_logger_and_exporter_are_not_the_apps_problem() -> None:
    def exporter(record: dict[str, Any]) -> None:
        raise ValueError("metrics backend down")

    monitor = Monitor(
        PoolSettings("sqlalchemy", "QueuePool", "psycopg", "t"),
        logger=FailingLogger("boom"),
        exporters=[exporter],
    )
    state = monitor.opened()
    record = monitor.died(state, ConnectionResetError("gone"), Noticed.REQUEST)
    assert record is not None and record["error"]["message"] == "gone"
    assert monitor.stats()["deaths"] == 1
    assert [sink.failures for sink in monitor.sinks] == [1, 1]
    monitor.retired(ConnState(2, 0.0, 0.0), "pool_recycle")  # its debug line fails too: never raised


def test_watch_never_raises_for_its_own_arguments(
    server: LocalPostgres, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An unreadable limits_from, a log in a folder that does not exist, a Prometheus registry that is not
    one: each said once as a warning; the engine works, watched as far as it can be."""
    caplog.set_level(logging.WARNING, logger="pool_doctor.monitor")
    engine = create_engine(server.url("sink_app", PASSWORD, driver="psycopg"), pool_pre_ping=True)
    monitor = watch(
        engine, limits_from=tmp_path / "missing.json", jsonl=tmp_path / "no" / "d.jsonl", prometheus=object()
    )
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()
        monitor.close()
    said = " | ".join(r.getMessage() for r in caplog.records)
    assert "limits_from unusable" in said and "does not exist" in said
    assert f"cannot write records to file {tmp_path / 'no' / 'd.jsonl'}" in said
    assert "no Prometheus export" in said
