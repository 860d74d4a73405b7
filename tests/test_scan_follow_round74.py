"""Held-out round 74 and the open cases of earlier rounds: each test failed before its fix."""

from __future__ import annotations

from tests.test_scan import at, scan


def test_two_variables_each_unset_on_their_own_branch_are_two_branches_not_one(tmp_path, monkeypatch) -> None:
    # backups-service: DB_ENGINE picks the URL among three variables; os.getenv() with no default is None on both
    # the MYSQL and the POSTGRES side, which were merged as one value named by DB_URL_MYSQL
    report = scan(
        tmp_path,
        {
            "config.py": """
            import os

            DB_ENGINE = os.getenv("DB_ENGINE", "").upper()
            DB_URL = os.getenv("DB_URL")

            if DB_ENGINE == "MYSQL":
                DB_URL = os.getenv("DB_URL_MYSQL")
            elif DB_ENGINE == "POSTGRES":
                DB_URL = os.getenv("DB_URL_POSTGRES")
            elif not DB_URL:
                raise ValueError("no DB_URL")
            """,
            "db.py": """
            from sqlalchemy import create_engine

            from config import DB_URL

            engine = create_engine(DB_URL)
            """,
        },
        monkeypatch,
    )
    url = at(report, "db.py:5").settings["url"]
    shown = {(b.env, b.from_) for b in url.branches}
    assert shown == {
        ("DB_URL", "config.py:4"),
        ("DB_URL_MYSQL", "config.py:7"),
        ("DB_URL_POSTGRES", "config.py:9"),
    }
    postgres = next(b for b in url.branches if b.env == "DB_URL_POSTGRES")
    assert postgres.when == 'not (DB_ENGINE == "MYSQL") and DB_ENGINE == "POSTGRES"'
