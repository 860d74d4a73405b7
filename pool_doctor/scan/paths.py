"""The ways through a function as the flow follows them: the tests each path sits under (a Guard), the
locals it carries (a State), and the value of each way out, joined as Branches when they differ."""

from __future__ import annotations

import functools
from typing import Any

from pool_doctor.scan.conditions import ALWAYS, Conditions
from pool_doctor.scan.kinds import SV, Branches

ALWAYS_RAISES = " always raises"  # what a call of a function that never returns gives, after its name
State = dict[str, Any]
# The tests the current path sits under, as source text, each with whether it is how the code goes with no
# environment variable set.
Guard = tuple[tuple[str, bool], ...]
Exits = list[tuple[Guard, Any]]


def left_names(state: State | None, keep_assumed: bool = False) -> State:
    """The names a run leaves, without its own notes (assumed_set), but for a module's body the variables it
    leaves set on every path that goes on (`if not os.getenv("X"): raise`): importing it needs them."""
    return {
        name: value
        for name, value in (state or {}).items()
        if not name.startswith("$") or (keep_assumed and value is True)
    }


def joined(returns: Exits, conds: Conditions) -> Any:
    """The value of each way out as one: itself when there is one, else Branches under each way's tests (the
    default: the way that takes the default side of every test)."""
    if len(returns) == 1:
        return returns[0][1]
    default = next((index for index, (guard, _) in enumerate(returns) if all(chosen for _, chosen in guard)), None)
    return Branches(
        [(functools.reduce(conds.both, (text for text, _ in guard), ALWAYS), value) for guard, value in returns],
        default=default,
    )


def raises(value: Any) -> bool:
    """A call's result when the function it called always raises (nothing after it runs on that path)."""
    return isinstance(value, SV) and not value.known and (value.expr or "").endswith(ALWAYS_RAISES)


def settings_unknown(state: State, where: str | None, why: str) -> State:
    """The state with every upper-case name (a setting) unknown: a file the scan cannot read may set any of them
    (a star import the tree lacks, a django-split-settings include of a deploy-time file)."""
    return {
        name: SV(None, where, known=False, expr=f"{name} {why}") if name.isupper() else v for name, v in state.items()
    }
