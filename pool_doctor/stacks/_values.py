"""Reading a stack's own keys: merge over its defaults, name strangers, coerce numbers. No I/O."""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet

from pool_doctor.durations import parse_duration
from pool_doctor.errors import ConfigError
from pool_doctor.path.policy import Knob

_TRUE = frozenset({"true", "on", "yes", "1"})
_FALSE = frozenset({"false", "off", "no", "0"})


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
    """A boolean; TOML gives a bool, an environment or a console gives "true"/"off"/"1"."""
    value = values.get(key)
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ConfigError(f"{key} must be true or false, not {value!r}")
