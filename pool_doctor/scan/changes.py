"""What a statement changes in place, as the flow's state sees it: `kwargs["pool_size"] = 5`, `.update()`,
`.setdefault()`, `.pop()`, `parser.read(...)`, a store into a part of a library object a name holds
(`config.registry.settings["sqlalchemy.url"] = ...`). The state maps names to values and a value is never
changed under another scope: a change binds the same name to a new value (scan/flow.py)."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from pool_doctor.scan import containers, fieldtext
from pool_doctor.scan.finder import FunctionNode, Module, resolve_relative
from pool_doctor.scan.kinds import (
    SV,
    Branches,
    DictV,
    ExternalRef,
    Frame,
    HolderV,
    Interpreter,
    ModuleRef,
    Thunk,
    is_known,
    over,
    unknown,
)
from pool_doctor.scan.names import last_name
from pool_doctor.scan.nodes import (
    MUTATORS,
    global_setter,
    parameter_names,
    popped,
    popped_each_time,
    pseudo_name,
    required_absent,
)
from pool_doctor.scan.paths import State, settings_unknown
from pool_doctor.scan.statements import attribute_set, hands_names, looped_item, named_attribute, updates_names

FrameOf = Callable[[State], Frame]  # the frame a statement's expressions are read in, for the state before it


CONFIGMANAGER = "configmanager.Config"  # a HolderV of its sections, each item one holding its `value`
CONFIGMANAGER_LOADS = {"load", "load_values", "read", "read_dict", "read_string"}  # (its persistence adapters')
ALIASES = "$aliases"  # the state's entry of the names that hold a part of another name's dict (never a name)
Assigner = Callable[[ast.expr, Any, State], State]  # flow's assign_target: a target given a value
MAX_NESTING = 4  # dicts in a dict literal read for the names placed in them


@dataclass(frozen=True)
class Alias:
    """Where a name's dict sits in another name's, one dict, so a change made through the name is made there
    too: bound to a part of it (`db = DATABASES["default"]`, `db = DATABASES.setdefault("ro", ...)`: zentral's
    `database[key] = val`), or placed in it (`DATABASES = {"default": {"OPTIONS": DB_OPTIONS}}`, then
    `DB_OPTIONS["init_command"] = ...`: jumpserver's). Dropped when either name is bound again."""

    at: ast.expr  # the other name subscripted by the keys, each the constant it was when the alias was made
    root: str  # that other name
    keys: tuple[Any, ...]


def assigned(
    ev: Interpreter,
    frame_of: FrameOf,
    stmt: ast.Assign | ast.AnnAssign,
    state: State,
    to: Assigner,
    before: Frame | None = None,
) -> State:
    """`targets = value`: each target bound, the names whose keys the value pops without them, and the aliases
    the statement makes and ends. `before`: where the value is worked out, when the state is already that after
    the calls it makes (flow.walrus: `other = bump(options)` runs bump once)."""
    assert stmt.value is not None
    targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
    frame = before or frame_of(state)
    link = _part(ev, frame, stmt.value)
    thunk = Thunk(stmt.value, frame)
    if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):  # `wallet: Wallet = ctx.obj[...]`
        thunk = Thunk(stmt.value, frame, compute=partial(_typed, ev, stmt, frame, thunk))
    for target in targets:
        state = to(target, thunk, state)
    for call in popped(stmt.value):  # maxconn = int(params.pop("maxconn")): params loses the key
        state = popping_call(ev, frame_of, call, state)
    for comp, call in popped_each_time(stmt.value):  # {k: kw.pop(k, d) for k, d in ...}: each key
        state = popping_each_time(ev, frame_of, comp, call, state)
    names = [target.id for target in targets if isinstance(target, ast.Name)]  # (`to` ended their old aliases)
    made = {name: link for name in names if link is not None and link.root not in names}  # (`conf = conf["db"]`:
    if len(names) == 1:  # a new dict in its place, no part of itself)
        made |= {name: _at(names[0], keys, stmt.value) for name, keys in _placed(stmt.value, ()) if name not in names}
    return {**state, ALIASES: {**_aliases(state), **made}} if made else state


