"""What pool_doctor.monitor.watch() costs a checkout-query-checkin loop, against the same loop unwatched.

    python bench/monitor.py                 # both stacks, 10 rounds of 2000 iterations each
    python bench/monitor.py --rounds 15 --iterations 5000
    python bench/monitor.py --hold-warn 1   # with hold_warn on: each checkout also notes the app's line

Goal (issue 17): watched / unwatched <= 1.10 for a SQLAlchemy engine against a local server. Two engines on
one throwaway server, alternated round by round so drift (CPU frequency, other load) hits both; the ratio
is of the median round times (the order within a pair alternates). A benchmark, not a test: it prints figures and exits 1 when the goal is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.ext.asyncio import create_async_engine

from pool_doctor.lab.postgres import LocalPostgres
from pool_doctor.monitor import watch

GOAL = 1.10
QUERY = text("SELECT 1")


def sync_round(engine: Any, iterations: int) -> float:
    started = time.perf_counter()
    for _ in range(iterations):
        with engine.connect() as conn:
            conn.execute(QUERY).scalar()
    return time.perf_counter() - started


async def async_round(engine: Any, iterations: int) -> float:
    started = time.perf_counter()
    for _ in range(iterations):
        async with engine.connect() as conn:
            await conn.scalar(QUERY)
    return time.perf_counter() - started


def compare(name: str, plain: list[float], watched: list[float], iterations: int) -> bool:
    base, cost = statistics.median(plain), statistics.median(watched)
    ratio = cost / base
    best = min(watched) / min(plain)  # the fastest rounds: least disturbed by other load on the machine
    per_call = (cost - base) / iterations * 1e6
    ok = ratio <= GOAL
    print(
        f"{name:<28} unwatched {base / iterations * 1e6:6.1f} us  watched {cost / iterations * 1e6:6.1f} us  "
        f"{per_call:+5.1f} us/iter  ratio {ratio:.3f} (fastest rounds {best:.3f})  "
        f"{'ok' if ok else f'MISSED (goal <= {GOAL})'}"
    )
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--hold-warn", type=float, default=None, help="watch(..., hold_warn=SECONDS) (issue 26)")
    args = parser.parse_args(argv)
    print(f"hold_warn = {args.hold_warn}" if args.hold_warn is not None else "hold_warn off")
    results = []
    with LocalPostgres() as pg:
        pg.create_role("bench", "bench-pw")
        # psycopg (sync) and asyncpg (async): the stacks the monitor attaches to the same way.
        plain_sync = create_engine(pg.url("bench", "bench-pw", driver="psycopg"))
        watched_sync = create_engine(pg.url("bench", "bench-pw", driver="psycopg"))
        watch(watched_sync, hold_warn=args.hold_warn)
        times: dict[str, list[float]] = {"plain": [], "watched": []}
        for engine in (plain_sync, watched_sync):
            sync_round(engine, 200)  # warm up: connect, read the server's limits, fill caches
        for index in range(args.rounds):
            # Alternate which goes first: the second of a pair ran measurably slower here whichever it was.
            for name in ("plain", "watched") if index % 2 else ("watched", "plain"):
                times[name].append(sync_round(plain_sync if name == "plain" else watched_sync, args.iterations))
        results.append(compare("SQLAlchemy + psycopg (sync)", times["plain"], times["watched"], args.iterations))
        plain_sync.dispose()
        watched_sync.dispose()

        async def run_async() -> bool:
            plain = create_async_engine(pg.url("bench", "bench-pw", driver="asyncpg"))
            watched = create_async_engine(pg.url("bench", "bench-pw", driver="asyncpg"))
            watch(watched, hold_warn=args.hold_warn)
            rounds: dict[str, list[float]] = {"plain": [], "watched": []}
            for engine in (plain, watched):
                await async_round(engine, 200)
            for index in range(args.rounds):
                for name in ("plain", "watched") if index % 2 else ("watched", "plain"):
                    rounds[name].append(await async_round(plain if name == "plain" else watched, args.iterations))
            await plain.dispose()
            await watched.dispose()
            return compare("SQLAlchemy + asyncpg (async)", rounds["plain"], rounds["watched"], args.iterations)

        results.append(asyncio.run(run_async()))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
