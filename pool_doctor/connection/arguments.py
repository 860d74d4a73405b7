"""What each driver's connect arguments accept, checked before any connection: a value the driver would refuse
(or take and then misbehave on: NaN seconds, an infinite timeout) is the user's to fix, exit 2, never a
"cannot connect" (exit 3). Each driver in drivers.py names its table here; keys not in a table pass as given.

A check returns what is wrong with a value, or None.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

Check = Callable[[Any], str | None]

SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
SESSION_ATTRS = ("any", "read-write", "read-only", "primary", "standby", "prefer-standby")


def _number(value: Any) -> float | None:
    """A number as the drivers read one (asyncpg: float(value), so "30" too); None when it is none."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return None


def seconds(positive: bool = True, none_ok: bool = False) -> Check:
    """A finite number of seconds, above 0 (or at least 0)."""

    def check(value: Any) -> str | None:
        if value is None and none_ok:
            return None
        number = _number(value)
        if number is None or not math.isfinite(number) or number < 0 or (positive and number == 0):
            return "must be a finite number of seconds " + ("above 0" if positive else "of 0 or more")
        if number > 31_536_000:
            return "must be at most a year of seconds (31536000)"
        return None

    return check


def whole(low: int = 0, high: int = 2**31 - 1, text_ok: bool = True) -> Check:
    """A whole number from `low` to `high`; `text_ok`: also as digits in a string (libpq reads text)."""

    def check(value: Any) -> str | None:
        if isinstance(value, bool):
            return f"must be a whole number from {low} to {high}"
        digits = value.strip().lstrip("-") if isinstance(value, str) else ""
        if text_ok and digits.isascii() and digits.isdigit():  # ("²".isdigit() is true; int() refuses it)
            value = int(value.strip())
        if not isinstance(value, int) or not low <= value <= high:
            return f"must be a whole number from {low} to {high}" + ("" if text_ok else " (not text)")
        return None

    return check


def choice(options: tuple[str, ...], flags: bool = False) -> Check:
    """One of `options` (`flags`: or true / false, or an object the app's code made: asyncpg's SSLContext)."""

    def check(value: Any) -> str | None:
        if flags and not isinstance(value, str | int | float | list | dict):
            return None
        if isinstance(value, str) and value in options:
            return None
        return "must be one of " + ", ".join(options) + (", true or false" if flags else "")

    return check


def flag(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def text_table(value: Any) -> str | None:
    """asyncpg's server_settings: a table of setting names to text values."""
    if not isinstance(value, Mapping):
        return 'must be a table of settings, with text values: {tcp_keepalives_idle = "60"}'
    for name, item in value.items():
        if not isinstance(item, str):
            shown = repr(item) if len(repr(item)) <= 40 else repr(item)[:40] + "..."
            return f"holds {name} = {shown}: each value must be text" + (
                f' ("{item}")' if isinstance(item, int | float) and not isinstance(item, bool) else ""
            )
    return None


def threshold(value: Any) -> str | None:
    """psycopg's prepare_threshold: a whole number of 0 or more, or None ("none" in a config file)."""
    if value is None or (isinstance(value, str) and value.lower() == "none"):
        return None
    return whole(0, text_ok=False)(value) and 'must be a whole number of 0 or more, or "none"'


LIBPQ: Mapping[str, Check] = {
    "connect_timeout": whole(0),
    "keepalives": whole(0, 1),
    "keepalives_idle": whole(0),
    "keepalives_interval": whole(0),
    "keepalives_count": whole(0),
    "tcp_user_timeout": whole(0),
    "sslmode": choice(SSLMODES),
    "target_session_attrs": choice(SESSION_ATTRS),
}
PSYCOPG: Mapping[str, Check] = {**LIBPQ, "prepare_threshold": threshold, "autocommit": flag}
ASYNCPG: Mapping[str, Check] = {
    "timeout": seconds(),
    "command_timeout": seconds(none_ok=True),
    "statement_cache_size": whole(0, text_ok=False),
    "max_cached_statement_lifetime": seconds(positive=False),
    "max_cacheable_statement_size": whole(0, text_ok=False),
    "prepared_statement_cache_size": whole(0),  # SQLAlchemy's adapter reads it with int()
    "server_settings": text_table,
    "ssl": choice(SSLMODES, flags=True),
    "direct_tls": flag,
    "target_session_attrs": choice(SESSION_ATTRS),
}


def socket_seconds(value: Any) -> str | None:
    """pg8000's timeout, given to socket.settimeout: a number (not text) above 0 (0 makes it non-blocking)."""
    if isinstance(value, str):
        return "must be a number of seconds above 0 (not text)"
    return seconds(none_ok=True)(value)


def startup_params(value: Any) -> str | None:
    """pg8000's startup_params: text (or bytes) values, none of the keywords it sends itself."""
    if not isinstance(value, Mapping):
        return 'must be a table of settings, with text values: {tcp_keepalives_idle = "60"}'
    own = sorted({"user", "database", "application_name", "replication"} & set(value))
    if own:
        return f"holds {own[0]}: pg8000 refuses it there (it is a connect argument of its own)"
    texts = {name: item for name, item in value.items() if not isinstance(item, bytes | bytearray) and item is not None}
    return text_table(texts)  # (pg8000 sends bytes as they are, and leaves out a None)


PG8000: Mapping[str, Check] = {  # (tcp_keepalive: pg8000 tests it for truth, any value)
    "timeout": socket_seconds,
    "startup_params": startup_params,  # pg8000 refuses a value that is not text ("can't be of type <class 'int'>")
}


def problems(args: Mapping[str, Any], checks: Mapping[str, Check]) -> list[tuple[str, str]]:
    """(key, what is wrong) for each argument its driver would refuse, in the order given."""
    found = []
    for key, value in args.items():
        check = checks.get(key)
        problem = check(value) if check is not None else None
        if problem:
            found.append((key, problem))
    return found
