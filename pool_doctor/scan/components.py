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


def included(project: Project, module: Module) -> bool:
    """Whether a django-split-settings include of the app's (not an example's, not a test's) runs the module."""
    return any(m is not module and not m.aside for m in _includers(project).get(module.path, []))


def imported_by_includers(project: Project, module: Module, name: str) -> Module | None:
    """The module whose include runs this one, where every such module imports the name from the same place
    (`os`: each gives it the same; a name one assigns may differ by module, and by when it is read)."""
    including = [m for m in _includers(project).get(module.path, []) if m is not module]
    targets = {m.imports.get(name) for m in including}
    return including[0] if including and len(targets) == 1 and None not in targets else None


def _includers(project: Project) -> dict[Path, list[Module]]:
    """Each file an include of the project runs, with the modules whose include runs it (read once a scan)."""
    if MENTION not in project.mentions:
        return {}
    found = _INCLUDERS.get(project)
    if found is None:
        found = _INCLUDERS[project] = _includes(project)
    return found


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
