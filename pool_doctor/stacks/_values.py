"""Reading a stack's own keys: merge over its defaults, name strangers, coerce numbers. No I/O."""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from typing import Any

from pool_doctor.durations import parse_duration
from pool_doctor.errors import ConfigError
from pool_doctor.path.policy import Knob


def number_not_bool(value: Any) -> Any:
    """A pydantic field's `before` check: lax mode reads true as 1, but `pool_recycle = true` is a typo, not
    one second. Strict types would also refuse the environment's "1800", so only booleans are turned away."""
    if isinstance(value, bool):
        raise ValueError(f"a number is needed, not {str(value).lower()}")
    return value


def merged(defaults: Mapping[str, object], values: Mapping[str, object]) -> dict[str, object]:
    """The user's keys over the library's defaults (the user's wins, None included: None can mean 'forever')."""
    return {**defaults, **values}


def unknown(values: Mapping[str, object], known: AbstractSet[str]) -> list[str]:
    """The keys of `values` the library does not take, sorted, so a warning names each once."""
    return sorted(key for key in values if key not in known)


def lever_key(bound: tuple[float, Knob] | None, default: str) -> str:
    """The key that sets a driver-level bound: the one in force, else where the stack would take it."""
    return bound[1].key if bound is not None else default


def version_tuple(text: str) -> tuple[int, int]:
    """(0, 32) from "asyncpg 0.32.0", "0.31.0" or "0.30.0rc1"; unreadable parts read as 0."""
    numbers = text.split()[-1].split(".")
    parts = ["".join(ch for ch in part if ch.isdigit()) or "0" for part in numbers[:2]]
    return int(parts[0]), (int(parts[1]) if len(parts) > 1 else 0)


def seconds(values: Mapping[str, object], key: str) -> float | None:
    """A duration in seconds: a number, or a string such as "600" or "10min"; None stays None."""
    value = values.get(key)
    if value is None:
        return None
    if isinstance(value, bool):  # a bool is an int in Python; True seconds is a typo, not 1 s
        raise ConfigError(f"{key} must be a number of seconds, not {value!r}")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return parse_duration(value)
        except ValueError as exc:
            raise ConfigError(f"{key}: {exc}") from None
    raise ConfigError(f"{key} must be a number of seconds, not {type(value).__name__}")


def count(values: Mapping[str, object], key: str) -> int | None:
    """A whole number (a connection count); None stays None."""
    value = values.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        raise ConfigError(f"{key} must be a whole number, not {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise ConfigError(f"{key} must be a whole number, not {value!r}")


def flag(values: Mapping[str, object], key: str) -> bool:
    """A boolean, as TOML writes one; None is false. "yes" or 1 is refused: the library would read any
    non-empty string as true, "false" included, so a string here is a mistake, not a spelling."""
    value = values.get(key)
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    raise ConfigError(f"{key} must be true or false, not {value!r}")


def table(values: Mapping[str, object], key: str) -> dict[str, object]:
    """A sub-table (psycopg_pool's kwargs, Django's OPTIONS) as a dict; absent or None is empty."""
    value = values.get(key)
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return {str(name): item for name, item in value.items()}
    raise ConfigError(f"{key} must be a table of keys, not {type(value).__name__} {value!r}")


def sizes(values: Mapping[str, object], *, high_default_low: bool = False, prefix: str = "") -> tuple[int, int]:
    """(min_size, max_size) as the pool checks them at creation: min at least 0, max at least min and above 0.
    `high_default_low`: a None max_size means max_size = min_size (psycopg_pool). `prefix` names the keys
    where the user writes them (OPTIONS.pool.)."""
    low = count(values, "min_size") or 0
    high = count(values, "max_size")
    if high is None and high_default_low:
        high = low
    if low < 0:
        raise ConfigError(f"{prefix}min_size must be 0 or more, not {low}")
    # psycopg_pool's null pools take min_size = max_size = 0 (no limit), which ConnectionPool refuses; the
    # values alone do not say which class the app builds, so both are let through.
    if high is None or high < 0 or (high == 0 and not (high_default_low and low == 0)):
        raise ConfigError(f"{prefix}max_size must be 1 or more, not {high!r}")
    if low > high:
        raise ConfigError(f"{prefix}min_size {low} is above {prefix}max_size {high}: the pool refuses to start")
    return low, high


def flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested keys as dots: {"kwargs": {"tcp_user_timeout": 1}} -> {"kwargs.tcp_user_timeout": 1}."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def unflatten(values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        node = out
        *parents, last = key.split(".")
        for part in parents:
            if not isinstance(node.get(part), dict):
                # Keys under it make it a table: Django's OPTIONS["pool"] = True (psycopg_pool's defaults), or
                # kwargs=None in the app's code with a recommended kwargs.tcp_user_timeout.
                node[part] = {}
            node = node[part]
        if isinstance(node.get(last), dict) and value is True:
            continue  # the same `pool = true` after its keys: the dict already says it
        node[last] = value
    return out
