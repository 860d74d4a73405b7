"""Dicts, lists and branch values as the scan holds them: copied when a statement changes them, never shared.

`settle` turns the raw `Branches` a join of two paths leaves into their canonical form: nested branches
flattened, equal values merged (their tests joined by "or"), dicts of branches turned into one dict whose
differing keys are branches. `with_item`, `mutated` and the rest are what statements do to a dict or list.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Callable
from dataclasses import replace
from math import prod
from typing import Any, TypeGuard

from pool_doctor.scan import envkeys, fieldtext
from pool_doctor.scan.conditions import negated
from pool_doctor.scan.finder import Module
from pool_doctor.scan.kinds import (
    SV,
    Branches,
    DictV,
    ExternalRef,
    Frame,
    InstanceRef,
    Interpreter,
    ListV,
    Thunk,
    env_of,
    is_known,
    not_set,
    unknown,
)
from pool_doctor.scan.literals import literal_prefix
from pool_doctor.scan.model import NOT_SET
from pool_doctor.scan.nodes import key_written, written_start

CHOSEN = "(chosen by a test of its variable)"  # a known value's marker: decided_by gave it the variable

MAX_COMBINATIONS = 256  # the operands' values tried together (lift): past this, each one's with no variable set
MAX_OPTIONS = 8  # a value with more possible values than this (a dict's: 4x) is unknown: tests, not configuration

# A config's own reading of its variables: the method, the prefix it takes by default and what joins it to a key
# (Flask 2.1's `from_prefixed_env()`: FLASK_<KEY>; Sanic 25's `load_environment_vars()`: SANIC_<KEY>)
PREFIXED = {"from_prefixed_env": ("FLASK", "_"), "load_environment_vars": ("SANIC_", "")}


def settle(ev: Interpreter, value: Branches) -> Any:
    if value.settled:
        return value
    options: list[tuple[str, Any, bool]] = []  # (test, value, whether it is the path with no environment set)
    for index, (when, option) in enumerate(value.options):
        chosen = value.default == index
        option = ev.force(option)
        if isinstance(option, Branches):
            inner, inner_default = settle_options(ev, option)
            options.extend(
                (ev.conditions.both(when, inner_when), item, chosen and inner_default == at)
                for at, (inner_when, item) in enumerate(inner)
            )
        else:
            options.append((when, option, chosen))
    merged: list[tuple[str, Any, bool]] = []
    for when, option, chosen in options:
        for index, (other_when, other, other_chosen) in enumerate(merged):
            if same(other, option):  # (one value: where the path with no variable set writes it)
                kept = option if chosen and not other_chosen else other
                merged[index] = (ev.conditions.either(other_when, when), kept, other_chosen or chosen)
                break
        else:
            merged.append((when, option, chosen))
    default = next((index for index, (_, _, chosen) in enumerate(merged) if chosen), None)
    if len(merged) == 1:
        return merged[0][1]
    dicts = all(isinstance(o, DictV) or (isinstance(o, SV) and o.expr == NOT_SET) for _, o, _ in merged)  # (a
    if len(merged) > MAX_OPTIONS * (4 if dicts else 1):  # dict each test adds a key to: Flagsmith's DATABASES)
        env = env_of(*(option for _, option, _ in merged if isinstance(option, SV)))  # one that can change it
        rest = SV(None, None, env, known=False, expr=many_values([option for _, option, _ in merged]))
        if default is None:
            return rest
        # the value with no variable set, and the others as one unknown: a test of it is still the environment's
        # (personal-finance-bot's `missing` list of seven required names, then `if missing: raise`)
        when, chosen, _ = merged[default]
        return Branches([(when, chosen), (negated(when), rest)], settled=True, default=0)
    pairs = [(when, option) for when, option, _ in merged]
    if any(isinstance(option, DictV) for _, option in pairs) and all(
        isinstance(option, DictV) or _unread(option) for _, option in pairs
    ):  # a dict on some paths, one the scan cannot read on the others (`json.loads(...) if X else {}`)
        pairs = [(when, option if isinstance(option, DictV) else _opaque(option)) for when, option in pairs]
        return dict_of_branches(pairs, default)
    return Branches(pairs, settled=True, default=default)


def many_values(options: list[Any]) -> str:
    """What a value of too many possible texts shows: how many they are, and the scheme all of them start with
    where they share one (`'postgresql+psycopg2://' + ...`, which names the driver; nothing past it, a user).
    A text cut for display counts as nodes.written_start reads it."""
    starts = [o.value if is_known(o) else written_start(o.expr) if isinstance(o, SV) else None for o in options]
    found = [start for start in starts if isinstance(start, str)]
    common = os.path.commonprefix(found) if len(found) == len(options) else ""  # noqa: RUF071 (texts, no paths)
    scheme = common[: common.index("://") + 3] if "://" in common else ""
    return (
        f"{scheme!r} + ...  # one of {len(options)} values, depending on tests"
        if scheme
        else (f"one of {len(options)} values, depending on tests")
    )


def settle_options(ev: Interpreter, value: Branches) -> tuple[list[tuple[str, Any]], int | None]:
    """The options of a value with branches, settled, and the one in effect with no environment set."""
    settled = settle(ev, value)
    if isinstance(settled, Branches):
        return settled.options, settled.default
    return [("", settled)], 0


def same(a: Any, b: Any) -> bool:
    if a is b or not (isinstance(a, SV) and isinstance(b, SV)):
        return a is b
    if a.known and b.known:
        return type(a.value) is type(b.value) and a.value == b.value and a.env == b.env
    own = a.env and a.expr in (f"${a.env}", f"${a.env} (required, no default)")  # (a variable's value as it is)
    return not a.known and not b.known and a.expr == b.expr and (a.expr == NOT_SET or bool(own))


def dict_of_branches(options: list[tuple[str, DictV]], default: int | None) -> DictV:
    """Several dicts, one per test, as one dict whose keys hold each test's value (not set where a dict lacks
    the key)."""
    first = options[default if default is not None else 0][1]  # where the dict is written, with no environment
    keys = list(dict.fromkeys(key for _, option in options for key in option.items))
    items: dict[str, Any] = {}
    for key in keys:  # a key a dict the scan cannot read may hold: unknown there, not "not set"
        values = [held(option, key, _MISSING) for _, option in options]
        if all(value is values[0] for value in values):
            items[key] = values[0]
        else:
            items[key] = Branches(
                [
                    (when, not_set(option.unset_by.get(key)) if value is _MISSING else value)
                    for (when, option), value in zip(options, values)
                ],
                default=default,
            )
    opaque = list(dict.fromkeys(text for _, option in options for text in option.opaque))
    empty = first.empty_unless if all(o.empty_unless == first.empty_unless for _, o in options) else None
    return DictV(items, first.origin, opaque, first.line, first.end_line, first.file, dict(first.unset_by), empty)


_MISSING = object()


def held(value: DictV, key: str, missing: Any = None) -> Any:
    """What a dict holds at `key`: its item; unknown where a part it could not read may hold it; else `missing`
    (not set)."""
    if key in value.items:
        return value.items[key]
    if value.opaque:
        return SV(None, value.origin, known=False, expr=f"{value.opaque[0].removeprefix('**')}[{key!r}]")
    return not_set() if missing is None else missing


def _unread(value: Any) -> bool:
    return isinstance(value, SV) and not value.known and value.expr != NOT_SET and not value.branches


def _opaque(value: SV) -> DictV:
    return DictV({}, value.from_, [f"**{value.expr or '?'}"])


def lift(ev: Interpreter, values: list[Any], fn: Callable[..., Any]) -> Any:
    """`fn` over the operands; an operand with branches gives a result per branch. Past MAX_COMBINATIONS, the
    operands with no variable set alone (a DSN of a dozen keys each set per region: 11^12 runs otherwise)."""
    split = [(at, settle_options(ev, v)) for at, v in enumerate(map(ev.force, values)) if isinstance(v, Branches)]
    if prod(len(options) for _, (options, _) in split) > MAX_COMBINATIONS:  # (one undecided: unknown there, the
        values = [ev.force(v) for v in values]  # rest as written: a URL's scheme stays)
        for at, (options, default) in split:
            values[at] = options[default][1] if default is not None else SV(None, None, known=False, expr="...")
    for index, value in enumerate(values):
        value = ev.force(value)
        if isinstance(value, Branches):
            options, default = settle_options(ev, value)
            return Branches(
                [(when, lift(ev, [*values[:index], option, *values[index + 1 :]], fn)) for when, option in options],
                default=default,
            )
        values[index] = value
    return fn(*values)


def truth(ev: Interpreter, value: Any) -> bool | None:
    """Whether a test holds with no environment variable set, when the scan can tell; None when it cannot."""
    return decide(ev, value)[0]


def decide(ev: Interpreter, value: Any) -> tuple[bool | None, bool]:
    """(whether a test holds with no environment variable set, or None; whether the environment can change it)."""
    value = ev.force(value)
    if isinstance(value, SV):
        if not value.known:
            return None, False
        try:
            return bool(value.value), value.env is not None
        except Exception:
            return None, False
    if isinstance(value, DictV):
        if not value.items:
            return (None if value.opaque else False), False
        # A key set with no variable set: true (a variable may empty it where every such key may be unset).
        # Every key set only where a variable is: true or false as it is, which `not` and `or` would not carry,
        # so unknown (django-configurations' `DatabaseURLValue(None)`: `{}` while DATABASE_URL is unset).
        held = [_held_where(ev, item) for item in value.items.values()]
        surely = [env for verdict, env in held if verdict]
        if surely:
            return True, all(surely)
        return (False, False) if all(verdict is False and not env for verdict, env in held) else (None, False)
    if isinstance(value, ListV):
        return bool(value.items), False
    if isinstance(value, Branches):
        options, default = settle_options(ev, value)
        verdicts = [decide(ev, option) for _, option in options]
        if len({verdict for verdict, _ in verdicts}) == 1:
            return verdicts[0][0], any(env for _, env in verdicts)
        if default is not None and verdicts[default][0] is not None:
            return verdicts[default][0], True
        return None, False
    return ev.truth_of_ref(value), False


def _held_where(ev: Interpreter, item: Any) -> tuple[bool | None, bool]:
    """Whether a dict's key is set with no variable set (and whether a variable changes that): django-
    configurations' `DatabaseURLValue(None)` is `{alias: ...}` only where its variable is set, else `{}`."""
    item = ev.force(item)
    if isinstance(item, SV) and not item.known and item.expr == NOT_SET:
        return False, False
    if not isinstance(item, Branches):
        return True, False
    options, default = settle_options(ev, item)
    unset = [isinstance(o, SV) and not o.known and o.expr == NOT_SET for _, o in options]
    if not any(unset):
        return True, False
    return (None, False) if default is None else (not unset[default], True)


