"""An evaluated value as the scan reports it: dotted keys, each a `ScannedValue` with its provenance."""

from __future__ import annotations

import ast
import sys
from dataclasses import replace
from typing import Any

from pool_doctor.scan import containers
from pool_doctor.scan.composed import composed_passwords
from pool_doctor.scan.conditions import Conditions
from pool_doctor.scan.expressions import Evaluator
from pool_doctor.scan.files import PathV
from pool_doctor.scan.kinds import (
    SV,
    Branches,
    ClassRef,
    DictV,
    ExternalRef,
    FuncRef,
    InstanceRef,
    ListV,
    PartialRef,
    Thunk,
    env_of,
    not_set,
)
from pool_doctor.scan.model import NOT_SET, ScannedValue, mask_text, passwords_in, without
from pool_doctor.scan.scopes import EXTERNAL_ROOTS

MAX_TEST = 160  # a branch's test, as reported: longer ones are cut


MOCK_MODULES = ("unittest.mock.", "mock.")  # a test's stand-ins: never a value the app runs with
MOCKED = "(a test's mock)"


def makes_none(settings: dict[str, ScannedValue]) -> bool:
    """A pool call that makes no pool: given a test's mock (the test patches the call out), or SQLAlchemy's mock
    engine (`create_engine(url, strategy="mock", executor=dump)`, 1.3 and 1.4: it hands each statement to the
    executor, never connects, holds no pool)."""
    strategy = settings.get("strategy")
    return any(value.expr == MOCKED for value in settings.values()) or (
        strategy is not None and strategy.value == "mock"
    )


DICT_TEXT = "{...}"  # a dict where one value is wanted (its keys are listed by flatten, not here)


def flatten(
    value: Any, evaluator: Evaluator, prefix: str = "", unresolved: list[str] | None = None, depth: int = 0
) -> dict[str, SV]:
    """A settings value as dotted keys (`connect_args.command_timeout`); unreadable `**x` go to unresolved.
    A value with branches gives, for each key any branch has, that key's value in each branch."""
    written, value = value, evaluator.files.as_mapping(evaluator.force(value))
    out: dict[str, SV] = {}
    if isinstance(value, Branches) and depth < 6:
        options, default = containers.settle_options(evaluator, value)
        per_branch = [(when, flatten(option, evaluator, prefix, unresolved, depth + 1)) for when, option in options]
        keys = list(dict.fromkeys(key for _, flat in per_branch for key in flat))
        for key in keys:
            out[key] = branched([(when, flat.get(key)) for when, flat in per_branch], default, evaluator.conditions)
        return out if depth else {key: item for key, item in out.items() if not _unset_alone(item)}
    if isinstance(value, DictV) and depth < 6:
        for key, item in value.items.items():
            out.update(flatten(item, evaluator, f"{prefix}.{key}" if prefix else key, unresolved, depth + 1))
        if unresolved is not None:
            unresolved.extend(f"{prefix}: {text}" if prefix else text for text in value.opaque)
        for key, variable in value.unset_by.items():  # (kept only where a test's sides are joined, below)
            if key not in value.items:
                out[f"{prefix}.{key}" if prefix else key] = not_set(variable)
        if not value.items and not value.opaque and prefix:
            out[prefix] = SV({}, value.origin)
        return out if depth else {key: item for key, item in out.items() if not _unset_alone(item)}
    if isinstance(value, InstanceRef) and depth < 6 and evaluator.classes.is_model(value.cls):
        return flatten(DictV(evaluator.classes.instance_fields(value), None), evaluator, prefix, unresolved, depth + 1)
    if isinstance(value, SV) and value.expr == NOT_SET and depth > 0 and value.env is None:
        return out  # a key this path does not set (nor names the variable that would)
    out[prefix] = leaf(written, evaluator)
    return out


def _unset_alone(value: SV) -> bool:
    """A key no path sets (a variable could, on a path the scan did not keep): not one of the pool's settings."""
    return value.expr == NOT_SET and not value.branches


def one_of(branches: list[SV] | tuple[SV, ...]) -> str:
    """A value with branches as its text says it: `one of: 5 when X, ? when not (X)`."""
    shown = (f"{'not set' if b.expr == NOT_SET else repr(b.value) if b.known else '?'} when {b.when}" for b in branches)
    return f"one of: {', '.join(shown)}"


