"""The frozen scenario: the process stops for longer than the path's idle limit (a serverless runtime between
invocations, SIGSTOP, a laptop's sleep), and the next request comes before any of the pool's timers runs.

In the probe the freeze is of its event loop: `time.sleep` in the loop's thread, so no callback, timer or
socket event runs, as in a stopped process, while the server ends the idle session (a session-local
idle_session_timeout at the path's smallest idle limit, time-scaled as server_idle_timeout's). A connection
the server closed meanwhile is not yet known to be closed when the request takes it, exactly as after a
thaw: asyncpg's pool hands it out (its `max_inactive_connection_lifetime` timer fires late), and the request
gets "connection was closed in the middle of operation". What helps is what runs at checkout: a ping, a
lifetime compared with the clock (SQLAlchemy's pool_recycle), or no pool kept across requests (NullPool).

Pools whose work all runs on the loop or at checkout (SQLAlchemy's engines, asyncpg's and psycopg_pool's
async pools) are frozen whole; one with threads of its own (Stack.probe_threads) is not, so the scenario is
not run for it. It runs only for a runtime that freezes the process (check's serverless-runtime finding,
with --runtime or the environment): elsewhere a freeze is an accident check does not judge either.
"""

from __future__ import annotations

import os
import time
from contextlib import suppress
from functools import partial

from pool_doctor.model import Severity
from pool_doctor.platforms.runtime import NO_POOL_ADVICE
from pool_doctor.probe.context import IdleRun, ProbeContext, skipped
from pool_doctor.probe.engines import ProbeConfig
from pool_doctor.probe.model import ScenarioResult
from pool_doctor.probe.scenarios import register
from pool_doctor.probe.timescale import ASSUMED_IDLE_LIMIT, Killer, TimeScale, hang_bound
from pool_doctor.rules.facts import idle_limits

CLOSE_WAIT = "08"  # /proc/net/tcp's state of a connection the peer closed
LATE_CLOSE = 3.0  # seconds the freeze may wait past its length for the server's close


class Frozen:
    name = "frozen"
    summary = "the process is frozen past the idle limit (serverless, SIGSTOP); the next request comes first"
    severity = Severity.WARNING  # as check's serverless-runtime finding

    def killer(self, ctx: ProbeContext) -> Killer:
        """The first idle limit on the path to end the frozen pool's connections (the probe ends them as the
        server does; a middlebox's reset or silent drop fails the request as surely, or hangs it)."""
        closing = [limit for limit in idle_limits(ctx.facts) if limit.kind == "idle"]
        if closing:
            limit = min(closing, key=lambda limit: limit.seconds)
            return Killer(limit.seconds, f"{limit.name} = {limit.shown} ({limit.holder}, {limit.source})")
        return Killer(ASSUMED_IDLE_LIMIT, "no idle limit known on the path; assumed 5min", assumed=True)

    async def run(self, ctx: ProbeContext, config: ProbeConfig) -> ScenarioResult:
        runtime = ctx.facts.runtime
        if runtime is None or not runtime.freezes:
            return skipped(
                self.name,
                config,
                "not tested: nothing says the app runs where its process is frozen between requests "
                "(--runtime aws-lambda, vercel, cloud-run, ... or the runtime's environment)",
            )
        if ctx.facts.read_server.version_num < 140000:
            version = ctx.facts.read_server.version
            return skipped(self.name, config, f"the probe ends idle sessions with PostgreSQL 14+ (server: {version})")
        if ctx.pooling != "none":
            return skipped(
                self.name, config, "a pooler is on the path: the server's idle timeout would end its connection"
            )
        threads = config.stack.probe_threads(config.values)
        if threads is not None:
            return skipped(self.name, config, f"{threads} runs on in a freeze of the probe's event loop")
        async with ctx.alone:  # the freeze blocks the whole loop: the other config waits its turn
            return await self.frozen(ctx, config, runtime.name)

    async def frozen(self, ctx: ProbeContext, config: ProbeConfig, runtime: str) -> ScenarioResult:
        killer = self.killer(ctx)
        scale = TimeScale(killer)
        scaled_config, scaled = scale.apply(config, ctx.driver, ctx.detect_floor)
        milliseconds = str(max(1, round(scale.scaled_killer * 1000)))
        engine = ctx.engine(scaled_config, session_settings={"idle_session_timeout": milliseconds})
        idle = scale.idle_for(scaled_config)
        bound = hang_bound(scaled_config, ctx.driver, idle)
        freeze = partial(frozen_until_closed, port=ctx.target.port, longest=idle + LATE_CLOSE)
        run = IdleRun(engine, idle, bound, ctx.timeout, freeze=freeze)
        try:
            await run.run()
        finally:
            await run.close()
        notes = [f"{runtime}: frozen past {killer.what}, then the next request"]
        result = run.result(self.name, config.name, scaled, notes)
        no_ping = config.policy is not None and config.policy.lever("ping") is None
        if config.name == "recommended" and result.outcome in ("error", "hang") and no_ping:
            # No setting of this pool checks a connection at checkout (asyncpg's: its setup= hook could, but
            # a failure there is the app's): what is left is the runtime's own advice, as check gives it.
            notes.append(f"no setting of {config.stack.label}'s pool survives the freeze: {NO_POOL_ADVICE}")
        return result


def frozen_until_closed(seconds: float, port: int, longest: float) -> None:
    """Block the thread (the probe's event loop) for `seconds`, and on (up to `longest` in all) until the
    server has closed one of this process's connections to `port`: a server late under load must not end the
    freeze before its close, or the loop reads the close and the pool replaces the connection as it would
    without a freeze. Where the system does not say (no /proc), the `seconds` alone."""
    start = time.monotonic()
    before = closed_by_peer(port)
    time.sleep(seconds)
    while before >= 0 and closed_by_peer(port) <= before and time.monotonic() - start < longest:
        time.sleep(0.05)


def closed_by_peer(port: int) -> int:
    """How many of this process's TCP connections to `port` the other end has closed and nobody has read yet
    (CLOSE_WAIT, Linux's /proc/net/tcp); -1 where the system does not say."""
    try:
        mine = set()
        for fd in os.listdir("/proc/self/fd"):
            with suppress(OSError):
                link = os.readlink(f"/proc/self/fd/{fd}")
                if link.startswith("socket:["):
                    mine.add(link[8:-1])
        count, seen = 0, False
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with suppress(OSError), open(table) as rows:
                for row in list(rows)[1:]:
                    fields = row.split()
                    remote, state, inode = fields[2], fields[3], fields[9]
                    if inode in mine and int(remote.rsplit(":", 1)[1], 16) == port:
                        seen = True
                        count += state == CLOSE_WAIT
        return count if seen else -1  # none of ours to that port (a Unix socket, no /proc/net): cannot say
    except (OSError, ValueError, IndexError):
        return -1


register(Frozen())