def _typed(ev: Interpreter, stmt: ast.AnnAssign, frame: Frame, thunk: Thunk) -> Any:
    """What an annotated name holds: its value, or an instance of the project class it names where the scan
    cannot know the value."""
    value = ev.force(thunk)
    if isinstance(value, SV) and not value.known and isinstance(stmt.target, ast.Name):
        return fieldtext.of_its_type(ev, stmt.annotation, frame, stmt.target.id) or value
    return value


def unbound(ev: Interpreter, frame_of: FrameOf, target: ast.expr, state: State) -> State:
    """The state once `target` is bound again (or deleted): no alias of that name, nor into a part it replaces
    (`DATABASES = {...}`, `DATABASES["default"] = {...}`: a name bound to the old part holds another dict)."""
    aliases = _aliases(state)
    if not aliases:
        return state
    if isinstance(target, ast.Name):
        kept = {n: a for n, a in aliases.items() if target.id not in (n, a.root)}
    else:
        part = _part(ev, frame_of(state), target) if isinstance(target, ast.Subscript) else None
        if part is None:  # (a part the scan cannot name: `DATABASES[key] = ...`, any of them)
            root = target.value if isinstance(target, ast.Subscript) else None
            named = root.id if isinstance(root, ast.Name) else None
            kept = {n: a for n, a in aliases.items() if a.root != named}
        else:
            kept = {n: a for n, a in aliases.items() if a.root != part.root or a.keys[: len(part.keys)] != part.keys}
    return {**state, ALIASES: kept} if len(kept) != len(aliases) else state


def _aliases(state: State) -> dict[str, Alias]:
    """The state's aliases: after paths that made different ones join (flow.join: their entries differ there),
    the ones every path kept (maas's `if "isolation_level" in options: level = options[...]` adds one)."""
    return _kept(state.get(ALIASES))


def _kept(aliases: Any) -> dict[str, Alias]:
    if isinstance(aliases, Branches):
        sides = [_kept(side) for _, side in aliases.options] or [{}]
        return {name: alias for name, alias in sides[0].items() if all(side.get(name) == alias for side in sides)}
    return aliases if isinstance(aliases, dict) else {}


def _placed(node: ast.expr, keys: tuple[str, ...]) -> Iterator[tuple[str, tuple[str, ...]]]:
    """The names a dict literal holds as values, each with the keys it sits under (`{"default": {"OPTIONS": X}}`:
    X under ("default", "OPTIONS"))."""
    if not isinstance(node, ast.Dict) or len(keys) >= MAX_NESTING:
        return
    for key, value in zip(node.keys, node.values):
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            if isinstance(value, ast.Name):
                yield value.id, (*keys, key.value)
            yield from _placed(value, (*keys, key.value))


def _at(root: str, keys: tuple[Any, ...], near: ast.AST) -> Alias:
    at: ast.expr = ast.Name(root, ast.Load())
    for key in keys:
        at = ast.Subscript(at, ast.Constant(key), ast.Load())
    return Alias(ast.fix_missing_locations(ast.copy_location(at, near)), root, tuple(keys))


def _part(ev: Interpreter, frame: Frame, node: ast.expr) -> Alias | None:
    """`name[k1][k2]` or `name[k1].setdefault(k2, ...)` with keys the scan knows: that part of name's value."""
    keys: list[Any] = []
    while isinstance(node, ast.Subscript) or _setdefault(node):
        if isinstance(node, ast.Subscript):
            key_node, node = node.slice, node.value
        else:
            assert isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            key_node, node = node.args[0], node.func.value
        key = ev.force(ev.eval(key_node, frame))
        if not (is_known(key) and isinstance(key.value, (str, int))):
            return None
        keys.append(key.value)
    if not keys or not isinstance(node, ast.Name):
        return None
    return _at(node.id, tuple(reversed(keys)), node)


