"""alembic's `context.config` in a migrations `env.py`: alembic.ini, found beside the migrations or above them,
with what the code sets on it (`config.set_main_option("sqlalchemy.url", settings.DATABASE_URL)`) before it reads
it back (`get_section`, `get_main_option`)."""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from pool_doctor.scan import containers
from pool_doctor.scan.conditions import all_of
from pool_doctor.scan.files import ConfigFiles, ParserV, SectionV
from pool_doctor.scan.finder import Module, read_source
from pool_doctor.scan.interpolation import Option, find, merge_ini
from pool_doctor.scan.kinds import (
    SV,
    Branches,
    DictV,
    ExternalRef,
    Frame,
    Interpreter,
    is_known,
    keyword,
    not_set,
    unknown,
    unset_as,
)
from pool_doctor.scan.textfiles import read_text

ALEMBIC_INI = "alembic.ini"
CONFIG = "alembic.context.config"
MAIN = "alembic"  # alembic's default ini section (config.config_ini_section)
URL_OPTION = "sqlalchemy.url"  # the option of that section env.py's engine_from_config takes the URL from


class AlembicConfig:
    def __init__(self, ev: Interpreter, files: ConfigFiles) -> None:
        self.ev = ev
        self.files = files
        self._found: dict[Path, list[tuple[str, tuple[str, str, Any]]]] = {}
        self._testing = False  # reading a test the code sets an option under: the file as it is (no recursion)

    def calls(self) -> dict[str, Callable[[ast.Call, Frame], Any]]:
        return {f"{CONFIG}.get_section": self.section, f"{CONFIG}.get_main_option": self.main_option}

    def ini(self, frame: Frame) -> ParserV:
        """alembic.ini as the module's code leaves it: the file, then each `set_main_option` /
        `set_section_option` on `context.config` (at module level or in a function: known or unknown)."""
        path = self.files.resolve(frame.module, ALEMBIC_INI)
        sections: dict[str, dict[str, Option]] = {}
        data = read_text(path)
        if data is not None and path is not None:
            merge_ini(sections, data, self.files.shown(path, 0).rsplit(":", 1)[0])
        set_by_code = () if self._testing else tuple(self._set_by_code(frame))
        return ParserV(sections, (ALEMBIC_INI,), set_by_code=set_by_code)

    def _set_by_code(self, frame: Frame) -> list[tuple[str, str, Any]]:
        module, found = frame.module, []
        for method, section_given in (("set_main_option", False), ("set_section_option", True)):
            for site in module.calls.get(method, []):
                call = site.call
                given = _arguments(call, ("section", "name", "value") if section_given else ("name", "value"))
                if not isinstance(call.func, ast.Attribute) or given is None:
                    continue
                owner = self.ev.force(self.ev.eval(call.func.value, Frame(module)))
                if not (isinstance(owner, ExternalRef) and owner.dotted == CONFIG):
                    continue
                # in a function (h's run_migrations_online), with its locals set before the call
                at = self.ev.frame_in(module, site.functions[-1], call) if site.functions else Frame(module)
                args = [self.ev.force(self.ev.eval(a, at)) for a in given]
                section = self._section_name(given[0], at) if section_given else MAIN
                option, value = args[-2], args[-1]
                if section is None or not (is_known(option) and isinstance(option.value, str)):
                    continue
                if not is_known(value) and isinstance(value, SV) and value.expr is None:
                    value = unknown(module, given[-1], env=value.env)
                # ConfigParser.set refuses what is no string (TypeError "option values must be strings"): a run
                # that goes on has the variable set
                if is_known(value) and not isinstance(value.value, str):
                    why = f"${value.env}" if value.env else None
                    value = unknown(module, given[-1], env=value.env, why=why)
                if site.conditions:  # set on one side of an `if` (SurfSense's `if database_url:`): the file's
                    value = self._conditional(module, site.conditions, value, at)  # value on the other
                found.append((section, option.value, value))
        return found

    def _conditional(
        self, module: Module, conditions: tuple[tuple[ast.expr, bool], ...], value: Any, frame: Frame
    ) -> Branches:
        """A value set under tests, as the branch where they hold (a variable's default there is the variable's:
        the test needs it set) and a not-set branch the file's value fills; the one in effect with no variable
        set, when the tests are decided."""
        texts, verdicts, tested = [], [], set()
        for test, holds in conditions:
            text = module.segment(test)
            texts.append(text if holds else f"not ({text})")
            self._testing = True  # (`if not config.get_main_option(...)`: the file's value, before the code's)
            try:
                found = self.ev.force(self.ev.eval(test, frame))
            finally:
                self._testing = False
            tested.add(getattr(found, "env", None))
            verdict, _ = containers.decide(self.ev, found)
            verdicts.append(None if verdict is None else verdict == holds)
        if isinstance(value, Branches):  # a name the tests narrow: its value on their side
            kept = [option for when, option in value.options if when in texts]
            value = self.ev.force(kept[0]) if len(kept) == 1 else value
        if containers.variable_text(value) and value.known and value.env in tested:  # the test needs it set
            value = SV(None, value.from_, value.env, known=False, expr=f"${value.env}")
        default = 0 if all(verdicts) else 1 if False in verdicts else None
        when = all_of(texts)
        return Branches([(when, value), (f"not ({when})", not_set())], default=default)

    def section(self, node: ast.Call, frame: Frame) -> Any:
        """`context.config.get_section(config.config_ini_section, {})`: alembic.ini's [alembic] section; when a
        program of the project loads that file and sets the URL before it runs the migrations (mage's database
        manager), the section as that program leaves it, and as the `alembic` command reads it."""
        name = self._section_name(node.args[0], frame) if node.args else None
        if name is None:
            return unknown(frame.module, node)
        parser = self.ini(frame)
        given_ini = self.files.resolve(frame.module, ALEMBIC_INI) is None  # not in the tree: given at run time (-c)
        if find(parser.sections, name) is None and not any(s == name for s, _, _ in parser.set_by_code):
            if given_ini and name == MAIN:  # (pybossa's alembictest.ini: the section is that file's)
                opaque = ["**(the ini alembic is given with -c)"]
                return DictV({URL_OPTION: self._given(frame, node)}, frame.module.where(node), opaque)
            if not (name == MAIN and _names_the_section(self.ev.force(self.ev.eval(node.args[0], frame)))):
                default = self.ev.arg(node, frame, 1, "default")
                return default if default is not None else SV(None, frame.module.where(node))
            opaque = ["**(the ini section alembic is named with -n)"]  # getitfixed's ini has no [alembic]
            alone: Any = DictV({URL_OPTION: self._named(frame, node)}, frame.module.where(node), opaque)
        else:
            alone = self.files.section_dict(SectionV(parser, name), frame, node)
        if given_ini and isinstance(alone, DictV):
            given = self._given(frame, node)
            alone.items[URL_OPTION] = unset_as(self.ev.force(alone.items.get(URL_OPTION, not_set())), given)
        runners = self._runners(frame) if name == MAIN and not parser.set_by_code else []
        if not runners:
            return alone
        options = [
            (
                f"run by {where}",
                self.files.section_dict(SectionV(replace(parser, set_by_code=(given,)), name), frame, node),
            )
            for where, given in runners
        ]
        default = 0 if len(options) == 1 else None  # several programs: none of them is the one in effect
        return Branches([*options, ("run by the alembic command", alone)], default=default)

    def _runners(self, frame: Frame) -> list[tuple[str, tuple[str, str, Any]]]:
        """`cfg.set_main_option("sqlalchemy.url", X)` in the project's files under alembic.ini's folder, on a
        Config they load (not `context.config`): each with where it is and what it sets."""
        ini = self.files.resolve(frame.module, ALEMBIC_INI)
        if ini is None:
            return []
        cached = self._found.get(ini)
        if cached is not None:
            return cached
        found: list[tuple[str, tuple[str, str, Any]]] = []
        folder = ini.parent.name.encode()
        for path in self.files.project.files:
            if path == frame.module.path or self.files.project.aside(path):
                continue  # a test's fixture is no way the migrations are run
            beside, near = path.is_relative_to(ini.parent), path.is_relative_to(ini.parent.parent)
            data = self.files.project.kept.get(path) or read_source(path)[0]
            if data is None or b"set_main_option" not in data or b"alembic" not in data:
                continue
            if not beside and folder not in data:
                continue  # a program next to the migrations' folder runs them when it names it (zou's plugins)
            if not (beside or near) and b"script_location" not in data:
                continue  # (elsewhere: one that tells alembic where they are, faf's bin/faf-migrate-db)
            module = self.files.project.parse(path, data)
            if module is None or not (beside or near or self._locates(module, frame.module.path.parent)):
                continue
            for site in module.calls.get("set_main_option", []):
                call = site.call
                given = _arguments(call, ("name", "value"))
                if given is None or not isinstance(call.func, ast.Attribute):
                    continue
                key = self.ev.force(self.ev.eval(given[0], Frame(module)))
                owner = self.ev.force(self.ev.eval(call.func.value, Frame(module)))
                if not is_known(key) or key.value != URL_OPTION or getattr(owner, "dotted", "") == CONFIG:
                    continue
                local = (
                    site.functions
                    and isinstance(given[1], ast.Name)
                    and any(given[1].id in self.ev.local_names(f) for f in site.functions)
                )
                value = (  # a function's own local is its business at run time
                    unknown(module, given[1]) if local else self.ev.force(self.ev.eval(given[1], Frame(module)))
                )
                found.append((module.where(call), (MAIN, URL_OPTION, value)))
        self._found[ini] = found
        return found

    def _locates(self, module: Module, folder: Path) -> bool:
        """Whether the module sets `script_location` to the migrations' folder (`os.path.dirname(
        inspect.getfile(migrations))`)."""
        for site in module.calls.get("set_main_option", []):
            given = _arguments(site.call, ("name", "value"))
            key = self.ev.force(self.ev.eval(given[0], Frame(module))) if given is not None else None
            if given is not None and is_known(key) and key.value == "script_location":
                value = self.ev.force(self.ev.eval(given[1], Frame(module)))
                if is_known(value) and Path(str(value.value)).resolve() == folder.resolve():
                    return True
        return False

    @staticmethod
    def _given(frame: Frame, node: ast.AST) -> SV:
        return SV(None, frame.module.where(node), known=False, expr=f"{URL_OPTION} of the ini alembic is given (-c)")

    @staticmethod
    def _named(frame: Frame, node: ast.AST) -> SV:
        """A main option of an alembic.ini with no [alembic] section: alembic runs with `-n SECTION`."""
        return SV(
            None, frame.module.where(node), known=False, expr=f"{URL_OPTION} of the ini section alembic is named (-n)"
        )

    def main_option(self, node: ast.Call, frame: Frame) -> Any:
        """`context.config.get_main_option("sqlalchemy.url")`."""
        option = self.ev.arg(node, frame, 0, "name")
        if not is_known(option):
            return unknown(frame.module, node)
        fallback = node.args[1] if len(node.args) > 1 else keyword(node, "default")  # (tg_bot's `default=...`)
        parser = self.ini(frame)
        if self._unnamed(parser, frame):  # (a program that loads the file and sets the URL adds the section)
            alone = self._named(frame, node)
        else:
            alone = self.files.option(parser, MAIN, str(option.value), None, fallback, frame, node, True)
        runners = self._runners(frame) if option.value == URL_OPTION and not parser.set_by_code else []
        if not runners:
            return alone
        options = [(f"run by {where}", value) for where, (_, _, value) in runners]  # zou's plugin migrations
        default = 0 if len(options) == 1 else None
        return Branches([*options, ("run by the alembic command", alone)], default=default)

    def _unnamed(self, parser: ParserV, frame: Frame) -> bool:
        """alembic.ini is in the tree, has no [alembic] section and the code sets none: the section alembic reads
        is the one `alembic -n SECTION` names, not known here."""
        in_tree = self.files.resolve(frame.module, ALEMBIC_INI) is not None
        return in_tree and find(parser.sections, MAIN) is None and not any(s == MAIN for s, _, _ in parser.set_by_code)

    def _section_name(self, node: ast.expr, frame: Frame) -> str | None:
        value = self.ev.force(self.ev.eval(node, frame))
        if _names_the_section(value):
            return MAIN
        return str(value.value) if is_known(value) else None


def _names_the_section(value: Any) -> bool:
    """`config.config_ini_section`: the section alembic was told to read (`-n`, "alembic" when not told)."""
    return bool(getattr(value, "dotted", "").endswith(".config_ini_section"))


def _arguments(call: ast.Call, names: tuple[str, ...]) -> list[ast.expr] | None:
    """The call's arguments in the order of alembic's Config method's parameters (`set_main_option(name, value)`,
    by position or by keyword), or None when they are not all given that way."""
    if any(isinstance(arg, ast.Starred) for arg in call.args) or len(call.args) > len(names):
        return None
    keywords = {kw.arg: kw.value for kw in call.keywords}
    given = [*call.args, *(keywords.get(name) for name in names[len(call.args) :])]
    if None in keywords or any(arg is None for arg in given) or len(keywords) != len(names) - len(call.args):
        return None
    return [arg for arg in given if arg is not None]
