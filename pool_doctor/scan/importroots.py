"""The folder a module of a tree with no packages is imported from, as the project's own imports name it: in a
service whose `main.py` runs `from app.repository.database import engine`, database.py is `app.repository.database`
from the service's folder, so its `from settings import X` finds the service's settings.py, not app/settings.py
beside it (round 75's movie_service)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path
from weakref import WeakKeyDictionary

IMPORT = re.compile(rb"^[ \t]*(?:from[ \t]+([A-Za-z_][\w.]*)[ \t]+import\b|import[ \t]+([A-Za-z_][\w.]*))", re.M)
_IMPORTED: WeakKeyDictionary[object, set[str]] = WeakKeyDictionary()  # by project: every name an import names


def imported_from(
    project: object, files: Iterable[Path], read: Callable[[Path], bytes | None], near: Path
) -> Path | None:
    """The folder `near` is imported from: the one above which its dotted name (or its package's), at least two
    names long, is imported by some file of the project, the longest such; None when none is."""
    names = _IMPORTED.get(project)
    if names is None:  # (read once a scan, only where a name is ambiguous this way)
        names = set()
        for path in files:
            data = read(path)
            names.update((m.group(1) or m.group(2)).decode() for m in IMPORT.finditer(data or b""))
        _IMPORTED[project] = names
    parts = [*near.parent.parts, near.stem] if near.name != "__init__.py" else list(near.parent.parts)
    for depth in range(len(parts) - 1, 1, -1):
        dotted = parts[-depth:]
        if ".".join(dotted) in names or ".".join(dotted[:-1]) in names:
            return Path(*parts[:-depth])
    return None