def change(ev: Interpreter, frame_of: FrameOf, base: ast.expr, state: State, edit: Callable[[Any], Any]) -> State:
    """`base` (a name, `self.x`, a subscript of one, a part of a library object one holds) replaced by
    `edit(its value)`."""
    if isinstance(base, ast.Attribute) and _holder(ev, ev.eval(base.value, frame_of(state))):
        attr = base.attr

        def part(holder: Any) -> Any:
            current = ev.force(ev.attribute(holder, attr, base, frame_of(state)))
            return ev.with_attribute(holder, attr, containers.lift(ev, [current], edit))

        return change(ev, frame_of, base.value, state, part)
    name = base.id if isinstance(base, ast.Name) else pseudo_name(base)
    if name is not None:
        current = ev.force(ev.eval(base, frame_of(state)))
        state = dict(state)
        state[name] = containers.lift(ev, [current], edit)
        link = _aliases(state).get(name)
        return change(ev, frame_of, link.at, state, edit) if link is not None else state
    if _setdefault(base):  # `DATABASES["default"].setdefault("OPTIONS", {})["sslmode"] = ...` (tecken): the key,
        assert isinstance(base, ast.Call) and isinstance(base.func, ast.Attribute)  # its default first, changed
        state = mutating_call(ev, frame_of, base, state)
        at = ast.copy_location(ast.Subscript(base.func.value, base.args[0], ast.Load()), base)
        return change(ev, frame_of, at, state, edit)
    if isinstance(base, ast.Call) and isinstance(base.func, ast.Attribute) and base.func.attr == "get" and base.args:
        held = ev.force(ev.eval(base.func.value, frame_of(state)))  # `d.get("default", {})["X"] = v`: d's item, when d
        key = ev.force(ev.eval(base.args[0], frame_of(state)))  # has the key (else a dict nothing keeps)
        if isinstance(held, DictV) and is_known(key) and str(key.value) in held.items:
            return change(
                ev,
                frame_of,
                ast.copy_location(ast.Subscript(base.func.value, base.args[0], ast.Load()), base),
                state,
                edit,
            )
        return state
    if isinstance(base, ast.Subscript):
        key = ev.force(ev.eval(base.slice, frame_of(state)))

        def inner(outer: Any) -> Any:
            current = containers.item(ev, outer, key)
            changed = containers.lift(ev, [current], edit)
            return containers.with_item(ev, outer, key, changed, base, frame_of(state).module)

        return _placed_names(ev, frame_of, base, change(ev, frame_of, base.value, state, inner), edit)
    return state


def _placed_names(
    ev: Interpreter, frame_of: FrameOf, base: ast.Subscript, state: State, edit: Callable[[Any], Any]
) -> State:
    """The names a dict holds as values, changed with the part of it that is theirs (data-act-broker's
    `CONFIG_CATEGORIES = {"db": CONFIG_DB}`, then `CONFIG_CATEGORIES[name].update(...)` for each name: CONFIG_DB
    is filled); where the scan cannot tell the part, each name it may be is unknown."""
    part, frame = _part(ev, frame_of(state), base), frame_of(state)
    root = part.root if part is not None else base.value.id if isinstance(base.value, ast.Name) else None
    changed = dict(state)
    for name, alias in _aliases(state).items():
        if alias.root != root or name == root:
            continue
        if part is None:
            changed[name] = unknown(frame.module, base, why=f"{name} (changed as {frame.module.segment(base)})")
        elif alias.keys == part.keys:
            changed[name] = containers.lift(ev, [ev.force(ev.eval(_at(name, (), base).at, frame))], edit)
    return changed


def _holder(ev: Interpreter, value: Any) -> bool:
    """A library object whose parts the scan knows, on every path (an app whose config a test may reload)."""
    value = ev.force(value)
    if isinstance(value, Branches):
        return all(isinstance(ev.force(option), HolderV) for _, option in containers.settle_options(ev, value)[0])
    return isinstance(value, HolderV)


def popping_call(ev: Interpreter, frame_of: FrameOf, call: ast.Call, state: State) -> State:
    """`name.pop(...)` in an assigned value: `name` without the key, worked out when read (once a module's
    statements have run, as its readers see them)."""
    func = call.func
    if not isinstance(func, ast.Attribute):
        return state
    frame, base = frame_of(state), func.value
    if not isinstance(base, ast.Name):  # `DATABASES["default"].setdefault("OPTIONS", {})`: that part, changed now
        return change(ev, frame_of, base, state, lambda d: ev.mutated(d, func.attr, call, frame))

    def compute() -> Any:
        current = ev.force(ev.eval(base, frame))
        return containers.lift(ev, [current], lambda d: ev.mutated(d, func.attr, call, frame))

    return {**state, base.id: Thunk(base, frame, compute=compute)}


