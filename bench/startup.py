"""How fast pool-doctor starts and checks, against baselines measured in the same run.

    python bench/startup.py            # 15 runs of each, medians and ratios
    python bench/startup.py --runs 31 --explain

Goals (issue 2): `pool-doctor --help` within 1.5x of `python -c "import typer"`; `pool-doctor check` against a
local server within 2.5x of a minimal asyncpg script that connects and reads pg_settings once; check uses
one connection and at most two queries (counted from the server's own log: log_connections, log_statement).
A benchmark, not a test: it prints figures and exits 1 when a goal is missed, it never skips or retries.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pool_doctor.lab.postgres import LocalPostgres

PYTHON = sys.executable  # the real interpreter, not a version-manager shim that adds its own start-up
POOL_DOCTOR = str(Path(PYTHON).parent / "pool-doctor")

ASYNCPG_BASELINE = """
import asyncio, sys
import asyncpg

async def main() -> None:
    conn = await asyncpg.connect(sys.argv[1])
    await conn.fetch("SELECT name, setting, unit, source FROM pg_settings")
    await conn.close()

asyncio.run(main())
"""

# What no implementation of `check` on the required libraries can start faster than: the baseline's work
# plus importing SQLAlchemy (its URL parsing and dialects, issue 11), pydantic-settings (the config),
# Typer and rich (the CLI). Reported beside the goals, not one itself: it shows how much of check's ratio
# is pool-doctor's own code and how much the libraries' import cost.
SQLALCHEMY_FLOOR = "import sqlalchemy.engine.url\n" + ASYNCPG_BASELINE
LIBRARY_FLOOR = (
    "import sqlalchemy.engine.url, sqlalchemy.dialects.postgresql.asyncpg\n"
    "import pydantic_settings, typer, rich.table\n" + ASYNCPG_BASELINE
)


@dataclass(frozen=True)
class Pair:
    name: str
    subject: list[str]
    baseline: list[str]
    baseline_name: str
    goal: float | None  # None: reported, not a goal
    ok_codes: tuple[int, ...] = (0,)


def wall(argv: Sequence[str], env: dict[str, str], ok_codes: tuple[int, ...]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode not in ok_codes:
        raise SystemExit(f"{argv[:3]} exited {done.returncode}: {done.stderr.decode(errors='replace')[-500:]}")
    return elapsed


def measure(pair: Pair, runs: int, env: dict[str, str]) -> tuple[float, float]:
    """Median seconds of subject and baseline, interleaved so drift in machine load hits both alike."""
    for _ in range(2):  # warm the page cache and .pyc files
        wall(pair.subject, env, pair.ok_codes)
        wall(pair.baseline, env, (0,))
    subject, baseline = [], []
    for _ in range(runs):
        subject.append(wall(pair.subject, env, pair.ok_codes))
        baseline.append(wall(pair.baseline, env, (0,)))
    return statistics.median(subject), statistics.median(baseline)


def count_round_trips(server: LocalPostgres, url: str, role: str, env: dict[str, str]) -> tuple[int, int]:
    """Connections and statements one `check` causes, read from the server log (log_statement = all)."""
    assert server.log_path is not None
    before = server.log_path.stat().st_size
    wall([POOL_DOCTOR, "check", "--json", "--url", url], env, (0, 1))
    time.sleep(0.3)  # the server's stderr reaches the log file asynchronously
    with server.log_path.open("rb") as log:
        log.seek(before)
        text = log.read().decode(errors="replace")
    pids = set(re.findall(rf"\[(\d+)\] LOG:  connection authorized: user={role} ", text))
    statements = sum(len(re.findall(rf"\[{pid}\] LOG:  (?:statement|execute [^:]*):", text)) for pid in pids)
    return len(pids), statements


def top_imports(argv_tail: Sequence[str], env: dict[str, str], limit: int = 8) -> list[tuple[int, str]]:
    """The slowest imports (cumulative microseconds) of `python -X importtime <argv_tail>`."""
    done = subprocess.run(
        [PYTHON, "-X", "importtime", *argv_tail], capture_output=True, text=True, env=env, check=False
    )
    rows = []
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|(\s*)(\S+)", line)
        if match and len(match.group(2)) <= 3:  # top-level and first-level imports only
            rows.append((int(match.group(1)), match.group(3)))
    return sorted(rows, reverse=True)[:limit]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15, help="timed runs of each command (median is reported)")
    parser.add_argument("--explain", action="store_true", help="also list the slowest imports of each subject")
    args = parser.parse_args(argv)

    # Without PYTHONDONTWRITEBYTECODE: the warm-up runs write pool-doctor's .pyc files, as pip does on install.
    # An editable install from a fresh clone has none, and compiling ~80 modules on every run is not check.
    dropped = ("DATABASE_URL", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "POOL_DOCTOR_")) and k not in dropped}
    env.update(NO_COLOR="1", COLUMNS="120")
    settings = {"log_connections": "on", "log_statement": "all"}
    with LocalPostgres(settings=settings) as server:
        server.create_role("bench_app", "bench-pw")
        server.create_database("bench_db", owner="bench_app")
        url = server.url("bench_app", "bench-pw", "bench_db")  # for the asyncpg script: a plain URL
        # check on the baseline's own driver, asyncpg, so both sides import the same driver
        check_url = server.url("bench_app", "bench-pw", "bench_db", driver="asyncpg")
        check = [POOL_DOCTOR, "check", "--url", check_url]
        pairs = [
            Pair(
                "pool-doctor --help",
                [POOL_DOCTOR, "--help"],
                [PYTHON, "-c", "import typer"],
                'python -c "import typer"',
                1.5,
            ),
            Pair(
                "pool-doctor check (table)",
                check,
                [PYTHON, "-c", ASYNCPG_BASELINE, url],
                "asyncpg: connect + pg_settings",
                2.5,
                (0, 1),
            ),
            Pair(
                "pool-doctor check --json",
                [*check, "--json"],
                [PYTHON, "-c", ASYNCPG_BASELINE, url],
                "asyncpg: connect + pg_settings",
                2.5,
                (0, 1),
            ),
            Pair(
                "floor: + import sqlalchemy",
                [PYTHON, "-c", SQLALCHEMY_FLOOR, url],
                [PYTHON, "-c", ASYNCPG_BASELINE, url],
                "asyncpg: connect + pg_settings",
                None,
            ),
            Pair(
                "floor: + every required lib",
                [PYTHON, "-c", LIBRARY_FLOOR, url],
                [PYTHON, "-c", ASYNCPG_BASELINE, url],
                "asyncpg: connect + pg_settings",
                None,
            ),
        ]
        results = [(pair, *measure(pair, args.runs, env)) for pair in pairs]
        connections, statements = count_round_trips(server, check_url, "bench_app", env)

    print(
        f"PostgreSQL {server.major} on 127.0.0.1, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"median of {args.runs} runs"
    )
    print(f"{'subject':<28}{'median':>9}  {'baseline':<34}{'median':>9}{'ratio':>8}{'goal':>7}  ok")
    missed = 0
    for pair, subject, baseline in results:
        ratio = subject / baseline
        ok = pair.goal is None or ratio <= pair.goal
        missed += not ok
        goal, verdict = ("-", "info") if pair.goal is None else (f"{pair.goal:.1f}x", "yes" if ok else "NO")
        print(
            f"{pair.name:<28}{subject * 1000:>7.0f}ms  {pair.baseline_name:<34}{baseline * 1000:>7.0f}ms"
            f"{ratio:>7.2f}x{goal:>7}  {verdict}"
        )
    round_trips_ok = connections == 1 and 1 <= statements <= 2
    missed += not round_trips_ok
    print(
        f"check round trips: {connections} connection(s), {statements} statement(s) "
        f"(goal: 1 connection, at most 2 statements)  {'yes' if round_trips_ok else 'NO'}"
    )

    if args.explain:
        help_probe = "from pool_doctor.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass"
        for title, tail in (("import typer", ["-c", "import typer"]), ("pool-doctor --help", ["-c", help_probe])):
            print(f"\nslowest imports, {title}:")
            for micros, module in top_imports(tail, env):
                print(f"  {micros / 1000:7.1f}ms  {module}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
