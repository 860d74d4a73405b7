"""Connect arguments whose Python value is code, not data: how a config file names them, how JSON describes
them, and what a driver receives for them."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any


class PythonCode(str):
    """A connect argument that is code, not data (a function): `--format python` pastes it, JSON describes it."""

    def __new__(cls, code: str, description: str) -> PythonCode:
        self = super().__new__(cls, code)
        self.json_value = description
        return self

    json_value: str


UNIQUE_NAME_CODE = "lambda: f'__asyncpg_{uuid4()}__'"
UNIQUE_NAME = PythonCode(UNIQUE_NAME_CODE, "uuid4")  # needs `from uuid import uuid4` where it is pasted


def unique_statement_name() -> str:
    """SQLAlchemy's documented prepared_statement_name_func for asyncpg behind PgBouncer."""
    return f"__asyncpg_{uuid.uuid4()}__"


def jsonable_connect_args(args: Mapping[str, Any]) -> dict[str, Any]:
    """connect_args for JSON: code (PythonCode, or a function the probe made of it) is described, not dumped."""
    out: dict[str, Any] = {}
    for key, value in args.items():
        if isinstance(value, PythonCode):
            out[key] = value.json_value
        elif callable(value):
            out[key] = f"<function {getattr(value, '__name__', 'callable')}>"
        else:
            out[key] = value
    return out


def as_code(args: Mapping[str, Any]) -> dict[str, Any]:
    """Connect arguments as code to paste: a config file's stand-ins become what they stand for, a function
    as code (never a string the driver would try to call) and "none" as None."""
    out = dict(args)
    name_func = out.get("prepared_statement_name_func")
    if isinstance(name_func, str) and not isinstance(name_func, PythonCode):
        out["prepared_statement_name_func"] = UNIQUE_NAME
    if isinstance(out.get("prepare_threshold"), str) and out["prepare_threshold"].lower() == "none":
        out["prepare_threshold"] = None
    return out


def materialize_connect_args(args: Mapping[str, Any]) -> dict[str, Any]:
    """connect_args as a driver takes them: the config file describes Python-only values with strings
    (prepared_statement_name_func = "uuid4", prepare_threshold = "none")."""
    out = dict(args)
    if "prepared_statement_name_func" in out and not callable(out["prepared_statement_name_func"]):
        out["prepared_statement_name_func"] = unique_statement_name
    if isinstance(out.get("prepare_threshold"), str) and out["prepare_threshold"].lower() == "none":
        out["prepare_threshold"] = None
    return out