def copy_dict(value: DictV) -> DictV:
    return replace(value, items=dict(value.items), opaque=list(value.opaque), unset_by=dict(value.unset_by))


def as_dict(value: Any, text: str, where: str | None) -> DictV:
    """A dict to change: a copy of it, or (a mapping the scan cannot read) an empty one whose other keys are opaque."""
    if isinstance(value, DictV):
        return copy_dict(value)
    return DictV({}, where, [f"**{text}"])


def with_item(
    ev: Interpreter, base: Any, key: Any, value: Any, node: ast.AST, module: Module, new: bool = False
) -> Any:
    """`base[key] = value`, on a copy; `new`: where the code has tested that `key` is not in `base`."""
    key = ev.force(key)
    if isinstance(base, ListV) and is_known(key) and isinstance(key.value, int):
        items = list(base.items)
        if -len(items) <= key.value < len(items):
            items[key.value] = value
            return ListV(items, base.origin)
        return base
    if (held := ev.held_items(base)) is not None:  # a project dict subclass: the
        return replace(base, items=with_item(ev, held, key, value, node, module))  # same object (MaxKB's Config)
    if not isinstance(base, DictV) and not _maybe_mapping(base):
        return base
    shown = node.value if isinstance(node, ast.Subscript) else node
    result = as_dict(base, module.segment(shown), module.where(node))
    key = settle(ev, key) if isinstance(key, Branches) else key
    choices = key.options if isinstance(key, Branches) else []
    if is_known(key) and isinstance(key.value, (str, int)):
        result.items[str(key.value)] = value
    elif choices and all(is_known(k) and isinstance(k.value, (str, int)) for _, k in choices):
        for index, (when, choice) in enumerate(choices):  # one of known keys, by a test (`"timeout" if sqlite
            old = result.items.get(str(choice.value), not_set())  # else "connect_timeout"`)
            default = None if key.default is None else 0 if key.default == index else 1
            result.items[str(choice.value)] = Branches([(when, value), (negated(when), old)], default=default)
    else:  # a key the scan cannot name (anitya's `config[key.upper()] = file_config[key]` from a file read at run
        # time): any key already there may be the one it overwrites
        named = envkeys.env_key(key, result, node.value, value, ev.force) if isinstance(node, ast.Subscript) else None
        result.opaque.extend([] if named else [f"[{module.segment(node)}]"])
        text = module.segment(node.slice) if isinstance(node, ast.Subscript) else None
        prefix = literal_prefix(key.expr) if isinstance(key, SV) else None  # `f"read_{suffix}"`: no "default"
        for name, old in list(result.items.items()) if text and not new else []:
            if (prefix is not None and not name.startswith(prefix)) or (named and name.startswith("$")):
                continue
            test = f"{text} == {name!r}"
            result.items[name] = Branches([(f"not ({test})", old), (test, value)])
        if named and text:  # (and an item of its own where it names none of them: a Django alias)
            envkeys.put(result, named, value, text)
    return result


