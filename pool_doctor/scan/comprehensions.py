"""A dict comprehension over a dict or list the scan knows: `{k: v for k, v in d.items() if v is not None}`.

Over `d.items()`, each side of a test that sets d gives its own result, and the result is where d is written:
the same dict without some keys (maas's fix_up_databases, which drops each alias's None values). A filter the
scan cannot decide for a key keeps that key where the filter holds, not set where it fails."""

from __future__ import annotations

import ast
from dataclasses import replace
from typing import Any

from pool_doctor.scan import containers, fieldtext
from pool_doctor.scan.kinds import Branches, DictV, Frame, Interpreter, Thunk, is_known, not_set, unknown


def dict_comprehension(ev: Interpreter, node: ast.DictComp, frame: Frame) -> Any:
    if len(node.generators) != 1:
        return unknown(frame.module, node)
    iterated = node.generators[0].iter
    if isinstance(iterated, ast.Call) and isinstance(iterated.func, ast.Attribute) and iterated.func.attr == "items":
        mapping = ev.eval(iterated.func.value, frame)
        return containers.lift(ev, [mapping], lambda d: _over(ev, node, frame, d))
    return _comprehend(ev, node, frame, ev.eval(iterated, frame), None)


def _over(ev: Interpreter, node: ast.DictComp, frame: Frame, mapping: Any) -> Any:
    if fieldtext.not_set(mapping):  # (a key only the other side of a test sets: still not set on this one)
        return mapping
    if isinstance(mapping, DictV) and not mapping.opaque:
        return _comprehend(ev, node, frame, containers.dict_items(mapping), mapping)
    return _comprehend(ev, node, frame, ev.eval(node.generators[0].iter, frame), None)


def _comprehend(ev: Interpreter, node: ast.DictComp, frame: Frame, iterable: Any, written: DictV | None) -> Any:
    generator = node.generators[0]
    items = containers.items_of(ev, iterable)
    if items is None:
        return unknown(frame.module, node)
    result = DictV(
        {}, frame.module.where(node), line=node.lineno, end_line=node.end_lineno or 0, file=frame.module.display
    )
    if written is not None and written.file is not None:
        result = replace(result, origin=written.origin, line=written.line, end_line=written.end_line, file=written.file)
    for item in items:
        inner = loop_frame(ev, frame, generator.target, item)
        if inner is None:
            return unknown(frame.module, node)
        verdicts = [containers.truth(ev, ev.eval(test, inner)) for test in generator.ifs]
        split = _per_branch(ev, node, inner) if verdicts and not all(verdicts) else None
        if split is None and False in verdicts:
            continue
        key = ev.force(ev.eval(node.key, inner))
        if not is_known(key):
            return unknown(frame.module, node)
        if split is not None:
            if split.options:
                result.items[str(key.value)] = split
            continue
        value: Any = Thunk(node.value, inner)
        if None in verdicts:  # `if value is not None` of a value the scan cannot read: the key, where it holds
            tests = [frame.module.segment(t) for t, verdict in zip(generator.ifs, verdicts) if verdict is None]
            of = f" ({written.origin})" if written is not None and written.origin else ""
            text = f"{' and '.join(tests)} for {key.value!r}{of}"  # (each key's and each dict's a test of its own)
            text = ev.conditions.test(text, frame.module.origin(generator.ifs[0]))
            value = Branches([(text, value), (f"not ({text})", not_set())])
        result.items[str(key.value)] = value
    return result


def _per_branch(ev: Interpreter, node: ast.DictComp, inner: Frame) -> Branches | None:
    """A filter over an item whose value has branches, each branch filtered on its own: `v is not None` of a value
    that is None only where its variable is unset (asyncpg-datalayer's `getenv_int("POOL_SIZE")`) leaves the key
    unset there and keeps the variable's branch. None where no one name of the turn has branches, or a known
    branch's filter cannot be decided; options empty where every branch fails it."""
    generator = node.generators[0]
    names = [e.id for e in ast.walk(generator.target) if isinstance(e, ast.Name)]
    branched = [n for n in names if isinstance(ev.force(inner.bindings.get(n)), Branches)]
    if len(branched) != 1:
        return None
    value = ev.force(inner.bindings[branched[0]])
    assert isinstance(value, Branches)
    options, default = containers.settle_options(ev, value)
    kept: list[tuple[str, Any]] = []
    for when, option in options:
        turn = loop_frame(ev, inner, ast.Name(branched[0], ast.Load()), option)
        assert turn is not None  # (a name: always bound)
        verdicts = [containers.truth(ev, ev.eval(test, turn)) for test in generator.ifs]
        if None in verdicts and is_known(option):
            return None
        # (an unknown branch the filter cannot judge stays unknown, kept or not)
        kept.append((when, not_set() if False in verdicts else ev.force(ev.eval(node.value, turn))))
    if all(fieldtext.not_set(option) for _, option in kept):
        return Branches([])
    return Branches(kept, default=default)


def loop_frame(ev: Interpreter, frame: Frame, target: ast.expr, item: Any) -> Frame | None:
    """The frame of one turn of a loop whose target is a name or a tuple of names, given the item."""
    bindings = dict(frame.bindings)
    if isinstance(target, ast.Name):
        bindings[target.id] = item
    elif isinstance(target, ast.Tuple) and all(isinstance(e, ast.Name) for e in target.elts):
        values = containers.unpack(ev, item, len(target.elts))
        if values is None:
            return None
        for element, value in zip(target.elts, values):
            assert isinstance(element, ast.Name)
            bindings[element.id] = value
    else:
        return None
    return Frame(frame.module, bindings=bindings, scope=frame.scope, flow=True, outer=frame.outer)
