"""`scan_path` following values the way real projects spread them (issue 29), continued from
test_scan_follow_round28.py (the open cases of held-out rounds 28 and 29 and the reviews' findings). Each project is
a few small files written here (never a copy of a real one); line numbers in the assertions are the fixtures'
own."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from test_scan import at, scan

MERGE = """
from importlib import import_module


def merge_plugin_settings(setting, original):
    for plugin in ["a.settings", "b.settings"]:
        extra = getattr(import_module(plugin), setting, None) or {{}}
        for entry in extra:
{test}
"""


@pytest.mark.parametrize(
    "test",
    [
        """
            if entry in original:
                raise AttributeError(entry)
            else:
                original[entry] = extra[entry]
        """,
        """
            if entry not in original:
                original[entry] = extra[entry]
        """,
        """
            if not entry in original and entry:
                original[entry] = extra[entry]
        """,
    ],
    ids=["else", "not-in", "not-and"],
)
def test_a_write_under_a_test_that_the_key_is_new_cannot_replace_a_key_the_dict_has(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, test: str
) -> None:
    # A plugin's settings may add aliases, never replace "default": the write sits where `entry` is not a key
    body = textwrap.indent(textwrap.dedent(test).strip("\n"), " " * 12)
    report = scan(
        tmp_path,
        {
            "proj/__init__.py": "",
            "proj/helpers.py": MERGE.format(test=body),
            "proj/settings.py": """
                from proj.helpers import merge_plugin_settings

                DATABASES = {
                    "default": {
                        "ENGINE": "django.db.backends.postgresql",
                        "NAME": "app",
                        "CONN_MAX_AGE": None,
                    }
                }

                merge_plugin_settings("DATABASES", DATABASES)
            """,
        },
        monkeypatch,
    )
    pool = at(report, "proj/settings.py:4")
    assert pool.settings["ENGINE"].value == "django.db.backends.postgresql"
    assert pool.settings["CONN_MAX_AGE"].known and pool.settings["CONN_MAX_AGE"].value is None


@pytest.mark.parametrize(
    "load",
    [
        '"app.settings.{env}.{Env}Config".format(env=env, Env=env.capitalize())',
        'f"app.settings.{env}.{env.capitalize()}Config"',
        '"app.settings." + env + "." + env.capitalize() + "Config"',
    ],
    ids=["format", "f-string", "plus"],
)
def test_a_config_class_named_by_a_template_is_one_of_the_project_classes_it_matches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, load: str
) -> None:
    # The name of the class comes from a setting the scan cannot read: any class whose dotted name fits the
    # template may be loaded; the engine is the app's, at the load, with each candidate's values as branches
    report = scan(
        tmp_path,
        {
            "app/__init__.py": f"""
                import os
                from flask import Flask
                from flask_sqlalchemy import SQLAlchemy

                db = SQLAlchemy()


                def create_app():
                    app = Flask(__name__)
                    env = app.config.get("ENV") or os.environ["APP_ENV"]
                    app.config.from_object({load})
                    db.init_app(app)
                    return app
            """,
            "app/settings/__init__.py": "",
            "app/settings/base.py": """
                class BaseSettings:
                    SQLALCHEMY_DATABASE_URI = "postgresql://db/app"
                    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
            """,
            "app/settings/development.py": """
                from .base import BaseSettings


                class DevelopmentConfig(BaseSettings):
                    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "pool_recycle": 300}
            """,
            "app/settings/production.py": """
                from .base import BaseSettings


                class ProductionConfig(BaseSettings):
                    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "pool_recycle": 600}


                class Unrelated:
                    SQLALCHEMY_ENGINE_OPTIONS = {"pool_recycle": 1}
            """,
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools] == ["app/__init__.py:12"]  # the bind
    pool = report.pools[0]
    assert pool.settings["url"].value == "postgresql://db/app"
    assert pool.settings["pool_pre_ping"].value is True
    recycle = pool.settings["pool_recycle"]
    assert not recycle.known and sorted(branch.value for branch in recycle.branches) == [300, 600]
