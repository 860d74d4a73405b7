"""`os.path.isfile(path)`, `os.path.exists(path)` and `os.path.isdir(path)` of a path inside the scanned tree:
whether the tree has it. enterprise-subsidy's settings end with `if os.path.isfile(join(dirname(abspath(__file__)),
'private.py')): from .private import *`, a developer's override no repository holds: the scan reads the settings
without it, as it reads `try: from .private import *` / `except ImportError: pass`. A path outside the tree
(`/etc/app/config.toml`), under a hidden folder (`.git`: a checkout has it, a deployment may not), relative to
the working directory, or one the scan cannot name is unknown. A package's own files are paths in the tree too:
`pkg_resources.resource_filename("atmcraft", "../development.ini")` (atmcraft's tests' settings file) and
`importlib.resources.files("app")`, of a package the tree has."""

from __future__ import annotations

import ast
import os
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from pool_doctor.scan.files import PathV, path_text
from pool_doctor.scan.kinds import SV, Frame, Interpreter, is_known, positional, unknown

TESTS: dict[str, Callable[[Path], bool]] = {"isfile": Path.is_file, "exists": Path.exists, "isdir": Path.is_dir}


def calls(ev: Interpreter, base: Path) -> dict[str, Any]:
    return {
        **{f"os.path.{name}": partial(exists, ev, base, test) for name, test in TESTS.items()},
        "pkg_resources.resource_filename": partial(resource, ev, 2),
        **{f"{lib}.files": partial(resource, ev, 1) for lib in ("importlib.resources", "importlib_resources")},
    }


def resource(ev: Interpreter, count: int, node: ast.Call, frame: Frame) -> Any:
    """The path of a file of a package the tree has (`resource_filename(package, name)`: beside the package's
    module, pkg_resources' DefaultProvider), or of the package's folder (`files(package)`); `count`: the call's
    arguments."""
    parts = positional(ev, node, frame) or []
    texts = [str(p.value) for p in parts if is_known(p) and isinstance(p.value, str)]
    found = ev.project.find_module(texts[0], frame.module.path) if len(texts) == len(node.args) == count else None
    if found is None:
        return unknown(frame.module, node)
    path = os.path.normpath(os.path.join(found.parent, *texts[1:]))
    return SV(path, frame.module.where(node)) if count == 2 else PathV(path, frame.module.where(node))


def exists(ev: Interpreter, base: Path, test: Callable[[Path], bool], node: ast.Call, frame: Frame) -> Any:
    parts = positional(ev, node, frame) or []
    text = path_text(parts[0]) if len(parts) == 1 and not getattr(parts[0], "cwd", False) else None
    path = Path(os.path.normpath(text)) if text is not None and os.path.isabs(text) else None
    below = path.relative_to(base).parts if path is not None and path.is_relative_to(base) else None
    untold = below is None or any(part.startswith(".") for part in below)  # (outside, or a checkout's `.git`)
    if path is None or untold or getattr(parts[0], "env", None):
        return unknown(frame.module, node)
    return SV(test(path), frame.module.where(node), source=frame.module.segment(node))
