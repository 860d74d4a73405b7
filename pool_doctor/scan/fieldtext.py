"""Small readings of settings fields and config keys: the text pydantic-settings reads as None, the cast a
field's annotation asks for, the attributes a method sets on its instance, a value named by the variable that
overrides it (a field's, a Flask key's), and the flags and name sets `model_dump()` is given."""

from __future__ import annotations

import ast
import re
from dataclasses import replace
from typing import Any, TypeGuard

from pool_doctor.scan.finder import FunctionNode, Module
from pool_doctor.scan.kinds import (
    SV,
    Branches,
    ClassRef,
    DictV,
    ExternalRef,
    Frame,
    FuncRef,
    InstanceRef,
    Interpreter,
    ListV,
    is_known,
    keyword,
)
from pool_doctor.scan.model import NOT_SET
from pool_doctor.scan.names import dotted_parts
from pool_doctor.scan.nodes import MUTATORS


def not_set(value: Any) -> bool:
    return isinstance(value, SV) and value.expr == NOT_SET


def names(value: Any) -> set[str] | None:
    """include= / exclude= as field names (a set, list or dict of them)."""
    if isinstance(value, ListV):
        return {str(item.value) for item in value.items if is_known(item)}
    if isinstance(value, DictV):
        return set(value.items)
    return None


def flag(value: Any) -> bool:
    return is_known(value) and bool(value.value)


def at(node: ast.expr) -> dict[str, int]:
    return {
        "lineno": node.lineno,
        "col_offset": node.col_offset,
        "end_lineno": node.end_lineno or node.lineno,
        "end_col_offset": node.end_col_offset or 0,
    }


def set_after_init(methods: list[FunctionNode], before_use: tuple[str, ...], in_place: bool) -> set[str]:
    """The attributes a class's methods other than `__init__` (and those run before anything reads the instance,
    and the helpers only `__init__` calls: buildbot's) set or (`in_place`) change on `self`."""
    calls = {m.name: _self_calls(m) for m in methods}
    called_elsewhere = {name for m, names in calls.items() if m != "__init__" for name in names}
    # a helper `__init__` calls that takes nothing but `self` sets again, when another method calls it, what its
    # own statements set at `__init__` (flask_covid19's `get_db()` running `__init_db()` again)
    alone = {m.name for m in methods if len([*m.args.posonlyargs, *m.args.args]) == 1 and not _takes_more(m)}
    helpers = calls.get("__init__", set()) - (called_elsewhere - alone)
    found: set[str] = set()
    for method in methods:
        params = [*method.args.posonlyargs, *method.args.args]
        if params and method.name not in before_use and method.name not in helpers:
            found |= self_writes(method, params[0].arg, in_place)
    return found


