"""PasteDeploy app factories: Pyramid's `def main(global_config, **settings)`, started with
`pserve development.ini`. The settings are the options of the ini file's `[app:...]` section that starts the app,
as text (PasteDeploy 3.1 `loadwsgi.ConfigLoader.get_context`): not its `use`, not the `[DEFAULT]` section's
options, not `set x` / `get x`. Which file is given is chosen at start-up, so with several the settings are
one branch per file, none of them the default; an option with `%(here)s` and its kin is unknown.
"""

from __future__ import annotations

import ast
from functools import cached_property
from pathlib import Path
from typing import Any

from pool_doctor.scan.files import merge_ini, read_text
from pool_doctor.scan.finder import Project
from pool_doctor.scan.interpolation import Option
from pool_doctor.scan.kinds import SV, Branches, DictV

FIRST = ("global_config", "global_conf", "_")  # PasteDeploy's app_factory protocol: (global_conf, **local_conf)
NOT_SETTINGS = ("use", "filter-with", "require")
MAX_FILES = 40


def is_app_factory(node: ast.AST) -> bool:
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    args = node.args
    first = [*args.posonlyargs, *args.args][:1]
    return bool(first) and first[0].arg in FIRST and args.kwarg is not None and len(args.args) == 1


class PasteSettings:
    def __init__(self, project: Project) -> None:
        self.project = project

    @cached_property
    def settings(self) -> Any:
        """What an app factory's `**settings` holds: each app section's options (None: no ini has one)."""
        found = [section for path in self._files() for section in self._sections(path)]
        if len(found) > 1:
            return Branches(found, default=None)
        return found[0][1] if found else None

    def _files(self) -> list[Path]:
        files = sorted(self.project.walk(".ini"))
        return files[:MAX_FILES]

    def _sections(self, path: Path) -> list[tuple[str, DictV]]:
        text = read_text(path)
        if text is None:
            return []
        shown = self.project.display(path)
        sections: dict[str, dict[str, Option]] = {}
        merge_ini(sections, text, shown)
        defaults = sections.get("DEFAULT", {})
        found = []
        for name, options in sections.items():
            if not name.startswith("app:") or "use" not in options:
                continue
            items: dict[str, Any] = {
                key: _value(raw, where)
                for key, (raw, where) in options.items()
                if key not in NOT_SETTINGS and key not in defaults and not key.startswith(("set ", "get "))
            }
            found.append((f"pserve {shown} ([{name}])", DictV(items, options["use"][1])))
        return found


def _value(raw: str, where: str) -> SV:
    if "%(" in raw:  # interpolated when the file is read (`%(here)s`: its folder where the app runs)
        return SV(None, where, known=False, expr=raw)
    return SV(raw, where, source=raw)
