"""Durations as PostgreSQL and people write them: `5s`, `5min`, `1500` (in the setting's own unit)."""

from __future__ import annotations

import re

# PostgreSQL's time units (guc.c, memory_unit_conversion_table's time twin), in seconds.
_UNIT_SECONDS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*([a-z]*)\s*$", re.IGNORECASE)


def unit_seconds(unit: str | None) -> float | None:
    """Seconds in one of a setting's units (`pg_settings.unit`), or None for a unit that is not a time."""
    if unit is None:
        return None
    return _UNIT_SECONDS.get(unit.strip())


def parse_duration(text: str, default_unit: str | None = "s") -> float:
    """Parse `5s`, `2min`, `1500` (taken in `default_unit`) into seconds.

    Raises ValueError with a plain message for anything else.
    """
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration (examples: 350, 5s, 5min, 1h)")
    number, unit = float(match.group(1)), match.group(2).lower() or default_unit
    factor = unit_seconds(unit)
    if factor is None:
        raise ValueError(f"{text!r} has an unknown time unit {unit!r} (use us, ms, s, min, h or d)")
    return number * factor


def format_seconds(seconds: float | None) -> str:
    """A short human form: 0.5s, 5s, 5min, 1h30min, 2d. None and 0 read as 'off'."""
    if seconds is None or seconds <= 0:
        return "off"
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    if seconds < 60 or seconds % 1 or (seconds < 3600 and seconds % 60):
        return f"{seconds:g}s"  # 350s reads better than 5min50s: middlebox limits are documented in seconds
    parts = []
    rest = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(parts)


# The units SHOW may print a time setting in, largest first (guc.c's time unit conversion table).
_SHOW_UNITS = (("d", 86400.0), ("h", 3600.0), ("min", 60.0), ("s", 1.0), ("ms", 1e-3), ("us", 1e-6))


def show_value(seconds: float, unit: str | None) -> str:
    """A time setting as PostgreSQL's SHOW prints it: the largest unit that holds the value whole, no
    smaller than the setting's own unit; 0 and negatives (off, -1) bare. `show_value(300, "ms")` is "5min"."""
    base = unit_seconds(unit) or 1.0
    count = round(seconds / base)
    if count <= 0:
        return str(count)
    for name, size in _SHOW_UNITS:
        if size >= base and round(size / base) and count % round(size / base) == 0:
            return f"{count // round(size / base)}{name}"
    return f"{count}{unit or ''}"
