"""A module that runs as a program of its own: a top-level `if __name__ == "__main__":`, a console script's
module (`aurweb.scripts.notify:main` in pyproject.toml, setup.cfg or setup.py), a script with no suffix. The
process it starts is its own, so what the app keeps once per process (a memo of engines by key) is made again
in it: its call is a pool though the web app's reaches the same key first (aurweb's scripts)."""

from __future__ import annotations

import ast

from pool_doctor.scan.files import read_text
from pool_doctor.scan.finder import Module, Project

SCRIPT_FILES = ("pyproject.toml", "setup.cfg", "setup.py")  # where a console script names its module


def own_process(project: Project, module: Module) -> bool:
    found = project.programs.get(module.path)
    if found is None:
        named = module.import_name or module.name
        scripts = (read_text(project.base / name) or "" for name in SCRIPT_FILES)
        found = not module.path.suffix or _runs_as_main(module.tree) or any(f"{named}:" in text for text in scripts)
        project.programs[module.path] = found
    return found


def _runs_as_main(tree: ast.Module) -> bool:
    return any(
        isinstance(stmt, ast.If)
        and isinstance(stmt.test, ast.Compare)
        and any(isinstance(n, ast.Name) and n.id == "__name__" for n in ast.walk(stmt.test))
        and any(isinstance(n, ast.Constant) and n.value == "__main__" for n in ast.walk(stmt.test))
        for stmt in tree.body
    )
