"""Held-out round 63 and the open cases of earlier rounds: each test failed before its fix."""

from __future__ import annotations

from tests.test_scan import at, scan
from tests.test_scan_follow_round60 import SOURCES_SETTINGS


def test_a_toml_settings_source_gives_each_value_the_line_of_its_key(tmp_path, monkeypatch) -> None:
    # the last note's twin: a TOML or JSON settings source held every value at the file's first line
    files = {
        "config.toml": '# the service\n\n[database]\npool_size = 12\nurl = "postgresql+asyncpg://s@h/d"\n',
        "app/settings.py": SOURCES_SETTINGS.replace("YamlConfigSettingsSource", "TomlConfigSettingsSource")
        .replace("yaml_file=", "toml_file=")
        .replace("config.yml", "config.toml")
        .replace("ORDER", "(init_settings, env_settings, yaml_settings)"),
        "app/db.py": """
            from sqlalchemy.ext.asyncio import create_async_engine

            from app.settings import settings

            engine = create_async_engine(settings.database.url, pool_size=settings.database.pool_size)
        """,
    }
    monkeypatch.chdir(tmp_path)
    report = scan(tmp_path, files, monkeypatch)
    pool = at(report, "app/db.py:5")
    shown = {k: (pool.settings[k].value, pool.settings[k].from_) for k in ("url", "pool_size")}
    assert shown == {"url": ("postgresql+asyncpg://s@h/d", "config.toml:5"), "pool_size": (12, "config.toml:4")}
