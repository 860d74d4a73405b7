"""Scenario `idle_in_transaction`: a request holds its transaction idle past the role's
idle_in_transaction_session_timeout (FATAL 25P03), as one that awaits an LLM or HTTP call inside
`session.begin()` does. Time-scaled like the idle scenarios: the limit becomes SCALED_KILLER seconds, set
for the probe's own sessions only (a startup option), and the transaction is held past it.

What it shows honestly: the app's real error with its driver, and that no pool setting changes it (the
current and recommended configurations fail alike; a ping runs only at checkout and a lifetime only between
checkouts). The levers are the code (commit before slow work), `watch(engine, hold_warn=...)` to find that
code, and the per-session limit itself, which makes the failure fast and named instead of a lock held for
minutes. Registered by scenarios.py.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from pool_doctor.model import Severity
from pool_doctor.probe.context import ProbeContext, skipped
from pool_doctor.probe.engines import ProbeConfig, app_error, attempt, dispose, reap
from pool_doctor.probe.model import ScenarioResult
from pool_doctor.probe.timescale import Killer, TimeScale

SETTING = "idle_in_transaction_session_timeout"
HOLD_PAST = 1.5  # the transaction is held this many scaled limits: past it, with room for the server's timer
NOTES = (
    "no pool setting shortens a transaction: pre-ping runs only at checkout and a lifetime only between "
    "checkouts, so the current and recommended pools fail alike",
    "watch(engine, hold_warn=SECONDS) names the line that took the connection and held it",
    f"keep {SETTING}: the failure is fast and named (25P03) instead of locks and a pool slot held for minutes; "
    "commit before slow work (an LLM or HTTP call), or hold no transaction across it",
)


# The one thing the table says beyond the error: what settings can and cannot change.
HONEST = (
    "No pool setting shortens a transaction: the current and recommended pools fail alike. "
    "watch(engine, hold_warn=...) finds the code that holds it; keep the limit: the failure is fast and "
    "named (25P03) instead of locks held for minutes"
)


class IdleInTransaction:
    name = "idle_in_transaction"
    summary = "a request holds its transaction idle past idle_in_transaction_session_timeout (FATAL 25P03)"
    severity = Severity.WARNING  # as check says it (idle-in-transaction-timeout)

    def killer(self, ctx: ProbeContext) -> Killer | None:
        setting = ctx.facts.read_server.setting(SETTING)
        if not setting.is_on or not setting.seconds:
            return None
        return Killer(setting.seconds, f"{setting.describe()} (as role {ctx.facts.read_server.role} sees it)")

    async def run(self, ctx: ProbeContext, config: ProbeConfig) -> ScenarioResult:
        killer = self.killer(ctx)
        if killer is None:
            return skipped(
                self.name,
                config,
                f"not tested: {SETTING} is off for role {ctx.facts.read_server.role}, so a held transaction is "
                "never ended by the server (it holds its locks and pool slot instead; hold_warn finds it)",
            )
        if ctx.pooling != "none":
            return skipped(self.name, config, "a pooler is on the path: it holds the server connection itself")
        scale = TimeScale(killer)
        scaled_config, scaled = scale.apply(config, ctx.driver, ctx.detect_floor)
        limit_ms = max(1, round(scale.scaled_killer * 1000))
        engine = ctx.engine(scaled_config, session_settings={SETTING: str(limit_ms)})
        hold = scale.scaled_killer * HOLD_PAST
        scaled = {**scaled, "idle_seconds": round(hold, 3)}  # idle inside the transaction
        bound = max(ctx.timeout, 1.0)
        notes = list(NOTES)
        started = time.monotonic()
        next_request = None
        try:
            try:
                error = await asyncio.wait_for(_hold_transaction(engine, hold), hold + 3 * bound)
            except TimeoutError:
                return ScenarioResult(
                    self.name,
                    config.name,
                    "hang",
                    seconds=round(time.monotonic() - started, 3),
                    reason=f"no answer within {hold + 3 * bound:g}s",
                    scaled=scaled,
                    notes=notes,
                )
            if isinstance(error, str):
                return skipped(self.name, config, f"could not set up: {error}")
            next_request = await attempt(engine, bound)  # does the pool hand out a working connection next?
        finally:
            if next_request is not None:
                await reap(next_request.task)
            await dispose(engine)
        if error is None:
            return ScenarioResult(
                self.name,
                config.name,
                "ok",
                seconds=round(time.monotonic() - started, 3),
                reason=f"the transaction held {hold:g}s past a {scale.scaled_killer:g}s limit was not ended",  # a surprise
                scaled=scaled,
                notes=notes,
            )
        return ScenarioResult(
            self.name,
            config.name,
            "error",
            seconds=round(time.monotonic() - started, 3),
            error=error,
            recovered=next_request.outcome == "ok",
            reason=HONEST,
            scaled=scaled,
            notes=notes,
        )


async def _hold_transaction(engine: Any, hold: float) -> Any:
    """BEGIN, one statement, idle `hold` seconds, one more statement: None when it worked, the app's error
    when the second failed, or a string when even the first could not run."""
    from sqlalchemy import text

    try:
        async with engine.connect() as conn:
            await conn.begin()
            await conn.execute(text("SELECT 1"))
            await asyncio.sleep(hold)  # the slow external call
            try:
                await conn.execute(text("SELECT 1"))
            except Exception as exc:
                return app_error(exc)
            await conn.rollback()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None
