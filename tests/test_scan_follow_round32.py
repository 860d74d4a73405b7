"""`scan_path` following values the way real projects spread them (issue 29), continued from
test_scan_follow_round30.py (the open cases of held-out rounds 31 and 32). Each project is a few small files written
here (never a copy of a real one); line numbers in the assertions are the fixtures' own."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_scan import scan


@pytest.mark.parametrize(
    ("base", "imports", "named"),
    [
        ("Postgres", "from postgres import Postgres", "postgres.Postgres"),
        ("postgres.Postgres", "import postgres", "postgres.Postgres"),
        ("PooledPostgresqlDatabase", "from playhouse.pool import PooledPostgresqlDatabase", "playhouse.pool."),
    ],
)
def test_a_project_subclass_of_a_pool_of_a_library_without_a_stack_is_named_in_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, base: str, imports: str, named: str
) -> None:
    # liberapay: `class DB(Postgres)` with its own pool_class, made as `DB(dburl, maxconn=...)` elsewhere
    files = {
        "shop/__init__.py": "",
        "shop/models.py": f"""
            {imports}


            class DB({base}):
                def __init__(self, *a, **kw):
                    kw.setdefault("pool_class", None)
                    super().__init__(*a, **kw)
        """,
        "shop/wireup.py": """
            import os

            from shop.models import DB


            def database():
                return DB(os.environ["DATABASE_URL"], maxconn=int(os.environ["DATABASE_MAXCONN"]))
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert report.pools == []
    warned = [w for w in report.warnings if "makes a pool of a library pool-doctor does not read" in w]
    assert len(warned) == 1 and warned[0].startswith("shop/models.py:4: ") and f"subclass of {named}" in warned[0]
