"""PasteDeploy app factories: Pyramid's `def main(global_config, **settings)`, started with
`pserve development.ini`. The settings are the options of the ini file's `[app:...]` section that starts the app,
as text (PasteDeploy 3.1 `loadwsgi.ConfigLoader.get_context`): not its `use`, not the `[DEFAULT]` section's
options (the factory's `global_config` has those, with `here` and `__file__`), not `set x` / `get x`. Which file is given is chosen at start-up, so with several the settings are
one branch per file, none of them the default; `%(here)s` is the file's folder, any other `%(name)s` unknown.
"""

from __future__ import annotations

import ast
import configparser
import contextlib
import posixpath
import re
import tomllib
from functools import cached_property
from pathlib import Path
from typing import Any

from pool_doctor.scan.finder import Project
from pool_doctor.scan.interpolation import Option, merge_ini
from pool_doctor.scan.kinds import SV, Branches, DictV
from pool_doctor.scan.syntax import parse_newer
from pool_doctor.scan.textfiles import read_text

NOT_SETTINGS = ("use", "filter-with", "require")
MAX_FILES = 40
GROUP = "paste.app_factory"


def _factory(target: str) -> tuple[str | None, str]:
    """`module:function` (an entry point's, a `call:` spec's) as the module and the function's name."""
    module, _, function = target.rpartition(":")
    return (module.strip() or None, function.strip())


def _signature(node: ast.AST) -> bool:
    """PasteDeploy's app_factory protocol: `factory(global_conf, **local_conf)`, the first given by its place
    (its name is the app's: zam's `make_app(global_settings, **settings)`)."""
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    args = node.args
    return len([*args.posonlyargs, *args.args]) == 1 and args.kwarg is not None


