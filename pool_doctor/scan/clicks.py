"""A click command's options and arguments, as the values its pool reads when the command line gives none
(shipit's `@click.option("--database-url", default="postgresql://...")` on `rebuild_product_details(database_url)`):
the option's `default`, its `envvar` when set before it (click 8's `Parameter.consume_value`); a flag False, a
count 0, a `multiple` option empty; none written: None, or unknown where click requires the value (a `required`
option, an argument). typer's `typer.Option(default, envvar=...)` and `typer.Argument(default)` written as a
parameter's default are read the same way (`...`: required).

Which parameter a declaration names is click's rule (`Option._parse_decls`): a declaration that is an
identifier, else the first of those with the longest prefix (`--database-url` over `-d`), dashes made
underscores, lower-cased; an argument's first declaration.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

from pool_doctor.scan.environment import Environment, config_cast
from pool_doctor.scan.kinds import SV, ExternalRef, Frame, FuncRef, Interpreter, ListV, Thunk, is_known, keyword
from pool_doctor.scan.kinds import unknown as unknown_value
from pool_doctor.scan.names import last_name

CLICK = {"click", "asyncclick", "rich_click", "cloup"}
KINDS = {"option", "argument"}
CASTS = {"int": "int", "click.INT": "int", "float": "float", "click.FLOAT": "float"}  # what a default is cast with
TYPER = {"typer.Option": "option", "typer.Argument": "argument", "typer.params.Option": "option"}


def calls(ev: Interpreter, environment: Environment) -> dict[str, Callable[[ast.Call, Frame], Any]]:
    """typer's `Option(...)` and `Argument(...)`: the value a parameter they are the default of holds."""
    return {name: _typer(ev, environment, kind) for name, kind in TYPER.items()}


def command_parameter(ev: Interpreter, environment: Environment, func: FuncRef, name: str) -> Any | None:
    """What click gives the command function's parameter `name` when the command line does not; None where no
    click declaration of the function names it."""
    if isinstance(func.node, ast.Lambda):
        return None
    frame = Frame(func.module)
    for decorator in func.node.decorator_list:
        if not (isinstance(decorator, ast.Call) and last_name(decorator.func) in KINDS):
            continue
        made = ev.force(ev.eval(decorator.func, frame))
        if not (isinstance(made, ExternalRef) and made.dotted.split(".")[0] in CLICK):
            continue
        declared = [ev.force(ev.eval(arg, frame)) for arg in decorator.args]
        texts = [str(d.value) for d in declared if is_known(d) and isinstance(d.value, str)]
        kind = made.dotted.rsplit(".", 1)[-1]
        if texts and len(texts) == len(declared) and _named(kind, texts) == name:
            return _value(ev, environment, decorator, frame, kind, None, texts)
    return None


def _typer(ev: Interpreter, environment: Environment, kind: str) -> Callable[[ast.Call, Frame], Any]:
    return lambda node, frame: _value(ev, environment, node, frame, kind, 0)


def _named(kind: str, texts: list[str]) -> str:
    if kind == "argument":
        return texts[0].replace("-", "_").lower()
    named = next((text for text in texts if text.isidentifier()), None)
    if named is not None:
        return named
    options = [_split(text.split("/")[0].strip()) for text in texts]
    return max(options, key=lambda option: len(option[0]))[1].replace("-", "_").lower()


def _split(option: str) -> tuple[str, str]:
    """click's `split_opt`: the option's prefix and its name."""
    first = option[:1]
    if first.isalnum():
        return "", option
    return (option[:2], option[2:]) if option[1:2] == first else (first, option[1:])


def _value(
    ev: Interpreter,
    environment: Environment,
    call: ast.Call,
    frame: Frame,
    kind: str,
    default_at: int | None,
    declared: list[str] | None = None,
) -> Any:
    """The parameter's value with no command line: its default (`default_at`: typer's first argument), else
    what click gives for none; unknown where the user types it (`prompt=`) or a callback makes it."""
    written = keyword(call, "default")
    if written is None and default_at is not None and len(call.args) > default_at:
        written = call.args[default_at]
    asked, count = ev.arg(call, frame, None, "required"), ev.arg(call, frame, None, "nargs")
    many = count.value if is_known(count) and isinstance(count.value, int) else 1  # (nargs=-1: any number)
    required = bool(asked.value) if is_known(asked) else kind == "argument" and many > 0
    if isinstance(written, ast.Constant) and written.value is Ellipsis:
        written, required = None, True  # typer's `...`
    where, text = frame.module.where(call), frame.module.segment(call)
    prompted = keyword(call, "prompt")
    if prompted is not None and not (isinstance(prompted, ast.Constant) and not prompted.value):
        return unknown_value(frame.module, call, why=f"{text} (typed at its prompt)")
    if keyword(call, "callback") is not None:  # (click's process_value: what the callback returns)
        return unknown_value(frame.module, call, why=f"{text} (what its callback makes of it)")
    if written is None and required:
        return unknown_value(frame.module, call, why=f"{text} (given on the command line)")
    default: Any = SV(None, where)
    flag = _given(ev, call, frame, "is_flag") or any("/" in d for d in declared or [])  # (`--x/--no-x`: a flag)
    if written is not None:
        default = Thunk(written, frame)
    elif flag or _given(ev, call, frame, "count"):
        default = SV(False if flag else 0, where)
    elif _given(ev, call, frame, "multiple"):
        default = ListV([], where)
    variable = ev.arg(call, frame, None, "envvar")
    if is_known(variable) and isinstance(variable.value, str):
        default = environment.lookup(variable.value, default, frame, call)
    value = ev.force(default)
    if not isinstance(value, SV | ListV):  # a callable default (`default=lambda: ...`): what it returns, at run time
        return unknown_value(frame.module, call)
    cast = CASTS.get(ast.unparse(typed)) if (typed := keyword(call, "type")) is not None else None
    if cast is not None and is_known(value) and isinstance(value.value, str):  # (click casts a default too)
        return config_cast(cast, value, frame.module, call)
    return value


def _given(ev: Interpreter, call: ast.Call, frame: Frame, name: str) -> bool:
    """Whether a keyword is given a true value (a known one)."""
    value = ev.arg(call, frame, None, name)
    return is_known(value) and bool(value.value)
