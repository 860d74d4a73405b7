"""oslo.config options, as OpenStack's services configure their pools: `cfg.IntOpt("max_pool_size", default=5)`
registered under a group (`CONF.register_opts(opts, group="database")`) and read as `CONF.database.max_pool_size`.
The value is the option's default, written in the code; the service's .conf file changes it, and so does the
variable oslo.config's environment source reads, `OS_{GROUP}__{OPTION}` (oslo.config 9:
`_environment.EnvironmentConfigurationSource.get_name`). An option declared more than once, or with no default,
is unknown."""

from __future__ import annotations

import ast
from dataclasses import replace
from functools import cached_property
from typing import Any

from pool_doctor.scan.finder import Module, Project, dotted_parts, read_source
from pool_doctor.scan.kinds import SV, Frame, Interpreter, keyword, unknown

CONF = "oslo_config.cfg.CONF"
OPTIONS = {
    "Opt", "StrOpt", "IntOpt", "FloatOpt", "BoolOpt", "PortOpt", "ListOpt", "DictOpt", "HostAddressOpt", "URIOpt",
    "HostnameOpt", "IPOpt", "MultiStrOpt", "MultiOpt",
}  # fmt: skip
MAX_FILES = 400  # files that declare options, read for them


class OsloOptions:
    def __init__(self, ev: Interpreter, project: Project) -> None:
        self.ev, self.project = ev, project

    def read(self, dotted: str, attr: str, node: ast.AST | None, frame: Frame) -> Any:
        """`CONF.group.option`: the option's default with its variable (None: not an option the scan knows)."""
        if not dotted.startswith(CONF + ".") or "." in dotted[len(CONF) + 1 :]:
            return None
        declared = self._declared.get(attr, [])
        if len(declared) != 1:
            return None
        group = dotted[len(CONF) + 1 :]
        env = f"OS_{group.upper()}__{attr.upper()}"
        module, call = declared[0]
        default = keyword(call, "default")
        if default is None:
            return unknown(frame.module, node, env=env, why=f"[{group}] {attr} (no default)")
        value = self.ev.force(self.ev.eval(default, Frame(module)))
        return replace(value, env=value.env or env) if isinstance(value, SV) else value

    @cached_property
    def _declared(self) -> dict[str, list[tuple[Module, ast.Call]]]:
        """Every option the project declares, by name, with the call that declares it."""
        found: dict[str, list[tuple[Module, ast.Call]]] = {}
        read = 0
        for path in self.project.files:
            data = read_source(path)[0] if read < MAX_FILES else None
            if data is None or b"oslo_config" not in data or b"Opt(" not in data:
                continue
            read += 1
            module = self.project.parse(path, data)
            if module is None:
                continue
            for call in ast.walk(module.tree):
                if (
                    isinstance(call, ast.Call)
                    and (dotted_parts(call.func) or [""])[-1] in OPTIONS
                    and call.args
                    and isinstance(call.args[0], ast.Constant)
                    and isinstance(call.args[0].value, str)
                ):
                    found.setdefault(call.args[0].value, []).append((module, call))
        return found
