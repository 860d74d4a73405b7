"""django-split-settings' `include("components/*.py", optional("local.py"), scope=globals())`: each file it
finds runs in the including settings module's names, in turn (django-split-settings 1.3 `tools.include`: a
glob relative to the including file, each match compiled and run with `exec` in the caller's globals). A file
the tree holds is read the same way, its statements over the names so far. A pattern that names files outside
the tree (`/etc/tower/conf.d/*.py`, written at deploy time), or that matches none where it must, may set any
setting: every upper-case name is then unknown. An `optional()` file of the tree's own that is missing (a
developer's `local_settings.py`) changes nothing.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path
from typing import Any

from pool_doctor.scan.components import INCLUDE as INCLUDE  # (what expressions.py dispatches on)
from pool_doctor.scan.components import globbed
from pool_doctor.scan.finder import dotted_parts
from pool_doctor.scan.flow import Flow
from pool_doctor.scan.kinds import Frame, Interpreter, is_known
from pool_doctor.scan.paths import settings_unknown

MAX_FILES = 50  # files one include reads, at most


def include(ev: Interpreter, flow: Flow, state: dict[str, Any], call: ast.Call, frame: Frame) -> dict[str, Any]:
    """The module's names as the include leaves them."""
    module = frame.module
    for arg in call.args:
        optional = isinstance(arg, ast.Call) and (dotted_parts(arg.func) or [""])[-1] == "optional" and arg.args
        given = ev.force(ev.eval(arg.args[0] if optional and isinstance(arg, ast.Call) else arg, frame))
        text = given.value if is_known(given) and isinstance(given.value, str) else None
        pattern = os.path.normpath(os.path.join(module.path.parent, text)) if text is not None else None
        found = sorted(p for p in ev.project.files if pattern and globbed(p, pattern))[:MAX_FILES]
        if not found and optional and text is not None and Path(pattern or "").is_relative_to(ev.project.base):
            continue  # a developer's own file the tree does not have
        if not found:
            state = settings_unknown(state, module.where(call), f"(what {module.segment(arg)} sets; not in the tree)")
            continue
        for path in found:
            included = ev.project.parse(path)
            if (
                included is None or included is module or (id(flow), path) in _RUNNING
            ):  # (a file that includes itself again)
                continue
            _RUNNING.add((id(flow), path))
            try:
                end, _ = flow.run_module(included, dict(state))
            finally:
                _RUNNING.discard((id(flow), path))
            state = end if end is not None else state
    return state


_RUNNING: set[tuple[int, Path]] = set()  # the files an include is running now, by the scan's flow
