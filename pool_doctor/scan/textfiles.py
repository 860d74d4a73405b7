"""A configuration file's text, read bounded: one larger than MAX_FILE is data, not configuration."""

from __future__ import annotations

from pathlib import Path

MAX_FILE = 1_000_000


def read_text(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        if path.stat().st_size > MAX_FILE:
            return None
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