def _takes_more(method: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return bool(method.args.vararg or method.args.kwarg or method.args.kwonlyargs)


def _self_calls(method: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """The methods a method calls on its own instance (`self.create_child_services()`)."""
    params = [*method.args.posonlyargs, *method.args.args]
    if not params:
        return set()
    return {
        node.func.attr
        for node in ast.walk(method)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == params[0].arg
    }


def self_writes(func: ast.FunctionDef | ast.AsyncFunctionDef, me: str, in_place: bool = True) -> set[str]:
    """The attributes of `me` (the method's first parameter) the function sets or (`in_place`) changes in place."""
    found: set[str] = set()
    for node in ast.walk(func):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in MUTATORS:
            targets = [node.func.value] if in_place else []
        for target in targets:
            while isinstance(target, ast.Subscript) and in_place:
                target = target.value
            if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == me:
                found.add(target.attr)
    return found


def none_text(config: dict[str, Any], annotation: ast.expr | None) -> str | None:
    """The text that pydantic-settings reads as None for this field (`env_parse_none_str`), when the field's
    type admits None; else None."""
    parse_none = config.get("env_parse_none_str")
    if not (is_known(parse_none) and isinstance(parse_none.value, str)) or annotation is None:
        return None
    text = ast.unparse(annotation)
    return parse_none.value if re.search(r"\b(None|Optional|Any)\b", text) else None


def annotated(annotation: ast.expr | None, marker: str = "Field") -> tuple[ast.expr | None, list[ast.Call]]:
    """`Annotated[int, Field(default=20)]` as its type and its `Field(...)`s (pydantic 2 reads the default and
    the alias there; `marker="Depends"`: FastAPI's dependencies); any other annotation as itself, with none."""
    if not (isinstance(annotation, ast.Subscript) and (dotted_parts(annotation.value) or [""])[-1] == "Annotated"):
        return annotation, []
    parts = annotation.slice.elts if isinstance(annotation.slice, ast.Tuple) else [annotation.slice]
    return parts[0], [p for p in parts[1:] if isinstance(p, ast.Call) and (dotted_parts(p.func) or [""])[-1] == marker]


def model_type(annotation: ast.expr | None, required: bool) -> ast.expr | None:
    """A field's type as `annotated` gives it; a required field's `X | None` (`Optional[X]`, `Union[X, None]`) as X:
    what the settings are built with where the field must be given (osparc's `auto_default_from_env` settings)."""
    found = annotated(annotation)[0]
    if isinstance(found, ast.BinOp) and isinstance(found.op, ast.BitOr):
        parts = [found.left, found.right]
    elif isinstance(found, ast.Subscript) and (dotted_parts(found.value) or [""])[-1] in ("Optional", "Union"):
        parts = found.slice.elts if isinstance(found.slice, ast.Tuple) else [found.slice, ast.Constant(None)]
    else:
        return found
    kept = [p for p in parts if not (isinstance(p, ast.Constant) and p.value is None)]
    return kept[0] if required and len(kept) == 1 and len(parts) == 2 else found


def optional(annotation: ast.expr | None) -> bool:
    """Whether a field is typed `X | None` (`Optional[X]`, `Union[X, None]`)."""
    return model_type(annotation, True) is not annotated(annotation)[0]


def dependency(annotation: ast.expr | None, module: Module, project: Any) -> tuple[ast.expr | None, Module]:
    """A FastAPI dependency a parameter is annotated with, `Annotated[Settings, Depends(get_settings)]` (written
    there, or through a type alias the module sets or imports: ooni's `SettingsDep`): the call that gives the
    parameter its value (`get_settings()`; `Depends()` alone: the type's), and the module it is read in."""
    if isinstance(annotation, ast.Name) and annotation.id not in module.assigns and annotation.id in module.imports:
        dotted = module.imports[annotation.id]
        found = project.module_by_name(dotted.rpartition(".")[0], module.path)
        module = found if found is not None and annotation.id in found.assigns else module
    if isinstance(annotation, ast.Name) and annotation.id in module.assigns:
        annotation = module.assigns[annotation.id][-1].value
    kind, extras = annotated(annotation, "Depends")
    if not extras or kind is None:
        return None, module
    depends = extras[0]
    given = (
        depends.args[0] if depends.args else next((k.value for k in depends.keywords if k.arg == "dependency"), None)
    )
    return ast.copy_location(ast.Call(given if given is not None else kind, [], []), depends), module


def field_of(annotation: ast.expr | None, assigned: ast.expr | None) -> ast.expr | None:
    """What a field is given, as pydantic 2 merges it (FieldInfo.from_annotated_attribute): the `Annotated`
    type's Fields, then the assigned `Field(...)`, each attribute the last one's; an assigned plain value is
    only the default (tux's `POOL_SIZE: Annotated[int, Field(default=20)]`)."""
    fields = annotated(annotation)[1]
    if not fields:
        return assigned
    if isinstance(assigned, ast.Call) and (dotted_parts(assigned.func) or [""])[-1] == "Field":
        fields = [*fields, assigned]
    elif assigned is not None:
        fields = [*fields, ast.Call(fields[-1].func, [], [ast.keyword("default", assigned)])]
    keywords: dict[str, ast.expr] = {}
    for field in fields:
        keywords.update({"default": field.args[0]} if field.args else {})
        keywords.update({k.arg: k.value for k in field.keywords if k.arg is not None})
    return ast.copy_location(
        ast.Call(fields[-1].func, [], [ast.keyword(k, v) for k, v in keywords.items()]), fields[-1]
    )


def field_alias(stmt: ast.stmt) -> str | None:
    """A field's `Field(serialization_alias=...)` or `alias=`, in its value or its `Annotated` type."""
    assigned = stmt.value if isinstance(stmt, (ast.Assign, ast.AnnAssign)) else None
    value = field_of(stmt.annotation, assigned) if isinstance(stmt, ast.AnnAssign) else assigned
    if not (isinstance(value, ast.Call) and (dotted_parts(value.func) or [""])[-1] == "Field"):
        return None
    for key in ("serialization_alias", "alias"):
        alias = keyword(value, key)
        if isinstance(alias, ast.Constant) and isinstance(alias.value, str):
            return alias.value
    return None


def annotation_cast(annotation: ast.expr | None) -> str | None:
    annotation = annotated(annotation)[0]
    if annotation is None:
        return None
    text = ast.unparse(annotation)
    for name in ("bool", "float", "int"):
        if re.search(rf"\b{name}\b", text):
            return name
    return None


def named(value: Any, env: str) -> Any:
    """A field's value (each of its branches) named by the field's own variable, which overrides all of it."""
    if isinstance(value, SV):
        return replace(value, env=env)
    if isinstance(value, Branches):
        return Branches([(when, named(option, env)) for when, option in value.options], default=value.default)
    return value


def given_values(ev: Interpreter, args: ast.arguments, frame: Frame) -> dict[str, Any]:
    """An `__init__`'s parameters, for an instance made by a caller the scan does not link: each what that
    caller gives, not its default; but a class or function as its default (a pool factory, procrastinate's)
    stays, as the code's own, and so does an instance of the project class the parameter is annotated with
    (`db_service: DatabaseService`: what its methods are, whatever instance the caller gives; tux's)."""
    given: dict[str, Any] = {}
    for arg in [*args.posonlyargs, *args.args][1:] + args.kwonlyargs:
        kept = ev.force(frame.bindings.get(arg.arg))
        typed = isinstance(kept, InstanceRef) and kept.given == arg.arg
        if not typed and not isinstance(kept, (ExternalRef, ClassRef, FuncRef)):
            given[arg.arg] = SV(None, None, known=False, expr=f"{arg.arg} (what its caller gives)")
    if args.kwarg is not None:
        given[args.kwarg.arg] = DictV({}, None, [f"**{args.kwarg.arg}"])
    return given


def env_case(values: dict[str, tuple[str, str]], name: str, case_sensitive: bool) -> tuple[str, str] | None:
    """The variable's line among an env file's, matched as pydantic-settings matches it."""
    if name in values:
        return values[name]
    if not case_sensitive:
        for key, value in values.items():
            if key.upper() == name.upper():
                return value
    return None


def empty_url(annotation: ast.expr | None, value: Any) -> bool:
    """Whether a settings field typed as a pydantic URL (`PostgresDsn`, `AnyUrl`, `Optional[...]` of one) has the
    empty string as its default, which pydantic-settings' validation of defaults rejects."""
    names = (
        {
            n.id if isinstance(n, ast.Name) else n.attr
            for n in ast.walk(annotation)
            if isinstance(n, (ast.Name, ast.Attribute))
        }
        if annotation
        else set()
    )
    url = any(name.endswith(("Dsn", "Url")) for name in names) and "str" not in names  # (`str | AnyUrl` takes "")
    return url and is_known(value) and value.value == ""


def spreads(call: ast.Call | None) -> TypeGuard[ast.Call]:
    """Whether a call spreads `*args` or `**mapping` at all (most do not: the cheap test first)."""
    return call is not None and (
        any(isinstance(arg, ast.Starred) for arg in call.args) or any(kw.arg is None for kw in call.keywords)
    )


def spreads_unread(ev: Interpreter, call: ast.Call, frame: Frame) -> tuple[bool, bool]:
    """Whether a call spreads `*args` the scan cannot read whole (a known tuple it can), and whether a
    `**mapping` it cannot."""
    starred = [ev.force(ev.eval(arg.value, frame)) for arg in call.args if isinstance(arg, ast.Starred)]
    spread = [ev.force(ev.eval(kw.value, frame)) for kw in call.keywords if kw.arg is None]
    return (
        any(not (isinstance(value, ListV) and all(map(is_known, map(ev.force, value.items)))) for value in starred),
        any(not isinstance(value, DictV) or value.opaque for value in spread),
    )


def spread_over(
    ev: Interpreter, args: ast.arguments, frame: Frame, call: ast.Call, spreads: tuple[bool, bool]
) -> dict[str, Any]:
    """An `__init__`'s parameters the call's unread `*args` / `**mapping` may give (temboard's
    `Postgres(app=self, **postgresql)`): unknown, but for those the call names, and a class or function default.
    `*args` gives positional parameters only."""
    named = {kw.arg for kw in call.keywords if kw.arg is not None}
    count = len([a for a in call.args if not isinstance(a, ast.Starred)])
    positional = [a.arg for a in [*args.posonlyargs, *args.args][1:]]
    named |= set(positional[:count])
    reach = None if spreads[1] else set(positional)  # (a `**mapping` reaches any of them)
    given = given_values(ev, args, frame).items()
    return {name: value for name, value in given if name not in named and (reach is None or name in reach)}


POOL_CALLS = ("create_engine", "create_async_engine", "engine_from_config", "create_pool", "ConnectionPool")


def pools_in(module: Module, node: ast.ClassDef) -> bool:
    """Whether the class's own text makes a pool (a method of it may hold what its `__init__` was given)."""
    lines = module.source.split("\n")[node.lineno - 1 : node.end_lineno]
    return any(name in line for line in lines for name in POOL_CALLS)


def of_its_type(ev: Interpreter, annotation: ast.expr | None, frame: Frame, name: str) -> Any:
    """A parameter nobody gives (or a name bound to what the scan cannot know: `wallet: Wallet = ctx.obj[...]`),
    annotated with a project class (`bot: Bot`, `bot: "Bot"`, `cls: type[Bot]`): an instance of it made by code
    the scan does not see, named by the parameter (the class itself for `type[...]`); else None."""
    wants_class = False
    depends, module = dependency(annotation, frame.module, ev.project)
    if depends is not None:  # FastAPI's `Annotated[Settings, Depends(get_settings)]`: what get_settings() gives
        return ev.force(ev.eval(depends, Frame(module)))
    if isinstance(annotation, ast.Subscript) and (dotted_parts(annotation.value) or [""])[-1] in ("type", "Type"):
        annotation, wants_class = annotation.slice, True
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        try:
            annotation = ast.parse(annotation.value, mode="eval").body
        except SyntaxError:
            return None
    if not isinstance(annotation, (ast.Name, ast.Attribute)):
        return None
    found = ev.force(ev.eval(annotation, Frame(frame.module)))
    if not isinstance(found, ClassRef):
        return None
    return found if wants_class else InstanceRef(found, {}, given=name, any_subclass=True)  # (or a subclass's)


def env_alias(ev: Interpreter, alias: Any) -> str | None:
    """The variable a settings field's alias names: a string, the first string of AliasChoices (a ListV here)."""
    if is_known(alias) and isinstance(alias.value, str):
        return alias.value
    if isinstance(alias, ListV):
        for item in alias.items:
            item = ev.force(item)
            if is_known(item) and isinstance(item.value, str):
                return item.value
    return None


def fields_env(ev: Interpreter, config: dict[str, Any], name: str) -> str | None:
    """pydantic v1's `Config.fields = {"PGHOST": {"env": "PGHOST"}}`: the field's variable, without the prefix."""
    fields = config.get("fields")
    entry = ev.force(fields.items.get(name)) if isinstance(fields, DictV) else None
    return env_alias(ev, ev.force(entry.items["env"])) if isinstance(entry, DictV) and "env" in entry.items else None
