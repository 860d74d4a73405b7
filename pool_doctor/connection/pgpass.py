"""~/.pgpass, read the way libpq reads it: only to know which passwords must never be printed.

Connecting, the driver reads the file itself (as the app's driver does).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path


def pgpass_file(env: Mapping[str, str], private_only: bool = True) -> Path | None:
    """$PGPASSFILE, else ~/.pgpass; None when it is not a regular file, or (`private_only`) not a private one:
    libpq ignores those, asyncpg reads them with a warning."""
    home = env.get("HOME") or os.path.expanduser("~")
    path = Path(env.get("PGPASSFILE") or os.path.join(home, ".pgpass"))
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    if not stat.S_ISREG(mode) or (private_only and mode & (stat.S_IRWXG | stat.S_IRWXO)):
        return None  # libpq: "password file has group or world access; permissions should be u=rw (0600)"
    return path


def pgpass_entries(env: Mapping[str, str], private_only: bool = True) -> list[tuple[str, str, str, str, str]]:
    """The (host, port, database, user, password) lines of the password file, escapes undone (a regular file
    of at most 1 MiB: a FIFO is never waited on)."""
    from pool_doctor.files import read_bytes

    path = pgpass_file(env, private_only)
    if path is None:
        return []
    try:
        text = read_bytes(path, "password file").decode("utf-8", errors="replace")
    except Exception:  # unreadable or too big: the driver will say what it makes of it
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
