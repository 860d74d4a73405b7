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