def branched(options: list[tuple[str, SV | None]], default: int | None, conds: Conditions) -> SV:
    """One key's value on each branch (None: the branch does not set it) as one ScannedValue: the value in
    effect with no environment set when a branch is that (`default`), else unknown; each branch listed."""
    branches: list[SV] = []
    chosen: int | None = None
    flat: list[tuple[str, SV, bool]] = []  # a branch's own branches (a dict's key under a second test) in line
    for index, (when, option) in enumerate(options):
        option = option if option is not None else SV(None, None, known=False, expr=NOT_SET)
        if option.branches:
            flat.extend(
                (
                    conds.both(when, inner.when or ""),
                    replace(inner, when=None),
                    index == default and at == option.chosen,
                )
                for at, inner in enumerate(option.branches)
            )
        else:
            flat.append((when, option, index == default))
    kept = [entry for entry in flat if not conds.impossible(entry[0])]  # (a side no path takes: leftbookclub's)
    flat = kept if kept else flat
    for when, option, is_default in flat:
        for at, earlier in enumerate(branches):
            if containers.same(earlier, option) or (not earlier.branches and _equal(earlier, option)):
                # an equal value is where the branch in effect with no variable set writes it, and a variable
                # either names can change it (not two variables: `os.getenv("A", 5)` on one, `("B", 5)` on the other)
                keep, other = (option, earlier) if is_default else (earlier, option)
                branches[at] = replace(keep, when=conds.either(earlier.when or "", when), env=keep.env or other.env)
                break
        else:
            at = len(branches)
            branches.append(replace(option, when=when))
        if is_default:
            chosen = at
    if len(branches) == 1:
        return replace(branches[0], when=None)
    if chosen is not None:  # the branch in effect with no variable set is listed first (`-|?`: not set unless...)
        branches.insert(0, branches.pop(chosen))
        chosen = 0
    unset_by = next((b.env for b in branches if b.expr == NOT_SET and b.env), None)  # the variable that sets it
    branches = [
        replace(branch, when=_short_test(branch.when or ""), env=None if branch.expr == NOT_SET else branch.env)
        for branch in branches
    ]
    expr = one_of(branches)
    if chosen is not None and branches[chosen].known:
        base = branches[chosen]  # the value with no environment set; a variable another branch reads overrides it
        return replace(
            base, when=None, expr=expr, branches=tuple(branches), env=base.env or env_of(*branches), chosen=0
        )
    env = (branches[chosen].env if chosen is not None else None) or unset_by or env_of(*branches)  # not set: the one
    # that sets it
    where = next((branch.from_ for branch in branches if branch.from_), None)  # not set is written nowhere
    return SV(None, where, env, known=False, expr=expr, branches=tuple(branches), chosen=chosen)


def _short_test(text: str) -> str:
    return text if len(text) <= MAX_TEST else text[: MAX_TEST - 3] + "..."


def _equal(a: SV, b: SV) -> bool:
    two = a.env and b.env and a.env != b.env  # (two variables, each a way to change it)
    return a.known and b.known and type(a.value) is type(b.value) and a.value == b.value and not two