def item(ev: Interpreter, base: Any, key: Any) -> Any:
    key = ev.force(key)
    if isinstance(base, DictV) and is_known(key):  # (a key a part it could not read may hold: unknown)
        return ev.force(held(base, str(key.value)))
    if (own := envkeys.read(base, key, ev.force)) is not None:
        return ev.force(own)
    if isinstance(base, (SV, ExternalRef)) and _maybe_mapping(base):  # a part of a mapping the scan cannot read:
        text = base.expr if isinstance(base, SV) else base.dotted  # unknown, not unset
        where, env = (base.from_, base.env) if isinstance(base, SV) else (None, None)
        return SV(None, where, env, known=False, expr=f"{text}[{key.value if is_known(key) else '?'!r}]")
    return SV(None, None, known=False, expr=NOT_SET)


def without(ev: Interpreter, base: Any, target: ast.Subscript, frame: Frame) -> Any:
    """`del base[key]` / `base.pop(key)`, on a copy."""
    key = ev.force(ev.eval(target.slice, frame))
    if isinstance(base, DictV) and is_known(key):
        result = copy_dict(base)
        envkeys.drop(result, str(key.value))
        return result
    return base


def mutated(ev: Interpreter, base: Any, method: str, call: ast.Call, frame: Frame) -> Any:
    """What `base.update(...)`, `.setdefault(k, v)`, `.pop(k)`, `.append(x)`, `.extend(xs)`, `.clear()` leave."""
    module = frame.module
    if isinstance(base, ListV):
        if method == "append" and len(call.args) == 1:
            return ListV([*base.items, Thunk(call.args[0], frame)], base.origin)
        if method == "extend" and len(call.args) == 1:
            extra = ev.force(ev.eval(call.args[0], frame))
            if isinstance(extra, ListV):
                return ListV([*base.items, *extra.items], base.origin)
            return SV(None, module.where(call), known=False, expr=module.segment(call))
        if method == "clear":
            return ListV([], module.where(call))
        return base
    if not isinstance(base, DictV) and not _maybe_mapping(base):
        return base
    text = module.segment(call.func.value if isinstance(call.func, ast.Attribute) else call)
    if method == "update":
        result = as_dict(base, text, module.where(call))
        for arg in call.args:
            before, had = len(result.opaque), dict(result.items)
            ev.merge(result, ev.eval(arg, frame), module.segment(arg))
            app = any(t.endswith(".config") for t in result.opaque[:before])  # (flaskconfig.app's)
            new = [
                t[1:-1] if t[0] == "[" else t.removeprefix("**") for t in result.opaque[before:] if t[0] == "[" or app
            ]
            for written in new:  # a dict of keys the scan cannot name (squad's, from a variable), or any mapping it
                for name, old in had.items():  # cannot read into an app's config: any key may be overwritten
                    if result.items.get(name) is old:
                        unread = SV(None, module.where(call), known=False, expr=written)
                        test = f"{written} sets {name!r}"
                        result.items[name] = Branches([(f"not ({test})", old), (test, unread)])
        for kw in call.keywords:
            if kw.arg is None:
                ev.merge(result, ev.eval(kw.value, frame), module.segment(kw.value))
            else:
                result.items[kw.arg] = Thunk(kw.value, frame)
        return result
    if method == "setdefault" and call.args:
        key = ev.force(ev.eval(call.args[0], frame))
        if not is_known(key):
            return base
        value: Any = Thunk(call.args[1], frame) if len(call.args) > 1 else SV(None, module.where(call))
        if isinstance(base, DictV) and str(key.value) in base.items:  # set on some paths: the default on the others
            present = ev.force(base.items[str(key.value)])
            unset = [
                isinstance(o := ev.force(option), SV) and o.expr == NOT_SET
                for _, option in getattr(present, "options", [])
            ]
            if not any(unset):
                return base
            result = copy_dict(base)
            options = [(when, value if gone else option) for (when, option), gone in zip(present.options, unset)]
            result.items[str(key.value)] = Branches(options, default=present.default)
            return result
        result = as_dict(base, text, module.where(call))
        if result.opaque and key_written(ev.project.modules.values(), str(key.value)):
            value = unknown(module, call)  # a mapping the scan cannot read, of a key the app's config sets (tahrir)
        result.items[str(key.value)] = value  # else the mapping's own value, if it has one, is opaque: the default
        return result
    if method == "pop" and call.args and isinstance(base, DictV):
        key = ev.force(ev.eval(call.args[0], frame))
        if is_known(key):
            result = copy_dict(base)
            envkeys.drop(result, str(key.value))
            return result
        return base
    if method == "clear":
        return DictV({}, module.where(call))
    if method in PREFIXED and isinstance(base, DictV):  # each key then its variable's, when set
        default, joint = PREFIXED[method]
        given = call.args[0] if call.args else next((kw.value for kw in call.keywords if kw.arg == "prefix"), None)
        prefix = given.value if isinstance(given, ast.Constant) else default if given is None else None
        if not isinstance(prefix, str):
            return base if method == "from_prefixed_env" else as_dict(base, text, module.where(call))
        result = copy_dict(base)
        result.items = {k: fieldtext.named(ev.force(v), f"{prefix}{joint}{k}") for k, v in base.items.items()}
        return result
    return base