class PasteSettings:
    def __init__(self, project: Project) -> None:
        self.project = project
        self._modules: dict[int, str] = {}  # a factory function's module, by the function's node

    def starts(self, node: ast.AST) -> bool:
        """Whether `pserve` starts this function with an ini file's settings: it has an app factory's signature
        and an app section's `use` names it."""
        return _signature(node) and bool(self._sections_of(node))

    def bound(self, node: ast.AST) -> dict[str, Any]:
        """What `pserve` gives the app factory `node` it starts: its `**settings` each app section's options that
        start it, and its `global_config` that file's `[DEFAULT]` options with `here` and `__file__` (PasteDeploy
        3.1 loadwsgi's global_conf: atmcraft's `settings = global_config.copy()`); one branch per section. None
        where no section starts it."""
        found = self._sections_of(node) if _signature(node) else []
        if not found or not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or node.args.kwarg is None:
            return {}
        first, kwarg = [*node.args.posonlyargs, *node.args.args][0].arg, node.args.kwarg
        if len(found) == 1:
            return {kwarg.arg: found[0][1], first: found[0][2]}
        return {
            kwarg.arg: Branches([(label, items) for label, items, _ in found], default=None),
            first: Branches([(label, defaults) for label, _, defaults in found], default=None),
        }

    def _sections_of(self, node: ast.AST) -> list[tuple[str, DictV, DictV]]:
        """The sections that start this function: by its module and name where the entry point names the module
        (`main = c2cgeoform:main` is not a scaffold's `main`), by its name alone where none is declared."""
        name = getattr(node, "name", "")
        if (None, name) not in self._by_factory and not any(n == name for _, n in self._by_factory):
            return []
        if id(node) not in self._modules:  # (asked at each binding of the factory's **settings)
            found = (m.import_name for m in self.project.modules.values() if m and m.functions.get(name) is node)
            self._modules[id(node)] = next(found, "")
        module = self._modules[id(node)]
        return [*self._by_factory.get((module, name), []), *self._by_factory.get((None, name), [])]

    @cached_property
    def _by_factory(self) -> dict[tuple[str | None, str], list[tuple[str, DictV, DictV]]]:
        """The app sections of the project's ini files by the name of the function each starts: `use =
        egg:dist#entry` the function its paste.app_factory entry point names (`egg:dist` is entry "main"), or
        the entry's own name when none is declared in the tree; `call:module:function` that function
        (PasteDeploy 3.1 `loadwsgi`: `_loadegg`, `_loadfunc`). An `egg:` of a distribution the tree does not
        declare, or a template's (a scaffold's `egg:{{cookiecutter.package}}`), starts none of its functions."""
        dists, entries = self._declared()
        found: dict[tuple[str | None, str], list[tuple[str, DictV, DictV]]] = {}
        for path in self._files:
            if self.project.aside(path) == "examples":
                continue  # (a documentation's demo ini, crate's docs/source/nlp/: the operator's own starts the app)
            for label, use, items, defaults in self._sections(path):
                if use.startswith("config:"):  # another file's section, under this one's options (snovault's)
                    use, items = self._based_on(path, use.removeprefix("config:"), items)
                scheme, _, spec = use.partition(":")
                dist, _, entry = spec.partition("#")
                if "{{" in use or "{%" in use:  # a template's (a cookiecutter scaffold's), not an app of this tree
                    continue
                if scheme in ("egg", "package") and (not dists or _normal(dist) in dists):
                    target = entries.get(entry or "main")
                    key = _factory(target) if target else (None, entry or "main")
                elif scheme == "call":
                    key = _factory(spec)
                else:
                    continue
                found.setdefault(key, []).append((label, items, defaults))
        return found

    def _based_on(self, path: Path, spec: str, items: DictV) -> tuple[str, DictV]:
        """`use = config:base.ini#app`: that section's `use`, and its options with this section's over them
        (PasteDeploy 3.1 loadwsgi `_loadconfig`); "" when the file or section is not in the tree."""
        name, _, section = spec.partition("#")
        for label, use, base, _ in self._sections(path.parent / name) if (path.parent / name).is_file() else []:
            if label.endswith(f"([app:{section or 'main'}])") and not use.startswith("config:"):
                return use, DictV({**base.items, **items.items}, items.origin)
        return "", items

    def _declared(self) -> tuple[set[str], dict[str, str]]:
        """The distributions the tree declares (pyproject.toml's `[project] name`, setup.cfg's `[metadata]
        name`, setup.py's `setup(name=...)`), and their `paste.app_factory` entry points (`main = kotti:main`),
        name to `module:function`."""
        dists: set[str] = set()
        lines: list[str] = []
        for path in self._metadata("pyproject.toml"):
            with contextlib.suppress(tomllib.TOMLDecodeError, AttributeError):
                data = tomllib.loads(read_text(path) or "")
                project, poetry = data.get("project", {}), data.get("tool", {}).get("poetry", {})
                dists.add(_normal(str(project.get("name", ""))))
                group = project.get("entry-points", {}).get(GROUP, {})
                group = {**poetry.get("plugins", {}).get(GROUP, {}), **group}  # (poetry's plugins: c2cgeoform's)
                lines += [f"{name} = {target}" for name, target in group.items()]
        for path in self._metadata("setup.cfg"):
            parser = configparser.ConfigParser(interpolation=None)
            with contextlib.suppress(configparser.Error):
                parser.read_string(read_text(path) or "")
                dists.add(_normal(parser.get("metadata", "name", fallback="")))
                lines += parser.get("options.entry_points", GROUP, fallback="").splitlines()
        for path in self._metadata("setup.py"):
            with contextlib.suppress(SyntaxError, ValueError, TypeError):
                for node in ast.walk(parse_newer(read_text(path) or "", str(path))[0]):  # (rhodecode's is Python 2)
                    if isinstance(node, ast.keyword) and node.arg == "name" and isinstance(node.value, ast.Constant):
                        dists.add(_normal(str(node.value.value)))
                    for key, value in zip(node.keys, node.values) if isinstance(node, ast.Dict) else ():
                        if isinstance(key, ast.Constant) and key.value == GROUP:
                            listed = ast.literal_eval(value)
                            lines += [listed] if isinstance(listed, str) else list(listed)
                    if (
                        isinstance(node, ast.keyword)
                        and node.arg == "entry_points"
                        and isinstance(node.value, ast.Constant)
                    ):
                        lines += _group_lines(str(node.value.value))  # the ini-style text (snovault's)
        entries: dict[str, str] = {}
        for line in lines:
            name, _, target = str(line).partition("=")
            if target.strip() and "{{" not in target:  # (a scaffold's `{{cookiecutter.package}}:main`)
                entries.setdefault(name.strip(), target.strip())
        return dists - {""}, entries

    def _metadata(self, name: str) -> list[Path]:
        return sorted(path for path in self.project.walk(name) if path.name == name)[:MAX_FILES]

    @cached_property
    def _files(self) -> list[Path]:  # (walked once: the app factories and each get_appsettings read them)
        files = sorted(self.project.walk(".ini"))
        return files[:MAX_FILES]

    def _sections(self, path: Path) -> list[tuple[str, str, DictV, DictV]]:
        """Each app section: its label, its `use`, its options (not its [DEFAULT] ones), and the file's
        [DEFAULT] options with `here` and `__file__` (the factory's global_conf)."""
        text = read_text(path)
        if text is None:
            return []
        shown = self.project.display(path)
        sections: dict[str, dict[str, Option]] = {}
        merge_ini(sections, text, shown)
        defaults = sections.get("DEFAULT", {})
        first = next(iter(defaults.values()))[1] if defaults else shown
        conf = DictV({key: _value(raw, at, path) for key, (raw, at) in defaults.items()}, first)
        conf.items.update(here=SV(str(path.parent), first), __file__=SV(str(path), first))
        found = []
        for name, options in sections.items():
            if not name.startswith("app:") or "use" not in options:
                continue
            items: dict[str, Any] = {
                key: _value(raw, where, path)
                for key, (raw, where) in options.items()
                if key not in NOT_SETTINGS and key not in defaults and not key.startswith(("set ", "get "))
            }
            use, where = options["use"]
            sets = {
                key[4:].strip(): _value(raw, at, path) for key, (raw, at) in options.items() if key.startswith("set ")
            }
            own = DictV({**conf.items, **sets}, conf.origin) if sets else conf  # (`set x = ...` over [DEFAULT]'s x)
            found.append((f"pserve {shown} ([{name}])", use.strip(), DictV(items, where), own))
        return found

    def app_settings(self, uri: str, name: str | None) -> DictV | None:
        """`pyramid.paster.get_appsettings(config_uri, name=None)` (Pyramid 2.0 through plaster-pastedeploy,
        PasteDeploy's `appconfig`): the options of the file's `[app:NAME]` section (NAME after `#`, else "main")
        over its `[DEFAULT]` section's; the file is the tree's one ini file at that path (the command runs from
        the tree's root) or, when none is, the one whose path ends so. None when the scan cannot tell which."""
        wanted, _, section = uri.partition("#")
        wanted = posixpath.normpath(wanted.removeprefix("config:")).lstrip("./")
        files = self._files
        found = [p for p in files if p.relative_to(self.project.base).as_posix() == wanted]
        found = found or [p for p in files if p.as_posix().endswith(f"/{wanted}")]
        text = read_text(found[0]) if len(found) == 1 else None
        if text is None:
            return None
        sections: dict[str, dict[str, Option]] = {}
        merge_ini(sections, text, self.project.display(found[0]))
        options = sections.get(f"app:{name or section or 'main'}")
        if options is None:
            return None
        merged = {**sections.get("DEFAULT", {}), **options}
        items: dict[str, Any] = {
            key: _value(raw, where, found[0])
            for key, (raw, where) in merged.items()
            if key not in NOT_SETTINGS and not key.startswith(("set ", "get "))
        }
        return DictV(items, options.get("use", next(iter(merged.values())))[1])


def _group_lines(text: str) -> list[str]:
    """The `name = module:function` lines of the [paste.app_factory] section of setup()'s entry_points text."""
    found, inside = [], False
    for line in (raw.strip() for raw in text.splitlines()):
        if line.startswith("["):
            inside = line == f"[{GROUP}]"
        elif inside and "=" in line:
            found.append(line)
    return found


def _normal(dist: str) -> str:  # a distribution's name as packaging compares it (PEP 503)
    return re.sub(r"[-_.]+", "-", dist).lower().strip()


def _value(raw: str, where: str, path: Path) -> SV:
    """An option as PasteDeploy reads it: `%(here)s` is the file's folder and `%(__file__)s` the file (its
    defaults for every section); any other `%(name)s` is unknown here."""
    text = raw.replace("%(here)s", str(path.parent)).replace("%(__file__)s", str(path))
    if "%(" in text:
        return SV(None, where, known=False, expr=raw)
    return SV(text.replace("%%", "%"), where, source=raw)
