"""Pure rules: `(Facts) -> list[Finding]`, one module per family. No I/O anywhere below this package."""

from __future__ import annotations

from collections.abc import Callable

from pool_doctor.model import Finding
from pool_doctor.rules import budget, network, path, platform, pooler, timeouts
from pool_doctor.rules.facts import Facts, idle_limits

Rule = Callable[[Facts], list[Finding]]

FAMILIES: tuple[Rule, ...] = (path.check, timeouts.check, network.check, budget.check, pooler.check, platform.check)
# The same rules split for an app with several pools (--app): those run once per pool, and those about
# every pool together (the connection budget, the pooler's own limits), run once.
POOL_FAMILIES: tuple[Rule, ...] = (path.check, timeouts.check, network.check, pooler.check_pool, platform.check)
APP_FAMILIES: tuple[Rule, ...] = (budget.check, pooler.check_app)


def evaluate(facts: Facts, families: tuple[Rule, ...] = FAMILIES) -> list[Finding]:
    """Every family's findings, most severe first (stable within a severity)."""
    findings = [finding for family in families for finding in family(facts)]
    return sorted(findings, key=lambda f: -f.severity.rank)


__all__ = ["APP_FAMILIES", "FAMILIES", "POOL_FAMILIES", "Facts", "Rule", "evaluate", "idle_limits"]
