"""~/.pgpass, read the way libpq reads it: only to know which passwords must never be printed.

Connecting, the driver reads the file itself (as the app's driver does).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path


def pgpass_file(env: Mapping[str, str]) -> Path | None:
    """$PGPASSFILE, else ~/.pgpass; None when it is not a private regular file (libpq ignores those too)."""
    home = env.get("HOME") or os.path.expanduser("~")
    path = Path(env.get("PGPASSFILE") or os.path.join(home, ".pgpass"))
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    if not stat.S_ISREG(mode) or mode & (stat.S_IRWXG | stat.S_IRWXO):
        return None  # libpq: "password file has group or world access; permissions should be u=rw (0600)"
    return path


def pgpass_entries(env: Mapping[str, str]) -> list[tuple[str, str, str, str, str]]:
    """The (host, port, database, user, password) lines of the password file, escapes undone."""
    path = pgpass_file(env)
    if path is None:
        return []
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    entries = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = _pgpass_fields(line)
        if len(fields) == 5:
            entries.append((fields[0], fields[1], fields[2], fields[3], fields[4]))
    return entries


def _pgpass_fields(line: str) -> list[str]:
    """Split on ':' the way libpq does: a backslash escapes the next character; the password ends at the
    next unescaped ':' (libpq's passwordFromFile ignores anything after it)."""
    fields: list[str] = []
    current: list[str] = []
    chars = iter(line)
    for char in chars:
        if char == "\\":
            current.append(next(chars, "\\"))  # a trailing backslash stays itself
        elif char == ":":
            fields.append("".join(current))
            current = []
            if len(fields) == 5:
                return fields
        else:
            current.append(char)
    fields.append("".join(current))
    return fields
