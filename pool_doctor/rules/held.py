"""Held connections and open transactions (the "held transaction" row of DESIGN.md): the server's and the
pooler's limits on how long the app may keep a transaction or a statement going on a checked-out connection.

Each finding says what the app will see (its driver's own error), which code patterns meet the limit, and
how the pool turns connections held that way (or never returned) into requests that wait and fail, with this
pool's numbers. No pool setting shortens a transaction: the levers are the code and the monitor's `hold_warn`.
"""

from __future__ import annotations

from pool_doctor.durations import format_seconds
from pool_doctor.model import Finding, Severity
from pool_doctor.rules import codes
from pool_doctor.rules.facts import Facts
from pool_doctor.stacks import stack_of

# The code patterns that hold a connection in a transaction while doing something else (FIELD_NOTES 8).
HELD_PATTERNS = (
    "an await of an HTTP or LLM call inside `session.begin()` / `async with session`",
    "a FastAPI session dependency held for a whole StreamingResponse",
    "a `yield session` dependency without try/finally (the session is never closed when the route raises)",
)
FIND_THEM = (
    "`pool-doctor scan` flags these patterns in the code; `watch(engine, hold_warn=...)` names the line that "
    "held a connection too long in the running app."
)


def in_transaction(facts: Facts) -> list[Finding]:
    return _transaction_limit(
        facts,
        "idle_in_transaction_session_timeout",
        codes.IDLE_IN_TRANSACTION_TIMEOUT,
        "leaves its transaction open and idle",
        "FATAL 25P03",
    )


def transaction_age(facts: Facts) -> list[Finding]:
    return _transaction_limit(
        facts, "transaction_timeout", codes.TRANSACTION_TIMEOUT, "keeps one transaction open", "FATAL 25P04"
    )


def _transaction_limit(facts: Facts, name: str, code: codes.Code, what: str, sent: str) -> list[Finding]:
    setting = facts.read_server.setting(name)
    if not setting.is_on:
        return []
    error = facts.driver.held_error(name)
    return [
        Finding(
            code.code,
            Severity.WARNING,
            f"{name} {setting.display}: a connection held across slow work is killed mid-use",
            f"{setting.describe()}. A request that {what} longer than {setting.display} loses its connection "
            f"({sent}); its next "
            f"statement fails with {error}. It happens with {'; '.join(HELD_PATTERNS)}. pool_pre_ping cannot "
            f"help: it only runs at checkout. Keep transactions short and hold none across slow work. {FIND_THEM}",
            [setting.describe(), f"the app sees: {error}", *_exhaustion(facts)],
        )
    ]


def statement(facts: Facts) -> list[Finding]:
    return _statement_level(facts, "statement_timeout", codes.STATEMENT_TIMEOUT, "57014", "long statements")


def lock(facts: Facts) -> list[Finding]:
    return _statement_level(facts, "lock_timeout", codes.LOCK_TIMEOUT, "55P03", "long lock waits")


def _statement_level(facts: Facts, name: str, code: codes.Code, sqlstate: str, what: str) -> list[Finding]:
    setting = facts.read_server.setting(name)
    if not setting.is_on:
        return []
    error = facts.driver.held_error(name)
    return [
        Finding(
            code.code,
            Severity.INFO,
            f"{name} {setting.display} cancels {what}; the connection survives",
            f"{setting.describe()}. The statement fails with ERROR {sqlstate} ({error}) and the pooled connection stays usable; "
            "the transaction around it is aborted and must be rolled back.",
            [setting.describe(), f"the app sees: {error}"],
        )
    ]


# PgBouncer's janitor (src/janitor.c) closes the server connection, and the client's with it, with this reason.
POOLER_LIMITS = (
    ("idle_transaction_timeout", "a client idle inside a transaction", "idle transaction timeout"),
    ("query_timeout", "a query running", "query timeout"),
    ("transaction_timeout", "a transaction open (PgBouncer 1.25+)", "transaction timeout"),
)


def pooler_limits(facts: Facts) -> list[Finding]:
    """PgBouncer's own limits on held transactions and queries (all off by default)."""
    pooler = facts.pooler
    if pooler is None or not pooler.present:
        return []
    found = [(key, seconds, what, reason) for key, what, reason in POOLER_LIMITS if (seconds := pooler.seconds(key))]
    if not found:
        return []
    shortest = min(found, key=lambda item: item[1])
    return [
        Finding(
            codes.POOLER_HELD_LIMITS.code,
            Severity.WARNING,
            f"PgBouncer {shortest[0]} {format_seconds(shortest[1])} closes a connection held too long",
            "PgBouncer closes the server connection and the app's client connection with it, sending the "
            f'reason ("{shortest[3]}"); the app\'s next statement on that connection fails. It happens with '
            f"{'; '.join(HELD_PATTERNS)}. {FIND_THEM}",
            [
                f"{key} = {format_seconds(seconds)} ({what}), set in PgBouncer's config"
                for key, seconds, what, _ in found
            ]
            + _exhaustion(facts),
        )
    ]


def _exhaustion(facts: Facts) -> list[str]:
    """How held or leaked connections become failed requests in this pool: its size and its wait."""
    stack = stack_of(facts.settings.pool)
    most, keys = stack.max_connections(facts.settings.pool)
    after = stack.exhausted(facts.settings.pool)
    if after is None or most <= 0:
        return []
    return [f"{most} connections held or leaked ({keys}) and the next request waits: {after}"]
