"""A script's command-line options, as the values its pool reads when none is given: argparse's parser (and
configargparse's, whose `env_var=` names a variable that sets the option), read from its `add_argument` calls.

`args = parser.parse_args()` holds one attribute per option (its `dest`: `--db-url` is `db_url`), the option's
`default` when the command line does not give it: None unless written, False for `store_true`, True for
`store_false`; one the command line must give (`required=True`, a positional) is unknown; a string default is read with the option's `type` (argparse 3.11 `_get_values`: "If the default
value is a string, the parser parses the value as if it were a command-line argument"). With configargparse's
`env_var="X"`, the variable X, when set, comes before the default. Options added through a group or a subparser
are not read: the scan does not see them, so reading them is unknown, never a default.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from pool_doctor.scan import clicks, namespaces
from pool_doctor.scan.environment import Environment, config_cast
from pool_doctor.scan.kinds import SV, DictV, Frame, HolderV, Interpreter, ListV, Thunk, is_known, keyword, unknown

PARSER = "argparse.ArgumentParser"
NAMESPACE = "argparse.Namespace"
PARSERS = (
    PARSER,
    *(
        f"configargparse.{name}"
        for name in (
            "ArgumentParser",
            "ArgParser",
            "Parser",
            "get_argument_parser",
            "get_arg_parser",
            "get_parser",
            "getArgumentParser",
            "getArgParser",
            "getParser",
        )
    ),
)
ADDERS = {"add_argument", "add", "add_arg", "set_defaults"}  # (add, add_arg: configargparse 1.9's aliases)
CASTS = {"int": "int", "float": "float", "str": "str"}


class ArgParsers:
    def __init__(self, ev: Interpreter, environment: Environment) -> None:
        self.ev = ev
        self.environment = environment

    def calls(self) -> dict[str, Callable[[ast.Call, Frame], Any]]:
        typer = clicks.calls(self.ev, self.environment)  # (click's own: on a command's parameters, clicks.py)
        return {**dict.fromkeys(PARSERS, self.parser), "builtins.vars": self.variables, **typer}

    def variables(self, node: ast.Call, frame: Frame) -> Any:
        """`vars(args)` of a parsed namespace: a dict of every option, None where its default is (the Python docs'
        `ChainMap(vars(args), os.environ, defaults)` filters those out for that reason)."""
        given = self.ev.force(self.ev.arg(node, frame, 0, None)) if node.args else None
        if isinstance(given, HolderV) and given.dotted == NAMESPACE:
            return DictV(dict(given.attrs), frame.module.where(node))
        return namespaces.module_locals(node, frame) if not node.args else unknown(frame.module, node)

    def parser(self, node: ast.Call, frame: Frame) -> HolderV:
        """A parser; configargparse's `default_config_files=[...]` may set any option, and `argument_default=`
        is every option's default: those are then unknown."""
        files = keyword(node, "default_config_files") or keyword(node, "argument_default")
        return made({}, frame.module.segment(files) if files is not None else None)

    def mutated(self, parser: HolderV, method: str, call: ast.Call, frame: Frame) -> HolderV:
        """`parser.add_argument("--pool-size", type=int, default=5)`: the parser, with that option;
        `parser.set_defaults(pool_size=20)`: with that default."""
        namespace, files = parser.attrs["args"], parser.attrs["files"]
        assert isinstance(namespace, HolderV)
        if method == "set_defaults":
            given = {kw.arg: Thunk(kw.value, frame) for kw in call.keywords if kw.arg is not None}
            return made({**namespace.attrs, **given}, files)
        if method not in ADDERS:
            return parser
        dest = self._dest(call, frame)
        options = dict(namespace.attrs)
        if dest is None:  # a name the scan cannot tell: any option may be that one
            return made({name: unknown(frame.module, call) for name in options}, files)
        if files is not None:
            options[dest] = unknown(frame.module, call, why=f"--{dest} (or what {files} sets)")
        else:
            options[dest] = Thunk(call, frame, compute=lambda: self._value(call, frame))
        return made(options, files)

    def _dest(self, call: ast.Call, frame: Frame) -> str | None:
        given = self.ev.arg(call, frame, None, "dest")
        if given is not None:
            return str(given.value) if is_known(given) else None
        names = [self.ev.force(self.ev.eval(arg, frame)) for arg in call.args]
        if not names or not all(is_known(name) and isinstance(name.value, str) for name in names):
            return None
        texts = [str(name.value) for name in names]
        long = next((text for text in texts if text.startswith("--")), None)
        chosen = long or texts[0]
        return chosen.lstrip("-").replace("-", "_")

    def _value(self, call: ast.Call, frame: Frame) -> Any:
        where = frame.module.where(call)
        required = self.ev.arg(call, frame, None, "required")
        positional = bool(call.args) and not (
            isinstance(call.args[0], ast.Constant) and str(call.args[0].value)[:1] == "-"
        )
        nargs = self.ev.arg(call, frame, None, "nargs")
        optional = is_known(nargs) and isinstance(nargs.value, str) and nargs.value in ("?", "*")
        if (is_known(required) and required.value) or (positional and not optional):
            return unknown(frame.module, call, why=f"{frame.module.segment(call.args[0])} (given on the command line)")
        action = self.ev.arg(call, frame, None, "action")
        flag = {"store_true": False, "store_false": True}.get(action.value) if is_known(action) else None
        if action is not None and flag is None:  # append, count, store_const, a class of the project's
            return unknown(frame.module, call)
        node = keyword(call, "default")
        default: Any = Thunk(node, frame) if node is not None else SV(flag, where)
        variable = self.ev.arg(call, frame, None, "env_var")
        if is_known(variable) and isinstance(variable.value, str):
            default = self.environment.lookup(variable.value, default, frame, call)
        value = self.ev.force(default)
        kind = keyword(call, "type")
        cast = CASTS.get(ast.unparse(kind)) if kind is not None else None
        if kind is not None and cast is None:
            return unknown(frame.module, call, env=value.env if isinstance(value, SV) else None)
        if is_known(value) and isinstance(value.value, str) and cast is not None:
            return config_cast(cast, value, frame.module, call)
        return replace(value, from_=value.from_ or where) if isinstance(value, SV) else value


def made(options: dict[str, Any], files: str | None) -> HolderV:
    """A parser with these options; `parse_args()` its namespace, `parse_known_args()` that and the rest
    (configargparse's `parse` and `parse_known` the same)."""
    namespace = HolderV(NAMESPACE, options)
    known = ListV([namespace, ListV([], None)], None)
    returns: dict[str, tuple[str, ...]] = {"parse_args": ("args",), "parse": ("args",)}
    returns |= {"parse_known_args": ("known",), "parse_known": ("known",)}
    return HolderV(PARSER, {"args": namespace, "known": known, "files": files}, returns)
