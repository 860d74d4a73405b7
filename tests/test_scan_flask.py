"""Flask-SQLAlchemy's engines as an app's configuration makes them: one engine per app (and per bind), its keys
merged from the classes and modules the app loads and the writes after them, in program order.

Each project is a few small files written here; line numbers in the assertions are the fixtures' own.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_scan import at, scan


def test_a_class_body_reads_the_module_global_of_the_same_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = scan(
        tmp_path,
        {
            "settings.py": """
            import os

            DATABASE_URL = os.environ.get("DB_URL", "postgresql://web@pg/shop")

            class Settings:
                DATABASE_URL = DATABASE_URL
                SQLALCHEMY_DATABASE_URI = DATABASE_URL
            """,
        },
        monkeypatch,
    )
    url = at(report, "settings.py:5").settings["url"]
    assert (url.value, url.from_, url.env) == (
        "postgresql://web@pg/shop",
        "settings.py:3",
        "DB_URL",
    )
