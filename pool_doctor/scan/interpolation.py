"""configparser's reading of an ini's text into sections (`merge_ini`), and its interpolation of an option's
text: BasicInterpolation's `%(name)s`, ExtendedInterpolation's `${name}` and `${section:name}`, from the options
of its section (and DEFAULT)."""

from __future__ import annotations

import re
from typing import Any

from pool_doctor.scan.kinds import SV, is_known

INTERPOLATION = re.compile(r"%\(([^)]+)\)s")
EXTENDED = re.compile(r"\$\{([^}]+)\}")
INI_LINE = re.compile(r"^([^=:\s][^=:]*?)\s*[=:]\s?(.*)$")
Option = tuple[str, str]  # an option's text and where it is written


def find(mapping: dict[str, Any], key: str) -> Any:
    if key in mapping:
        return mapping[key]
    lowered = key.lower()
    return next((value for name, value in mapping.items() if name.lower() == lowered), None)


def interpolate(raw: str, options: dict[str, Option]) -> str:
    def one(match: re.Match[str]) -> str:
        found = find(options, match.group(1))
        return str(found[0]) if found is not None else match.group(0)

    return INTERPOLATION.sub(one, raw).replace("%%", "%")


def interpolate_extended(raw: str, options: dict[str, Option], sections: dict[str, dict[str, Option]]) -> str:
    """configparser.ExtendedInterpolation: `${option}` from the section (or DEFAULT), `${section:option}`."""

    def one(match: re.Match[str]) -> str:
        section, _, option = match.group(1).rpartition(":")
        within = options if not section else {**(find(sections, "DEFAULT") or {}), **(find(sections, section) or {})}
        found = find(within, option)
        return str(found[0]) if found is not None else match.group(0)

    for _ in range(10):  # configparser's MAX_INTERPOLATION_DEPTH
        expanded = EXTENDED.sub(one, raw)
        if expanded == raw:
            break
        raw = expanded
    return raw.replace("$$", "$")


def unfilled(section: str, option: str, raw: str, where: str, options: dict[str, Option], given: dict[str, Any]) -> Any:
    """An option whose `%(name)s` the scan cannot fill: the value the code sets that name to at run time when
    the option is that placeholder alone (alembic.ini's `sqlalchemy.url = %(DB_URI)s` with `set_section_option`),
    else unknown; unknown too when nothing gives the name (configparser raises InterpolationMissingOptionError).
    None: every name is known (`interpolate` fills them)."""
    for name in INTERPOLATION.findall(raw):
        value = find(given, name)
        if value is not None and not is_known(value):
            if raw.strip() == f"%({name})s":
                return value
            why = f"[{section}] {option} = {raw}, {name} set at run time"
            return SV(None, where, getattr(value, "env", None), known=False, expr=why)
        if value is None and find(options, name) is None:
            return SV(None, where, known=False, expr=f"[{section}] {option} = {raw}: nothing gives {name}")
    return None


def merge_ini(sections: dict[str, dict[str, Option]], text: str, shown: str) -> None:
    section: dict[str, Option] | None = None
    last: str | None = None
    for number, line in enumerate(text.splitlines()[:20000], 1):
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            section = sections.setdefault(stripped[1:-1].strip(), {})
            last = None
            continue
        if section is None:
            continue
        if line[:1] in (" ", "\t") and last is not None:  # a continuation line
            raw, where = section[last]
            section[last] = (f"{raw}\n{stripped}".strip(), where)
            continue
        match = INI_LINE.match(stripped)
        if match:
            last = match.group(1).strip()
            section[last] = (match.group(2).strip(), f"{shown}:{number}")