def _maybe_mapping(value: Any) -> bool:
    """An object the scan cannot read, that the code uses as a mapping (a config object, a parameter)."""
    if isinstance(value, InstanceRef):
        return True  # a project class changed with a dict's methods: a mapping (CKAN's CKANConfig)
    if isinstance(value, ExternalRef):  # a library's setting a star import gives (open-zaak's DATABASES)
        return value.dotted.rpartition(".")[2].isupper()
    return isinstance(value, SV) and not value.known and value.expr != NOT_SET


def unpack(ev: Interpreter, value: Any, count: int) -> list[Any] | None:
    """`a, b = value`: its items, when the scan can tell them."""
    value = ev.force(value)
    if isinstance(value, ListV) and len(value.items) == count:
        return list(value.items)
    if is_known(value) and isinstance(value.value, (list, tuple, str)) and len(value.value) == count:
        return [SV(item, value.from_, value.env, source=value.source) for item in value.value]
    if isinstance(value, Branches):  # `return a, b` on two paths (onyx's pool budget): each item, on each path
        options, default = settle_options(ev, value)
        each = [(when, unpack(ev, option, count)) for when, option in options]
        if all(items is not None for _, items in each):
            return [
                Branches([(when, items[i]) for when, items in each if items], default=default) for i in range(count)
            ]
    return None


