"""`scan_path` following values the way real projects spread them (issue 29), continued from
test_scan_follow_round23.py (the open cases of held-out rounds 23 to 25). Each project is a few small files
written here (never a copy of a real one); line numbers in the assertions are the fixtures' own."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_scan import at, scan

SETTINGS_HOLDER = """
from app.store import Store

class Settings:
    def __init__(self, urls):
        self.urls = urls

    def open_store(self, name):
        url = self.urls.get(name)
        return Store(url)
"""

STORE = """
import sqlalchemy

class Store:
    def __init__(self, url):
        self.engine = sqlalchemy.create_engine(url, pool_pre_ping=True)
"""


@pytest.mark.parametrize("passed", ["settings, name", "name=name, settings=settings"])
def test_a_factory_method_called_on_a_parameter_every_caller_passes_an_instance_of_its_class_is_a_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, passed: str
) -> None:
    # `settings.open_store(name)` where `settings` is a parameter nobody annotates: the callers the app has pass
    # a Settings, so the call makes a Store's pool, as at a caller holding the Settings in a local
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/settings.py": SETTINGS_HOLDER,
            "app/store.py": STORE,
            "app/shadow.py": """
                def copy_to_shadow(settings, name):
                    if settings.urls.get("shadow"):
                        store = settings.open_store("shadow")
                        return store
            """,
            "app/cli.py": f"""
                from app.settings import Settings
                from app.shadow import copy_to_shadow

                def main(urls, name):
                    settings = Settings(urls)
                    db = settings.open_store(name)
                    copy_to_shadow({passed})
                    return db
            """,
        },
        monkeypatch,
    )
    assert at(report, "app/shadow.py:3").settings["pool_pre_ping"].value is True
    assert at(report, "app/cli.py:6").settings["pool_pre_ping"].value is True


def test_a_parameter_callers_pass_instances_of_two_classes_is_not_given_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/settings.py": SETTINGS_HOLDER,
            "app/store.py": STORE,
            "app/shadow.py": """
                def copy_to_shadow(settings, name):
                    return settings.open_store(name)
            """,
            "app/cli.py": """
                from app.settings import Settings
                from app.shadow import copy_to_shadow

                class Fake:
                    def open_store(self, name):
                        return name

                def main(urls, name):
                    copy_to_shadow(Settings(urls), name)
                    copy_to_shadow(Fake(), name)
            """,
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools if p.where.startswith("app/shadow.py")] == []
