"""`scan_path` following values the way real projects spread them (issue 29), continued from
test_scan_follow_round40.py (the open cases of earlier rounds and of held-out round 44). Each project is a few
small files written here (never a copy of a real one); line numbers in the assertions are the fixtures' own."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_scan import at, scan

from pool_doctor.scan.target import url_driver


def test_an_f_string_url_of_unset_variables_keeps_its_literal_scheme(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # sparte, NetExec, parsl: the credentials come from variables with no default, so the URL is unknown, but
    # its scheme is written in the code and names the driver (asyncpg wants command_timeout, not
    # tcp_user_timeout); the unset variable's "$DB_USER" took the f-string's place and the driver was lost
    files = {
        "app/db.py": """
            import os

            from sqlalchemy import create_engine

            def make(user, host):
                return create_engine(f"postgresql+asyncpg://{user}@{host}/app")

            DB_USER = os.getenv("DB_USER")
            main = create_engine(f"postgresql+asyncpg://{DB_USER}@{os.getenv('DB_HOST')}/x")
            other = make(os.getenv("U"), os.getenv("H"))
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    for where in ("app/db.py:9", "app/db.py:10"):
        pool = at(report, where)
        url = pool.settings["url"]
        assert (url.known, url_driver(pool)) == (False, "asyncpg"), where
    assert at(report, "app/db.py:9").settings["url"].env == "DB_USER"
