"""dynaconf's own settings object (`Dynaconf(settings_files=[...])`, outside Django: scan/frameworks.py reads the
Django one): the keys its TOML, YAML and JSON files give, each named by the variable that overrides it.

dynaconf 3.2/3.3, read in its source: keys are upper-cased (`settings.db_url` is `settings.DB_URL`); with
`environments=True` a file's sections are layered `[default]`, `[<envvar_prefix>]`, the current environment
(`ENV_FOR_DYNACONF`, "DEVELOPMENT" when unset) and `[global]`, later ones winning (utils.build_env_list), else
its top-level keys are the settings; a variable `<envvar_prefix>_<KEY>` (`DYNACONF_` by default, none with
`envvar_prefix=False`) overrides a key after the files. A file is looked for from the calling module's folder up
(utils/files.find_file also searches the working directory's). `settings.KEY` (or `.key`) and
`settings.get("KEY", default)` are read; a key no file gives is unknown (another loader or the environment may
set it), or `get`'s default.
"""

from __future__ import annotations

import ast
import json
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pool_doctor.scan.environment import Environment
from pool_doctor.scan.files import ConfigFiles, read_text
from pool_doctor.scan.kinds import SV, DictV, Frame, HolderV, Interpreter, ListV, is_known, unknown

HOLDER = "dynaconf.Dynaconf"
MAKERS = ("dynaconf.Dynaconf", "dynaconf.LazySettings", "dynaconf.base.LazySettings")
READS = {"get", "get_fresh"}  # `settings.get("KEY", default)`
SECTION = re.compile(r"^\s*\[\s*([^\]\s]+)\s*\]")


def calls(ev: Interpreter, files: ConfigFiles, environment: Environment) -> dict[str, Callable[[ast.Call, Frame], Any]]:
    def made(node: ast.Call, frame: Frame) -> Any:
        return settings(ev, files, environment, node, frame)

    return dict.fromkeys(MAKERS, made)


def settings(ev: Interpreter, files: ConfigFiles, environment: Environment, node: ast.Call, frame: Frame) -> Any:
    def given(name: str) -> Any:
        value = ev.arg(node, frame, None, name)
        return ev.force(value) if value is not None else None

    prefix = given("envvar_prefix")
    if prefix is not None and not is_known(prefix):
        return unknown(frame.module, node)
    prefix_text = "DYNACONF" if prefix is None else (str(prefix.value) if prefix.value else "")
    layered = given("environments")
    layers: list[str] | None = None
    if layered is not None and is_known(layered) and layered.value:
        current = environment.lookup("ENV_FOR_DYNACONF", SV("DEVELOPMENT", None), frame, node)
        if not is_known(current):
            return unknown(frame.module, node)
        layers = ["default", (prefix_text or "dynaconf").lower(), str(current.value).lower(), "global"]
    keys: dict[str, Any] = {}
    for text in _names(given("settings_files") or given("settings_file")):
        path = files.resolve(frame.module, text)
        read = _read(path) if path is not None else None
        if read is None:
            continue
        for key, (value, line) in _layered(read, layers).items():
            keys[key.upper()] = _valued(value, files.shown(path, line) if path else None)
    for key, value in list(keys.items()):
        name = f"{prefix_text}_{key}" if prefix_text else key
        keys[key] = keys[key.lower()] = environment.lookup(name, value, frame, node)
    return HolderV(HOLDER, keys, {name: () for name in READS})  # (its reads: `read`, through scan/calls.py)


def read(ev: Interpreter, holder: HolderV, node: ast.Call, frame: Frame) -> Any:
    """`settings.get("KEY", default)`: the key's value, else the default, else unknown."""
    key = ev.force(ev.arg(node, frame, 0, "key"))
    if not (is_known(key) and isinstance(key.value, str)):
        return unknown(frame.module, node)
    found = holder.attrs.get(key.value.upper())
    if found is not None:
        return found
    default = ev.arg(node, frame, 1, "default")
    return default if default is not None else unknown(frame.module, node)


def _names(value: Any) -> list[str]:
    """settings_files as given: a list, or a text of names separated by commas or semicolons."""
    if isinstance(value, ListV):
        return [str(item.value) for item in value.items if is_known(item) and isinstance(item.value, str)]
    if is_known(value) and isinstance(value.value, str):
        return [name.strip() for name in re.split(r"[,;]", value.value) if name.strip()]
    return []


def _read(path: Path) -> tuple[dict[str, Any], list[str]] | None:
    text = read_text(path)
    if text is None:
        return None
    try:
        if path.suffix == ".toml":
            document = tomllib.loads(text)
        elif path.suffix == ".json":
            document = json.loads(text)
        elif path.suffix in (".yaml", ".yml"):
            import yaml  # (PyYAML: the app's dependency; absent here, the file is not read)

            document = yaml.safe_load(text)
        else:
            return None
    except Exception:
        return None
    return (document, text.splitlines()) if isinstance(document, dict) else None


def _layered(read: tuple[dict[str, Any], list[str]], layers: list[str] | None) -> dict[str, tuple[Any, int]]:
    """The settings a file gives, each with its line: its top-level keys, or its sections in `layers`' order."""
    document, lines = read
    if layers is None:
        return {key: (value, _line(lines, None, key)) for key, value in document.items()}
    sections = {str(name).lower(): value for name, value in document.items() if isinstance(value, dict)}
    found: dict[str, tuple[Any, int]] = {}
    for layer in layers:
        for key, value in sections.get(layer, {}).items():
            found[key.upper()] = (value, _line(lines, layer, key))
    return found


def _line(lines: list[str], section: str | None, key: str) -> int:
    """The line a key is written on (in a TOML or YAML section when `section`), or 0."""
    inside = section is None
    for number, line in enumerate(lines, 1):
        header = SECTION.match(line)
        if header is not None:
            inside = section is not None and header.group(1).lower() == section
        elif section is not None and line and not line[0].isspace() and line.rstrip().endswith(":"):
            inside = line.rstrip()[:-1].strip().strip("'\"").lower() == section  # a YAML section
        elif inside and re.match(rf"\s*['\"]?{re.escape(key)}['\"]?\s*[:=]", line, re.IGNORECASE):
            return number
    return 0


def _valued(value: Any, where: str | None) -> Any:
    if isinstance(value, dict):
        return DictV({str(k): _valued(v, where) for k, v in value.items()}, where)
    if isinstance(value, list):
        return ListV([_valued(v, where) for v in value], where)
    if not isinstance(value, (str, int, float, bool, type(None))):
        value = str(value)
    if isinstance(value, str) and value.startswith("@"):  # `@format {env[X]}`, `@int 5`: worked out when read
        return SV(None, where, known=False, expr=value)
    return SV(value, where, source=json.dumps(value) if not isinstance(value, str) else value)