def leaf(value: Any, evaluator: Evaluator) -> SV:
    written = value.frame.module if isinstance(value, Thunk) and value.compute is None else None
    where = written.where(value.node) if written is not None else None  # where the code writes it
    text = written.segment(value.node) if written is not None else None
    value = evaluator.force(value)
    if isinstance(value, SV):
        return value
    if isinstance(value, Branches):
        options, default = containers.settle_options(evaluator, value)
        return branched([(when, leaf(option, evaluator)) for when, option in options], default, evaluator.conditions)
    if isinstance(value, ExternalRef):
        root = value.dotted.split(".", 1)[0]
        if value.dotted.startswith(MOCK_MODULES):
            return SV(None, where or value.where, known=False, expr=MOCKED)
        if root in EXTERNAL_ROOTS or root in sys.stdlib_module_names:  # a library's object, named by its path,
            if value.where is not None and value.where != where:  # where it was first written (not a forwarding)
                return SV(value.dotted, value.where)
            return SV(value.dotted, where or value.where, source=text or value.dotted)
        return SV(None, where, known=False, expr=value.dotted)  # from a module the scanned tree does not hold
    if isinstance(value, FuncRef):
        where = value.module.where(value.node)
        if isinstance(value.node, ast.Lambda):
            return SV("<lambda>", where, source=value.module.segment(value.node))
        return SV(f"{value.module.import_name or value.module.name}.{value.node.name}", where, source=value.node.name)
    if isinstance(value, ClassRef):
        return SV(
            f"{value.module.import_name or value.module.name}.{value.node.name}",
            value.module.where(value.node),
            source=value.node.name,
        )
    if isinstance(value, InstanceRef):
        return SV(None, None, known=False, expr=f"{value.cls.node.name}(...)")
    if isinstance(value, PartialRef):
        return SV(None, None, known=False, expr="functools.partial(...)")
    if isinstance(value, ListV):
        items = [leaf(i, evaluator) for i in value.items]
        if all(i.known for i in items):
            return SV([i.value for i in items], value.origin, env_of(*items))
        return SV(None, value.origin, env_of(*items), known=False, expr="[...]")
    if isinstance(value, DictV):
        return SV(None, value.origin, known=False, expr=DICT_TEXT)
    if isinstance(value, PathV) and value.cwd:  # `Path("data").resolve()`: under the working directory
        return SV(None, where or value.origin, known=False, expr=text or value.path)
    if isinstance(value, PathV):  # `BASE_DIR / "db.sqlite3"`: the path as str() would give it
        return SV(value.path, where or value.origin, source=text)
    return SV(None, where, known=False, expr=text or "(a value the scan cannot show)")


SECRET_WORDS = ("password", "passwd", "secret")


def mask(key: str, value: ScannedValue) -> ScannedValue:
    """Never show a password: `PASSWORD` keys, URL user info, `password=` in a conninfo string; in the value,
    its source text, its unknown expression and each branch."""
    last = key.rsplit(".", 1)[-1].lower()
    branches = tuple(mask(key, branch) for branch in value.branches)
    if any(word in last for word in SECRET_WORDS):
        return replace(
            value,
            value="***" if value.known and value.value not in (None, "") else value.value,
            expr=value.expr if value.expr in (None, NOT_SET) else "***",  # (a key the code leaves unset says so)
            source=None if value.source is None else "***",
            branches=branches,
        )
    secrets = passwords_in(value.value) if isinstance(value.value, str) else []  # (and wherever the source has
    if isinstance(value.value, str):  # them: `"...:%s@host" % "S3cret"`, `"...:" + "S3cret" + "@host"`)
        value = replace(value, value=mask_text(value.value))
    if value.expr is not None:  # (an unknown URL's text may compose one: composed.py)
        value = replace(value, expr=without(mask_text(value.expr), composed_passwords(value.expr)))
    if value.source is not None:
        secrets += composed_passwords(value.source)
        value = replace(value, source=without(mask_text(value.source), secrets))
    return replace(value, branches=branches) if branches else value


CALLABLES = (ExternalRef, FuncRef, ClassRef, PartialRef)


def url_text(value: Any, ev: Evaluator) -> ScannedValue:
    """A URL or DSN argument; one that is a dict on some path is unknown, as the code writes it."""
    found = leaf(value, ev)
    if found.known or found.expr != DICT_TEXT or not isinstance(value, Thunk):
        return found
    return replace(found, expr=value.frame.module.segment(value.node))


def callable_of(ev: Evaluator, value: Any) -> Any:
    """What a call calls; when that depends on a test (`try: import asyncpg except ImportError: asyncpg = None`),
    the callable the code has with no environment set, else the first it may have; none (the value as it is)
    where the way taken, or with none taken a way, calls what the scan cannot tell."""
    value = ev.force(value)
    if not isinstance(value, Branches):
        return value
    options, default = containers.settle_options(ev, value)
    unread = [isinstance(o, SV) and not o.known and o.expr != NOT_SET for _, o in options]
    if unread[default] if default is not None else any(unread):  # (the way taken, or a way, calls what the scan
        return value  # cannot tell: build-relengapi's `getattr(self, f"create_{dialect}_engine")`, not its fallback)
    ordered = ([options[default]] if default is not None else []) + options
    return next((option for _, option in ordered if isinstance(option, CALLABLES)), value)
