"""python-dotenv's `dotenv_values(path)`: the variables a dotenv file in the tree sets, as a dict, without
touching the environment (Nominatim's defaults file, read where no variable is set). python-dotenv 1.0:
with no path it reads the `.env` that `find_dotenv()` finds, walking up from the calling file; a value with
`${VAR}` in it is interpolated when read, so it is unknown here."""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

from pool_doctor.scan import dynaconfs
from pool_doctor.scan.environment import Environment
from pool_doctor.scan.files import ConfigFiles, path_text
from pool_doctor.scan.kinds import SV, DictV, Frame, Interpreter, unknown


def calls(ev: Interpreter, files: ConfigFiles, environment: Environment) -> dict[str, Callable[[ast.Call, Frame], Any]]:
    def handler(node: ast.Call, frame: Frame) -> Any:
        return dotenv_values(ev, files, environment, node, frame)

    # (and dynaconf's settings object, which reads its own files and variables the same way)
    return {**{f"dotenv{at}.dotenv_values": handler for at in ("", ".main")}, **dynaconfs.calls(ev, files, environment)}


def dotenv_values(ev: Interpreter, files: ConfigFiles, environment: Environment, node: ast.Call, frame: Frame) -> Any:
    given = ev.arg(node, frame, 0, "dotenv_path")
    if given is None and not node.args and not node.keywords:
        found = environment.near(frame.module)
    else:
        text = path_text(given)
        path = files.resolve(frame.module, text) if text is not None else None
        if path is None:
            return unknown(frame.module, node)  # a file the tree does not hold, or a path the scan cannot name
        found = environment.read_file(path)
    items: dict[str, Any] = {
        name: SV(raw, where, source=raw) if "${" not in raw else SV(None, where, known=False, expr=raw)
        for name, (raw, where) in found.items()
    }
    return DictV(items, frame.module.where(node))
