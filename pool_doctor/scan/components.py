"""The settings module a django-split-settings component runs in: `include("components/*.py")` runs each file
it finds with `exec` in the including module's globals (django-split-settings 1.3 `tools.include`), so a name
the component reads and never binds is the including module's (pochtamt's components/database.py, whose
`os.environ` is settings.py's `os`). Read from the include calls' literal patterns."""

from __future__ import annotations

import ast
import fnmatch
import os
import weakref
from pathlib import Path

from pool_doctor.scan.finder import Module, Project, read_source
from pool_doctor.scan.names import last_name

INCLUDE = "split_settings.tools.include"
MENTION = b"split_settings"  # (scanner notes which projects have it: Project.mentions)

_INCLUDERS: weakref.WeakKeyDictionary[Project, dict[Path, list[Module]]] = weakref.WeakKeyDictionary()


def includer(project: Project, module: Module) -> Module | None:
    """The module whose include runs this one, where one module's does (several: each may give a name its own
    value)."""
    if MENTION not in project.mentions:
        return None
    found = _INCLUDERS.get(project)
    if found is None:
        found = _INCLUDERS[project] = _includes(project)
    including = found.get(module.path, [])
    return including[0] if len(including) == 1 and including[0] is not module else None


def _includes(project: Project) -> dict[Path, list[Module]]:
    found: dict[Path, list[Module]] = {}
    for file in project.files:
        data = project.kept.get(file) or read_source(file)[0]
        if data is None or MENTION not in data:
            continue
        module = project.parse(file, data)
        if module is None:
            continue
        for pattern in patterns(module):
            for path in (p for p in project.files if globbed(p, pattern)):
                including = found.setdefault(path, [])
                including.extend([] if module in including else [module])
    return found


def patterns(module: Module) -> list[str]:
    """The literal patterns of the module's include calls, each joined to the module's folder."""
    names = {name for name, target in module.imports.items() if target == INCLUDE}
    found = []
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Call) and last_name(node.func) in names:
            for arg in node.args:
                inner = arg.args[0] if isinstance(arg, ast.Call) and arg.args else arg  # (optional("local.py"))
                if isinstance(inner, ast.Constant) and isinstance(inner.value, str):
                    found.append(os.path.normpath(os.path.join(module.path.parent, inner.value)))
    return found


def globbed(path: Path, pattern: str) -> bool:
    """Whether `glob.glob(pattern)` finds `path`: each part matched alone (a `*` never crosses a `/`), a part
    starting with "." only by a pattern part that does too."""
    parts, wanted = path.parts, Path(pattern).parts
    return len(parts) == len(wanted) and all(
        (p == w) or (fnmatch.fnmatchcase(p, w) and (not p.startswith(".") or w.startswith(".")))
        for p, w in zip(parts, wanted)
    )
