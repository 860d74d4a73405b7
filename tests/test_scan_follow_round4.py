"""`scan_path` following values the way real projects spread them (issue 29), continued from
test_scan_follow_more.py: shapes found on held-out projects after that file's. Each project is a few small
files written here (never a copy of a real one); line numbers in the assertions are the fixtures' own."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_scan import at, scan


def test_a_walrus_through_a_secret_helper_is_the_variable_where_the_test_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `if url := secret("X"):` with a helper that reads X_FILE or X: on the side where the test holds, the
    # helper's os.getenv branch is X's value, never its default None (privacyidea's DockerConfig).
    report = scan(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/config.py": """
            import os

            def secret(name):
                if f"{name}_FILE" in os.environ:
                    with open(os.environ[f"{name}_FILE"]) as f:
                        return f.read().strip()
                return os.getenv(name)

            class DockerConfig:
                if url := secret("APP_DATABASE_URL"):
                    SQLALCHEMY_DATABASE_URI = url
            """,
            "pkg/app.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy
            from pkg.config import DockerConfig

            db = SQLAlchemy()

            def create_app():
                app = Flask(__name__)
                app.config.from_object(DockerConfig)
                db.init_app(app)
                return app
            """,
        },
        monkeypatch,
    )
    url = at(report, "pkg/app.py:10").settings["url"]
    assert not any(branch.known for branch in url.branches), url.branches
    assert [branch.expr for branch in url.branches][2] == "$APP_DATABASE_URL"
    assert url.branches[2].env == "APP_DATABASE_URL"


def test_a_url_known_to_be_none_where_create_engine_refuses_one_is_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A class loaded by name (importlib) with the app's config: read with `config=None`, its URL comes out None,
    # which create_engine refuses (SQLAlchemy 2.1.9: ArgumentError), so no run has it (privacyidea's audit).
    report = scan(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/auditsql.py": """
            from sqlalchemy import create_engine

            class Audit:
                def __init__(self, config=None):
                    self.config = config or {}
                    self.engine = self._create_engine()

                def _create_engine(self):
                    url = self.config.get("AUDIT_SQL_URI", self.config.get("SQLALCHEMY_DATABASE_URI"))
                    return create_engine(url, pool_recycle=self.config.get("AUDIT_POOL_RECYCLE", 600))
            """,
            "pkg/audit.py": """
            import importlib

            def get_audit(config):
                return importlib.import_module(config["AUDIT_MODULE"]).Audit(config)
            """,
        },
        monkeypatch,
    )
    url = at(report, "pkg/auditsql.py:6").settings["url"]
    assert (url.known, url.value, url.expr) == (False, None, "url")
    assert at(report, "pkg/auditsql.py:6").settings["pool_recycle"].value == 600