def items_of(ev: Interpreter, value: Any) -> list[Any] | None:
    """What a loop over `value` goes through, when the scan knows: a list's items, a dict's keys."""
    value = ev.force(value)
    if isinstance(value, ListV):
        return list(value.items)
    if isinstance(value, DictV) and not value.opaque:
        return [SV(key, value.origin) for key in value.items]
    if is_known(value) and isinstance(value.value, (list, tuple)):
        return [SV(item, value.from_, value.env) for item in value.value]
    return None


def pairs(ev: Interpreter, value: Any) -> dict[str, Any] | None:
    """A list of known (key, value) pairs as a dict's items; else None."""
    if not isinstance(value, ListV):
        return None
    out: dict[str, Any] = {}
    for item in value.items:
        pair = ev.force(item)
        key = ev.force(pair.items[0]) if isinstance(pair, ListV) and len(pair.items) == 2 else None
        if not (is_known(key) and isinstance(key.value, str)):
            return None
        out[key.value] = pair.items[1]
    return out


def dict_items(value: DictV) -> ListV:
    """`d.items()`: (key, value) pairs."""
    return ListV(
        [ListV([SV(key, value.origin), item], value.origin) for key, item in value.items.items()], value.origin
    )


Check = Callable[[Any], "bool | None"]


