"""`scan_path` following values the way real projects spread them (issue 29), continued from
test_scan_follow_round37.py (the open cases of held-out round 40). Each project is a few small files written
here (never a copy of a real one); line numbers in the assertions are the fixtures' own."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_scan import at, scan


def test_a_config_package_that_star_imports_a_module_gives_flask_its_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # webcompat: `app.config.from_object("config")`, a package whose __init__ is `from config.environment import *`
    files = {
        "app/__init__.py": """
            from flask import Flask

            app = Flask(__name__)
            app.config.from_object("config")
        """,
        "app/db.py": """
            import os

            from sqlalchemy import create_engine

            from app import app

            engine = create_engine("sqlite:///" + os.path.join(app.config["DATA_PATH"], "session.db"))
        """,
        "config/__init__.py": "from config.environment import *  # noqa: F403\n",
        "config/environment.py": """
            import os

            BASE_DIR = os.path.dirname(os.path.abspath(__file__))
            DATA_PATH = os.path.join(BASE_DIR, "data")
        """,
    }
    url = at(scan(tmp_path, files, monkeypatch), "app/db.py:7").settings["url"]
    assert url.known and str(url.value).endswith("/config/data/session.db"), url


@pytest.mark.parametrize(
    ("written", "folder"),
    [("os.pardir", "/data"), ("os.path.pardir", "/data"), ("os.curdir", "/pkg/data")],
)
def test_the_standard_librarys_path_constants(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, written: str, folder: str
) -> None:
    # webcompat's `os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir))`
    files = {
        "pkg/db.py": f"""
            import os

            from sqlalchemy import create_engine

            BASE_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), {written}))
            engine = create_engine("sqlite:///" + os.path.join(BASE_DIR, "data", "app.db"))
        """,
    }
    url = at(scan(tmp_path, files, monkeypatch), "pkg/db.py:6").settings["url"]
    assert url.known and url.value == f"sqlite:///{tmp_path.resolve()}{folder}/app.db", url
