"""`scan_path` following values the way real projects spread them (issue 29), continued from
test_scan_follow_round12.py. Each project is a few small files written here (never a copy of a real one); line
numbers in the assertions are the fixtures' own."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_scan import at, scan


def test_a_flask_apps_own_config_read_by_the_app_is_what_its_loaders_put_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # elections: `APP.config.from_object("pkg.default_config")`, then `create_session(APP.config["DB_URL"])`, a
    # wrapper around create_engine. The key is the module's; a file named by a variable may set any key, so
    # under that test it is unknown. A key nothing loads is unknown, not missing (a function the app is handed
    # to may set it), and `.get(key, default)` of it is no default either.
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/default_config.py": 'DB_URL = "postgresql://elections@db/elections"\n',
            "app/models.py": """
            import sqlalchemy as sa


            def create_session(db_url, pool_size=5):
                return sa.create_engine(db_url, pool_size=pool_size)
            """,
            "app/main.py": """
            import os

            import flask

            from app import models

            APP = flask.Flask(__name__)
            APP.config.from_object("app.default_config")
            if "ELECTIONS_CONFIG" in os.environ:
                APP.config.from_envvar("ELECTIONS_CONFIG")
            APP.config["POOL"] = 7

            SESSION = models.create_session(APP.config["DB_URL"], APP.config["POOL"])
            OTHER = models.create_session(APP.config.get("OTHER_URL", "sqlite://"), 2)
            """,
        },
        monkeypatch,
    )
    url = at(report, "app/main.py:13").settings["url"]
    assert url.value == "postgresql://elections@db/elections" and url.branches
    by_test = {branch.when: branch for branch in url.branches}
    unset = by_test['not ("ELECTIONS_CONFIG" in os.environ)']
    assert unset.known and unset.value == "postgresql://elections@db/elections"
    assert unset.from_.endswith("app/default_config.py:1")
    assert not by_test['"ELECTIONS_CONFIG" in os.environ'].known
    assert at(report, "app/main.py:13").settings["pool_size"].value == 7
    other = at(report, "app/main.py:14").settings["url"]
    assert not other.known and other.value != "sqlite://"