def popping_each_time(
    ev: Interpreter,
    frame_of: FrameOf,
    comp: ast.ListComp | ast.DictComp | ast.SetComp | ast.GeneratorExp,
    call: ast.Call,
    state: State,
) -> State:
    """`d.pop(key, ...)` once per item of a comprehension: `d` without each key the items give, worked out when
    read (kept whole when the scan cannot tell the keys)."""
    assert isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name)
    frame, base = frame_of(state), call.func.value
    keys_of = ast.copy_location(ast.DictComp(call.args[0], ast.Constant(None), comp.generators), comp)

    def without(d: Any, keys: DictV) -> Any:
        if not isinstance(d, DictV):
            return d
        result = containers.copy_dict(d)
        for key in keys.items:
            result.items.pop(key, None)
        return result

    def compute() -> Any:
        current = ev.force(ev.eval(base, frame))
        keys = ev.force(ev.eval(keys_of, frame))
        return containers.lift(ev, [current], lambda d: without(d, keys)) if isinstance(keys, DictV) else current

    return {**state, base.id: Thunk(base, frame, compute=compute)}


def mutating_call(ev: Interpreter, frame_of: FrameOf, call: ast.Call, state: State) -> State:
    """`kwargs.update(...)`, `options.setdefault(...)`, `parser.read(...)`, `config.add_settings(...)`: the
    receiver, changed."""
    func = call.func
    if (set_name := _set_attribute(call)) is not None:  # `object.__setattr__(self, "_cfg", cfg)`: `self._cfg = cfg`
        frame, (holder, attr) = frame_of(state), set_name.split(".", 1)
        value = ev.eval(call.args[2], frame)
        scope = frame.scope if isinstance(frame.scope, (ast.FunctionDef, ast.AsyncFunctionDef)) else None
        own = scope is not None and bool(scope.args.args) and scope.args.args[0].arg == holder  # (a method's self)
        held = None if own else ev.force(ev.eval(call.args[0], frame))  # `setattr(cfg, "x", v)` on what it holds
        return {
            **state,
            set_name: value,
            **({holder: ev.with_attribute(held, attr, value)} if held is not None else {}),
        }
    if isinstance(func, ast.Name) and (set_globals := global_setter((frame := frame_of(state)).module.tree, call)):
        caller = frame.scope  # `set_config(config)`: the module's global, not a local of the caller's of that name
        local = {*ev.local_names(caller), *parameter_names(caller)} if isinstance(caller, FunctionNode) else set()
        return {**state, **{name: ev.eval(value, frame) for name, value in set_globals if name not in local}}
    if not isinstance(func, ast.Attribute):
        return state
    if func.attr in CONFIGMANAGER_LOADS:
        state = configmanager_load(ev, frame_of, call, state)
    names = _module_names(ev, frame_of, call, state)
    if names is not None:
        return names
    if func.attr not in MUTATORS and not ev.mutator(func.attr):
        return state
    inner = func.value
    setdefault = (
        isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute) and inner.func.attr == "setdefault"
    )
    if setdefault and not _setdefault(inner):  # `kwargs.setdefault("connect_args", {}).update(...)` (pycroft): a
        return state  # setdefault the scan cannot read changes nothing it knows (change() reads the others)
    frame = frame_of(state)
    if isinstance(inner, ast.Name) and _reads(call, inner.id):  # `d.update({... for a in d.items()})`: on each side
        name = inner.id  # of a test, what d holds there (not the other side's)
        return change(
            ev, frame_of, inner, state, lambda d: ev.mutated(d, func.attr, call, frame_of({**state, name: d}))
        )
    return change(ev, frame_of, inner, state, lambda d: ev.mutated(d, func.attr, call, frame))


def _reads(call: ast.Call, name: str) -> bool:
    arguments = [*call.args, *(k.value for k in call.keywords)]
    return any(isinstance(n, ast.Name) and n.id == name for arg in arguments for n in ast.walk(arg))