def narrowing(ev: Interpreter, test: ast.expr, holds: bool) -> tuple[ast.expr, Check, bool] | None:
    """What an `if` test says of one expression on the side where it `holds` (`not`s undone): the expression,
    a check of one value it may hold (whether that value takes this side; None: cannot tell) and the side. None
    for a comparison with anything but a constant."""
    while isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        test, holds = test.operand, not holds
    if isinstance(test, ast.NamedExpr):  # `if url := secret("X"):` says of `url` what it says of the value
        test = test.target
    if isinstance(test, ast.Compare) and isinstance(test.left, ast.NamedExpr):  # `if (url := ...) is not None:`
        test = ast.Compare(test.left.target, test.ops, test.comparators)
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], (ast.Is, ast.IsNot)):
        if not (isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value is None):
            return None
        wanted_none = isinstance(test.ops[0], ast.Is)

        def is_none(option: Any) -> bool | None:
            if isinstance(option, SV) and not option.known:
                return None
            return (isinstance(option, SV) and option.value is None) == wanted_none

        return test.left, is_none, holds
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], (ast.Eq, ast.NotEq)):
        if not isinstance(test.comparators[0], ast.Constant):
            return None
        constant, equal = test.comparators[0].value, isinstance(test.ops[0], ast.Eq)

        def equals(option: Any) -> bool | None:  # `if v == "":`
            return (option.value == constant) == equal if is_known(option) else None

        return test.left, equals, holds
    return test, lambda option: truth(ev, option), holds


def absent_key(test: ast.expr, holds: bool) -> tuple[str, ast.expr] | None:
    """`(name, mapping)` when, on the side of `test` where it `holds`, the key `name` is not in `mapping` (the
    `else` of `if entry in original:`): a write of that key there adds one, never replacing a key it has."""
    while isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        test, holds = test.operand, not holds
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], (ast.In, ast.NotIn))):
        return None
    left = test.left if isinstance(test.left, ast.Name) else None
    return (left.id, test.comparators[0]) if left is not None and isinstance(test.ops[0], ast.NotIn) == holds else None


def on_side(option: tuple[str, Any], check: Check, holds: bool, default: bool) -> tuple[str, Any] | None:
    """One branch of a value on the side of a test where it `holds`: itself when it may take that side; the
    branch in effect with no variable set (`default`), when it is a variable's default that does not, the
    variable's value (unknown: only a value it is set to gets there); else None (it never gets there)."""
    when, value = option
    if check(value) in (holds, None):
        return option
    if default and variable_text(value) and value.known:
        return when, SV(None, value.from_, value.env, known=False, expr=f"${value.env}")
    return None


