"""What observe and check --inventory cost (issue 28), on throwaway servers from the lab.

    python bench/fleet.py                    # both parts, 5 runs each
    python bench/fleet.py --runs 7 --sessions 500

1. observe's sampling query with N client sessions open (default 500): observe holds one backend; its
   SAMPLE_QUERY's round trip is timed on that backend (median and max of --samples), and observe's own
   report of it is shown. Goal: under 5 ms.
2. check --inventory over 20 targets (19 databases on two servers, one target on a closed port) against
   `check --url` of one of them, as whole `pool-doctor` processes, interleaved run by run; median of
   --runs. Goal: the 20 within 3x the one. The rollup's own in-process time of each is shown too.

A benchmark, not a test: it prints figures and exits 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pool_doctor.lab.postgres import LocalPostgres
from pool_doctor.observe.queries import SAMPLE_QUERY_14

PASSWORD = "bench-fleet-pw"
SAMPLE_GOAL_MS = 5.0
FLEET_GOAL = 3.0


async def sampling_cost(server: LocalPostgres, sessions: int, samples: int) -> list[float]:
    import asyncpg

    held = []
    for start in range(0, sessions, 50):  # in batches: the server forks each backend
        held += await asyncio.gather(
            *(
                asyncpg.connect(
                    host=server.host,
                    port=server.port,
                    user="postgres",
                    password=server.password,
                    database="postgres",
                    server_settings={"application_name": f"app-{i % 7}"},
                )
                for i in range(start, min(sessions, start + 50))
            )
        )
    try:
        observer = await asyncpg.connect(
            host=server.host, port=server.port, user="postgres", password=server.password, database="postgres"
        )
        times = []
        for _ in range(samples):
            before = time.perf_counter()
            raw = await observer.fetchval(SAMPLE_QUERY_14)  # the round trip: what the server and the wire cost
            times.append((time.perf_counter() - before) * 1000)
            document = json.loads(raw)
        assert len(document["sessions"]) >= sessions, len(document["sessions"])
        await observer.close()
        return times
    finally:
        await asyncio.gather(*(conn.close() for conn in held))


def pool_doctor(*args: str, env: dict[str, str]) -> tuple[float, int, str]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pool_doctor", *args], capture_output=True, text=True, env=env)
    return time.perf_counter() - started, done.returncode, done.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sessions", type=int, default=500)
    parser.add_argument("--samples", type=int, default=50)
    args = parser.parse_args(argv)
    ok = True
    # A second major when one is installed (Debian's /usr/lib/postgresql/N/bin), else the embedded one again.
    bindirs = sorted(p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "postgres").is_file())
    with (
        LocalPostgres(settings={"max_connections": str(args.sessions + 50)}) as first,
        LocalPostgres(bindirs[-1] if bindirs else None, settings={"max_connections": "100"}) as second,
    ):
        times = asyncio.run(sampling_cost(first, args.sessions, args.samples))
        median, worst = statistics.median(times), max(times)
        met = median < SAMPLE_GOAL_MS
        ok &= met
        print(
            f"observe's sampling query, {args.sessions} sessions (PostgreSQL {first.major}): median {median:.2f} ms, "
            f"max {worst:.2f} ms over {args.samples} samples; goal < {SAMPLE_GOAL_MS:g} ms: "
            f"{'met' if met else 'MISSED'}"
        )
        lines = []
        for server, numbers in ((first, range(1, 11)), (second, range(11, 20))):
            server.create_role("app", PASSWORD)
            for i in numbers:
                server.create_database(f"svc{i}", owner="app")
                lines.append(
                    f'[[target]]\nname = "svc{i:02d}"\nurl = "postgresql+asyncpg://app@127.0.0.1:{server.port}/svc{i}"'
                    '\npassword_env = "APP_DB_PASSWORD"\n'
                )
        lines.append(
            '[[target]]\nname = "down"\nurl = "postgresql+asyncpg://app@127.0.0.1:1/down"\n'
            'password_env = "APP_DB_PASSWORD"\ntimeout = 3\n'
        )
        with tempfile.TemporaryDirectory() as tmp:
            inventory = Path(tmp) / "inventory.toml"
            inventory.write_text("\n".join(lines))
            env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "POOL_DOCTOR_"))}
            env.update(APP_DB_PASSWORD=PASSWORD, PGPASSWORD=PASSWORD, PGPASSFILE=os.devnull, NO_COLOR="1", COLUMNS="80")
            one_url = f"postgresql+asyncpg://app@127.0.0.1:{first.port}/svc1"
            ones, fleets, in_run = [], [], []
            code = 0
            for run in range(args.runs):
                order = [
                    ("one", ("check", "--url", one_url)),
                    ("fleet", ("check", "--inventory", str(inventory), "--json")),
                ]
                for name, command in order if run % 2 == 0 else reversed(order):
                    seconds, code_seen, stdout = pool_doctor(*command, env=env)
                    if name == "one":
                        ones.append(seconds)
                    else:
                        fleets.append(seconds)
                        code = code_seen
                        in_run.append(json.loads(stdout)["seconds"])
            one, fleet = statistics.median(ones), statistics.median(fleets)
            ratio = fleet / one
            met = ratio <= FLEET_GOAL
            ok &= met
            print(
                f"check --url (1 target): median {one * 1000:.0f} ms; check --inventory (20 targets, exit {code}): "
                f"median {fleet * 1000:.0f} ms (rollup in-process {statistics.median(in_run) * 1000:.0f} ms); "
                f"ratio {ratio:.2f}, goal <= {FLEET_GOAL:g}: {'met' if met else 'MISSED'}"
            )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