def configmanager_load(ev: Interpreter, frame_of: FrameOf, call: ast.Call, state: State) -> State:
    """configmanager's `config.yaml.load(path)`, `config.load_values(...)`, `config.postgres.load_values(...)`: what
    it loads is the deployment's, so the config the name holds is unknown from there on."""
    root: ast.expr = call.func
    while isinstance(root, ast.Attribute):
        root = root.value
    frame = frame_of(state)
    held = ev.force(ev.eval(root, frame)) if isinstance(root, ast.Name) else None  # (a module's, in a function too)
    if not (isinstance(held, HolderV) and held.dotted == CONFIGMANAGER):
        return state
    assert isinstance(root, ast.Name)
    return {**state, root.id: unknown(frame.module, call, why=f"{root.id} (what {frame.module.segment(call)} loads)")}


def _set_attribute(call: ast.Call) -> str | None:
    """`setattr(obj, "x", v)`, `object.__setattr__(obj, "x", v)` (mlrun's Config, whose own `__setattr__` is
    not to run): the name `obj.x` the flow reads back."""
    found = attribute_set(call)
    attr = named_attribute(found[1]) if found is not None else None
    return f"{found[0]}.{attr}" if found is not None and attr is not None else None


def _module_names(ev: Interpreter, frame_of: FrameOf, call: ast.Call, state: State) -> State | None:
    """`vars().update(config_from_yaml)`, `globals().update(...)` in a module's body (openedx's settings): the
    names the dict gives; a dict the scan cannot read (a YAML file the deployment names) may set any setting."""
    frame = frame_of(state) if updates_names(call) else None
    if frame is None or frame.scope is not None:  # (a function's own names: not the module's)
        return None
    given = ev.force(ev.eval(call.args[0], frame))
    if isinstance(given, DictV) and not given.opaque:
        return {**state, **given.items}
    return settings_unknown(state, frame.module.where(call), f"(what {frame.module.segment(call.args[0])} sets)")


def _setdefault(node: ast.expr) -> bool:
    """`d.setdefault(key, default)` (positional arguments): a part of `d` a statement may change."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "setdefault"
        and bool(node.args)
        and not node.keywords
    )


def library_effect(ev: Interpreter, frame_of: FrameOf, call: ast.Call, state: State) -> State:
    """A library call handed the module's own names, `django_heroku.settings(locals())` (or that runs files in
    them, django-split-settings' `include(...)`): the names it sets."""
    if not hands_names(call):
        return handed_modules(ev, frame_of(state), call, state)
    frame = frame_of(state)
    func = ev.force(ev.eval(call.func, frame))
    changed = ev.library_effect(func.dotted, state, call, frame) if isinstance(func, ExternalRef) else {}
    return {**state, **changed} if changed else state


# what a library function named so does to a module it is handed: put other settings in it (not read it: a logger's
# `info(..., config)`, click's `echo(config)`, Celery's `config_from_object(config)`)
CHANGERS = re.compile(r"(?:^|_)(?:register|overlay|override|patch|merge|apply|inject|populate|update)", re.IGNORECASE)


def handed_modules(ev: Interpreter, frame: Frame, call: ast.Call, state: State) -> State:
    """A library's call handed a module of the project by name (customer-service-api's
    `pmc_config.register_config(config, env=env)`, which overlays the env's settings on it): what the function
    reads of that module after it is the library's to say (unknown)."""
    changes = CHANGERS.search(last_name(call.func) or "") is not None  # (a word of its name: not `dispatch`)
    handed = [*call.args, *(k.value for k in call.keywords)]  # (`register_config(config=config)` too)
    given = [a for a in handed if isinstance(a, ast.Name) and isinstance(ev.force(ev.eval(a, frame)), ModuleRef)]
    func = ev.force(ev.eval(call.func, frame)) if given and changes else None
    if not isinstance(func, ExternalRef):
        return state
    why = f"(changed by {func.dotted.rpartition('.')[2]}(...))"
    return {**state, **{a.id: unknown(frame.module, a, why=f"{a.id} {why}") for a in given}}