def variable_text(value: Any) -> TypeGuard[SV]:
    """A value a variable's own text gives where it is set (not one a test of the variable chose: CHOSEN)."""
    return isinstance(value, SV) and value.env is not None and value.expr != CHOSEN


def decided_by(ev: Interpreter, values: list[Any], index: int, variable: str) -> Any:
    """`values[index]`, the value on the path taken with no variable set, where a test of `variable` chose that path
    over the others (`if DB_ENGINE == "postgres": ... else: {"ENGINE": "...sqlite3"}`): what it holds that the
    other paths do not is the variable's to change, where no variable of its own is."""
    return _chosen(ev, values[index], variable, [value for at, value in enumerate(values) if at != index])


def _chosen(ev: Interpreter, value: Any, variable: str, others: list[Any]) -> Any:
    if any(other is value for other in others):
        return value  # the same on another path: the test did not choose it (a dict's untouched keys)
    if isinstance(value, Thunk):
        return Thunk(
            value.node,
            value.frame,
            compute=lambda: _chosen(ev, ev.force(value), variable, [ev.force(o) for o in others]),
        )
    if isinstance(value, SV):  # (CHOSEN: not the variable's own text, which a later test of the value narrows to)
        # the same value on another path (a class's dict read back afresh there, an equal literal): not the test's
        same = [o for o in map(ev.force, others) if isinstance(o, SV) and o.known and value.known]
        if any(type(o.value) is type(value.value) and o.value == value.value for o in same):
            return value
        return replace(value, env=variable, expr=CHOSEN) if value.known and value.env is None else value
    if isinstance(value, DictV):
        dicts = [other for other in map(ev.force, others) if isinstance(other, DictV)]
        items = {
            key: _chosen(ev, item, variable, [d.items.get(key) for d in dicts]) for key, item in value.items.items()
        }
        return _gaining(replace(value, items=items), variable, dicts)
    if isinstance(value, Branches):  # an earlier test's sides: the keys this test alone gives are its own
        dicts = [o for other in map(ev.force, others) for o in _sides(ev, other) if isinstance(o, DictV)]
        options = [(when, _gaining(ev.force(option), variable, dicts)) for when, option in value.options]
        if all(new is ev.force(old) for (_, new), (_, old) in zip(options, value.options)):
            return value
        return Branches(options, default=value.default)
    return value


def _gaining(value: Any, variable: str, others: list[DictV]) -> Any:
    """A dict, with the keys only the others have as unset until `variable` is set (kept if it had none)."""
    if not isinstance(value, DictV) or value.opaque:
        return value
    gained = {key: variable for d in others for key in d.items if key not in value.items}
    if not gained.keys() - value.unset_by.keys():
        return value
    return replace(value, unset_by={**gained, **value.unset_by})


def _sides(ev: Interpreter, value: Any) -> list[Any]:
    return [ev.force(option) for _, option in value.options] if isinstance(value, Branches) else [value]


def agreeing(body: dict[str, Any], orelse: dict[str, Any], text: str, marker: str) -> tuple[dict[str, Any], ...]:
    """Each side of an `if` on a test of a variable an earlier `if` with the same text tested (`if "X" in
    os.environ:` twice; `marker` says where that one took X as set): the names it split, as its same side left
    them. The environment is the same at both (listenbrainz's manage.py); a loop's `if flag:` on another
    variable each time is no such test."""
    sides = (text, f"not ({text})")
    if not isinstance(body.get(marker), Branches) or {when for when, _ in body[marker].options} != set(sides):
        return body, orelse

    def kept(state: dict[str, Any], side: str) -> dict[str, Any]:
        out = dict(state)
        for name, value in state.items():
            if isinstance(value, Branches) and {when for when, _ in value.options} == set(sides):
                out[name] = next(option for when, option in value.options if when == side)
        return out

    return kept(body, sides[0]), kept(orelse, sides[1])
