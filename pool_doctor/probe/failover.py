"""The demoted_primary scenario: the pool's connections turn read-only under it, and the app's writes get 25006.

A failover or switchover leaves pooled connections on the old primary, now read-only: SELECT 1 (pre-ping)
passes and every write fails with SQLSTATE 25006. The probe makes that real without changing anything on the
server: its pooled session turns itself read-only (`SET default_transaction_read_only = on`, session-local
state, as a reload of the demoted server does to every session), and its "write" is `DROP TABLE IF EXISTS`
of a table in its own temporary schema that never exists: a read-only transaction refuses it with 25006
before looking (PostgreSQL checks a utility command's class first), a writable one does nothing at all, so
not one tuple is written either way (tests/test_readonly.py counts them). A new session is writable: the
"writable server that is there now".

The current config is expected to keep failing; the recommended one runs with the stack's demotion code
(stacks/demotion.py, exactly as recommend prints it when the target can fail over): its first write fails
whatever the settings, and it passes when the pool then lets go and the next writes work.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pool_doctor.model import Severity
from pool_doctor.probe.context import ProbeContext, skipped
from pool_doctor.probe.engines import ProbeConfig, app_error, dispose
from pool_doctor.probe.model import ScenarioResult
from pool_doctor.probe.scenarios import register
from pool_doctor.probe.timescale import MIN_HANG_BOUND

DEMOTE = "SET default_transaction_read_only = on"  # this session only: the server is not touched
WRITE = "DROP TABLE IF EXISTS pg_temp.pool_doctor_probe_write"  # 25006 when read-only; else a no-op
WRITES = 3  # after the demotion: the first meets it; the rest show whether the pool let go


class DemotedPrimary:
    name = "demoted_primary"
    summary = "the pool's connections turn read-only under it (a demoted primary): writes get 25006"
    severity = Severity.WARNING  # as check's demoted-primary finding

    async def run(self, ctx: ProbeContext, config: ProbeConfig) -> ScenarioResult:
        from sqlalchemy import text

        if ctx.pooling != "none" or ctx.read_only != "session":
            return skipped(
                self.name,
                config,
                "behind a pooler a session's SET may reach other clients: the probe does not demote it",
            )
        fix = config.stack.demotion(ctx.driver, None) if config.name == "recommended" else None
        # Writable sessions: the one statement that would write is the no-op DROP (see the module's docstring).
        engine = ctx.engine(config, session_settings={"default_transaction_read_only": "off"})
        notes = [f"demoted by `{DEMOTE}` on the pooled session; each write is `{WRITE}`"]
        if fix is not None:
            if not hasattr(engine, "sync_engine"):
                await dispose(engine)
                return skipped(self.name, config, f"the probe runs {config.stack.label}'s demotion code by hand only")
            # recommend's code, as the app pastes it after its engine (a sync driver's: the probe's threaded
            # wrapper holds the app's own Engine)
            exec(fix.code, {"engine": engine if ctx.driver.async_ else engine.sync_engine})
            notes.append(f"with recommend's code: {fix.words}")
        bound = max(MIN_HANG_BOUND, ctx.timeout)
        outcomes: list[tuple[str, Any]] = []
        try:
            async with engine.connect() as conn:
                await asyncio.wait_for(conn.execute(text(DEMOTE)), bound)
                await conn.commit()  # SET outside SET LOCAL lasts for the session once committed
            for _ in range(WRITES):
                try:
                    async with engine.connect() as conn:
                        await asyncio.wait_for(conn.execute(text(WRITE)), bound)
                        await conn.commit()
                    outcomes.append(("ok", None))
                except Exception as exc:
                    outcomes.append(("error", app_error(exc)))
        except Exception as exc:
            return skipped(self.name, config, f"could not set up: {app_error(exc)}")
        finally:
            await dispose(engine)
        errors = [error for outcome, error in outcomes if outcome == "error"]
        other = next((e for e in errors if e is not None and "read-only transaction" not in e.message), None)
        if other is not None:  # not the demotion: nothing to say about the pool
            return skipped(self.name, config, f"the write failed otherwise: {other}")
        if all(outcome == "ok" for outcome, _ in outcomes[1:]):
            # The write that meets the demotion fails whatever the settings; what counts is that the pool let go.
            said = "the first write after the demotion failed; the pool let go and the next writes worked"
            return ScenarioResult(
                self.name, config.name, "ok", recovered=True if errors else None, reason=said, notes=notes
            )
        return ScenarioResult(
            self.name,
            config.name,
            "error",
            error=errors[0] if errors else None,
            recovered=False,
            reason=f"{len(errors)} of {WRITES} writes after the demotion failed: the pool kept the connection",
            notes=notes,
        )


register(DemotedPrimary())