def loop_places(
    ev: Interpreter, frame: Frame, stmt: ast.For | ast.AsyncFor, count: int
) -> list[tuple[ast.expr, ast.Name]] | None:
    """For `for v in d.values()` (or `for k, v in d.items()`), each item's place in the dict (`d["k"]`) and
    the loop's name for it: the body's changes to that name are the dict's, they are one object."""
    looped = looped_item(stmt)
    if looped is None or not isinstance(looped[1], (ast.Name, ast.Attribute)):
        return None
    name, place = looped
    mapping = ev.force(ev.eval(place, frame))
    if not isinstance(mapping, DictV) or mapping.opaque:
        return None
    here = stmt.target
    replaced = any(  # `d[k] = V.model_validate(v)`: the body puts a new item in the dict itself
        isinstance(n, ast.Subscript) and isinstance(n.ctx, ast.Store) and ast.dump(n.value) == ast.dump(place)
        for b in stmt.body
        for n in ast.walk(b)
    )
    if len(mapping.items) != count or replaced:
        return None
    item = [ast.Subscript(place, ast.copy_location(ast.Constant(key), here), ast.Store()) for key in mapping.items]
    return [(ast.copy_location(subscript, here), name) for subscript in item]


def deleted(ev: Interpreter, frame_of: FrameOf, stmt: ast.Delete, state: State) -> State:
    """`del x`, `del d["key"]`: the names it unbinds, the keys it takes out of a dict."""
    for target in stmt.targets:
        state = unbound(ev, frame_of, target, state)
        if isinstance(target, ast.Subscript):
            state = change(
                ev, frame_of, target.value, state, partial(containers.without, ev, target=target, frame=frame_of(state))
            )
    return state


def _not_handed_back(ev: Interpreter, source: Module, importer: Module) -> set[str] | None:
    """The names a module that star-imports its importer gives of its own: any it names in its code (binds,
    changes, reads: `db = DATABASES["default"]` changes the shared dict through another name) or gets from its
    other star imports (None: any, one of them being a module the tree lacks); the rest are the importer's."""
    named = {node.id for node in ast.walk(source.tree) if isinstance(node, ast.Name)}
    own = {*named, *source.assigns, *source.functions, *source.classes, *source.imports}
    for star in source.star_imports:
        other = ev.project.module_by_name(star, source.path)
        if other is None:  # (a module the tree lacks may set any of them)
            return None
        if other is not importer:
            own |= {*other.assigns, *other.mutations, *other.functions, *other.classes, *other.imports}
    return own


def imported(ev: Interpreter, module: Module, stmt: ast.Import | ast.ImportFrom, state: State, lazy: bool) -> State:
    """The names an import statement binds (`lazy`: a function's, read when asked), over what the state held."""
    star = isinstance(stmt, ast.ImportFrom) and any(alias.name == "*" for alias in stmt.names)
    before, state = state, dict(state)
    base = resolve_relative(module, stmt.module, stmt.level) if star and isinstance(stmt, ast.ImportFrom) else None
    if base and required_absent(ev.project, module, base, stmt):  # seed's local_untracked
        state = settings_unknown(state, module.where(stmt), f"(what {base} sets; the tree lacks it)")
    source = ev.project.module_by_name(base, module.path) if base else None
    back = source is not None and any(ev.project.module_by_name(s, source.path) is module for s in source.star_imports)
    own = _not_handed_back(ev, source, module) if source is not None and back else None
    for local, value in ev.imported(module, stmt, lazy=lazy):
        # a settings_local that star-imports the settings importing it hands back what it does not change: the
        # importer's own, as far as it had run (opensource-job-portal's)
        if own is not None and local not in own:
            continue
        earlier = before.get(local)
        # `from .local_settings import *` setting a name under a test: elsewhere the importer's value stands
        state[local] = value if not star or earlier is None else over(ev, value, earlier)
    unread = _names_unread(ev, source) if source is not None and source is not module else None
    return settings_unknown(state, *unread) if unread is not None else state


def _names_unread(ev: Interpreter, source: Module) -> tuple[str, str] | None:
    """A module whose top runs `vars().update(x)` (or globals()'s) of a mapping the scan cannot read (a YAML
    file the deployment names: edx-analytics-dashboard's yaml_config): a star import of it may bind any setting.
    Where it runs, and what it updates with."""
    if "vars()" not in source.source and "globals()" not in source.source:
        return None
    for stmt in source.tree.body:
        call = stmt.value if isinstance(stmt, ast.Expr) else None
        if isinstance(call, ast.Call) and updates_names(call) and call.args:
            given = ev.force(ev.eval(call.args[0], Frame(source)))
            if not isinstance(given, DictV) or given.opaque:
                return source.where(call), f"(what {source.display}'s {source.segment(call.args[0])} sets)"
    return None
