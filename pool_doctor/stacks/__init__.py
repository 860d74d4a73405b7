"""The pool stacks pool-doctor knows, each one object that owns everything about its library.

    stack_for("asyncpg")         the stack a config's `[pool] stack` names
    stack_of(settings.pool)      the stack of a config's pool model
    scanned("flask_sqlalchemy")  the stack that judges a pool the scan found

One module per stack holds its library's defaults in one table, with the version they come from, its
config model, and how its keys map to the PoolPolicy the judge reads (pool_doctor/stacks/base.py says what
every stack answers). Outside this package nothing compares a stack's name: a lookup here is the way in.
"""

from __future__ import annotations

from pool_doctor.path.policy import Knob, PoolPolicy
from pool_doctor.stacks._values import flatten, unflatten
from pool_doctor.stacks.asyncpg_pool import AsyncpgStack
from pool_doctor.stacks.base import PoolModel, Stack
from pool_doctor.stacks.django import DjangoStack
from pool_doctor.stacks.psycopg_pool import PsycopgPoolStack
from pool_doctor.stacks.sqlalchemy import SQLAlchemyStack

REGISTRY: dict[str, Stack] = {
    stack.name: stack for stack in (SQLAlchemyStack(), AsyncpgStack(), PsycopgPoolStack(), DjangoStack())
}
DEFAULT = SQLAlchemyStack.name
NAMES = tuple(REGISTRY)
MODELS = tuple(stack.model for stack in REGISTRY.values())


def stack_for(name: str) -> Stack:
    """The stack a config's `[pool] stack` names; a KeyError for a name no stack has."""
    return REGISTRY[name]


def stack_of(pool: PoolModel) -> Stack:
    """The stack whose config model `pool` is."""
    return REGISTRY[pool.stack]


def scanned(name: str) -> Stack | None:
    """The stack that judges a pool the scan names `name` (flask_sqlalchemy: SQLAlchemy's); None: none does."""
    return next((stack for stack in REGISTRY.values() if name in stack.scanned_as), None)


def candidates(name: str, below: int | None) -> list[tuple[Knob, PoolPolicy]]:
    """The levers stack `name` offers against a limit (Stack.candidates); none for a name no stack has."""
    stack = REGISTRY.get(name)
    return stack.candidates(below) if stack is not None else []


__all__ = [
    "DEFAULT",
    "MODELS",
    "NAMES",
    "REGISTRY",
    "PoolModel",
    "Stack",
    "candidates",
    "flatten",
    "scanned",
    "stack_for",
    "stack_of",
    "unflatten",
]
