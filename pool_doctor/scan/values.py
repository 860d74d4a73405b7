"""An evaluated value as the scan reports it: dotted keys, each a `ScannedValue` with its provenance."""

from __future__ import annotations

from typing import Any

from pool_doctor.scan.expressions import Evaluator
from pool_doctor.scan.kinds import SV, ClassRef, DictV, ExternalRef, FuncRef, InstanceRef, ListV, env_of


def flatten(
    value: Any, evaluator: Evaluator, prefix: str = "", unresolved: list[str] | None = None, depth: int = 0
) -> dict[str, SV]:
    """A settings value as dotted keys (`connect_args.command_timeout`); unreadable `**x` go to unresolved."""
    value = evaluator.force(value)
    out: dict[str, SV] = {}
    if isinstance(value, DictV) and depth < 6:
        for key, item in value.items.items():
            out.update(flatten(item, evaluator, f"{prefix}.{key}" if prefix else key, unresolved, depth + 1))
        if unresolved is not None:
            unresolved.extend(f"{prefix}: {text}" if prefix else text for text in value.opaque)
        if not value.items and not value.opaque and prefix:
            out[prefix] = SV({}, value.origin)
        return out
    if isinstance(value, InstanceRef) and depth < 6:
        return flatten(DictV(evaluator.classes.instance_fields(value), None), evaluator, prefix, unresolved, depth + 1)
    out[prefix] = leaf(value, evaluator)
    return out


def leaf(value: Any, evaluator: Evaluator) -> SV:
    value = evaluator.force(value)
    if isinstance(value, SV):
        return value
    if isinstance(value, ExternalRef):
        return SV(value.dotted, None)
    if isinstance(value, FuncRef):
        return SV(f"{value.module.name}.{value.node.name}", value.module.where(value.node))
    if isinstance(value, ClassRef):
        return SV(f"{value.module.name}.{value.node.name}", value.module.where(value.node))
    if isinstance(value, ListV):
        items = [leaf(i, evaluator) for i in value.items]
        if all(i.known for i in items):
            return SV([i.value for i in items], value.origin, env_of(*items))
        return SV(None, value.origin, env_of(*items), known=False, expr="[...]")
    return SV(None, None, known=False, expr=type(value).__name__)
