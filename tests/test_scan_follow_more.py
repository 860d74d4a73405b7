"""`scan_path` following values the way real projects spread them (issue 29), continued from
test_scan_follow.py: shapes found on held-out projects after that file's. Each project is a few small files
written here (never a copy of a real one); line numbers in the assertions are the fixtures' own."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_scan import at, scan, values

from pool_doctor.scan.app import as_layer


def test_a_project_pool_class_brings_the_defaults_its_init_sets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A QueuePool subclass that defaults pool_size itself: SQLAlchemy builds it with the engine's pool
    # arguments, so its setdefault is the pool's size unless the call gives one (checked with SQLAlchemy 2.0:
    # engine.pool.size() == 25); an assignment overrides what the call gives.
    report = scan(
        tmp_path,
        {
            "pools.py": """
            from sqlalchemy.pool import QueuePool

            class BigPool(QueuePool):
                def __init__(self, creator, **kw):
                    kw.setdefault("pool_size", 25)
                    kw.setdefault("max_overflow", 3)
                    kw["timeout"] = 7
                    super().__init__(creator, **kw)

            class Bigger(BigPool):
                def __init__(self, creator, **kwargs):
                    kwargs.setdefault("pool_size", 40)
                    BigPool.__init__(self, creator, **kwargs)
            """,
            "app.py": """
            import sqlalchemy
            from pools import BigPool, Bigger

            engine = sqlalchemy.create_engine("postgresql://u@db/app", poolclass=BigPool, max_overflow=9)
            other = sqlalchemy.create_engine("postgresql://u@db/app", poolclass=Bigger, pool_timeout=30)
            """,
        },
        monkeypatch,
    )
    pool = at(report, "app.py:4")
    assert values(pool) == {
        "url": "postgresql://u@db/app",
        "poolclass": "pools.BigPool",
        "pool_size": 25,
        "max_overflow": 9,
        "pool_timeout": 7,
    }
    assert pool.settings["pool_size"].from_ == "pools.py:5"
    assert pool.settings["pool_timeout"].from_ == "pools.py:7"
    other = at(report, "app.py:5")
    assert values(other)["pool_size"] == 40 and other.settings["pool_size"].from_ == "pools.py:12"
    assert values(other)["max_overflow"] == 3 and values(other)["pool_timeout"] == 7
    layer = as_layer(pool)
    assert layer.data["pool"]["pool_size"] == 25


def test_a_descriptor_named_by_set_name_reads_its_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # reflex's shape: `SQLALCHEMY_POOL_SIZE: EnvVar[int] = env_var(5)` on a class; env_var.__set_name__ keeps the
    # attribute's name, __get__ hands back an EnvVar whose get() reads that variable (through a parser the scan
    # cannot follow), else the default; a stub under `if TYPE_CHECKING:` names env_var for type checkers only.
    report = scan(
        tmp_path,
        {
            "envvars.py": """
            import os
            from typing import TYPE_CHECKING

            PARSERS = {}

            class EnvVar:
                def __init__(self, name, default, kind):
                    self.name = name
                    self.default = default
                    self.kind = kind

                def getenv(self):
                    raw = os.getenv(self.name)
                    if raw and raw.strip():
                        return self.interpret(raw)
                    return None

                def interpret(self, raw):
                    return PARSERS[self.kind](raw)

                def get(self):
                    value = self.getenv()
                    if value is not None:
                        return value
                    return self.default

            class env_var:
                internal = False

                def __init__(self, default, internal=False):
                    self.default = default
                    self.internal = internal

                def __set_name__(self, owner, name):
                    self.name = name

                def __get__(self, instance, owner):
                    name = self.name
                    if self.internal:
                        name = f"__{name}"
                    return EnvVar(name, self.default, int)

            if TYPE_CHECKING:
                def env_var(default, internal=False) -> EnvVar:
                    return default

            class Environment:
                DB_POOL_SIZE: EnvVar = env_var(8)
                DB_MAX_OVERFLOW = env_var(3, internal=True)

            environment = Environment()
            """,
            "db.py": """
            from sqlalchemy import create_engine

            from envvars import Environment, environment

            engine = create_engine(
                "postgresql://app@db/app",
                pool_size=environment.DB_POOL_SIZE.get(),
                max_overflow=Environment.DB_MAX_OVERFLOW.get(),
            )
            """,
        },
        monkeypatch,
    )
    pool = at(report, "db.py:5")
    size, overflow = pool.settings["pool_size"], pool.settings["max_overflow"]
    assert (size.value, size.env, size.from_) == (8, "DB_POOL_SIZE", "envvars.py:48")
    assert [(branch.value, branch.env) for branch in size.branches] == [(8, None), (None, "DB_POOL_SIZE")]
    assert (overflow.value, overflow.env) == (3, "__DB_MAX_OVERFLOW")


def test_what_a_test_sets_in_the_environment_is_not_the_apps_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # zou's shape: tests/conftest.py sets variables before importing the app; a deployment never runs it.
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/db.py": """
            import os
            from sqlalchemy import create_engine

            engine = create_engine(
                os.getenv("DATABASE_URL", "postgresql://app@db/app"),
                pool_size=int(os.getenv("DB_POOL_SIZE", "30")),
            )
            """,
            "tests/conftest.py": """
            import os

            os.environ.setdefault("DB_POOL_SIZE", "2")
            os.environ["DATABASE_URL"] = "postgresql://test@localhost/test"

            from app.db import engine
            """,
            "settings.py": """
            import os

            os.environ.setdefault("DB_POOL_SIZE", "12")
            """,
        },
        monkeypatch,
    )
    pool = at(report, "app/db.py:4")
    assert values(pool)["url"] == "postgresql://app@db/app"
    assert (values(pool)["pool_size"], pool.settings["pool_size"].from_) == (12, "settings.py:3")
