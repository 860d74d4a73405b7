"""Held-out round 63 and the open cases of earlier rounds: each test failed before its fix."""

from __future__ import annotations

import pytest

from tests.test_scan import at, scan, values
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


@pytest.mark.parametrize(
    ("order", "size"),
    [
        ("(init_settings, env_settings, yaml_settings, dotenv_settings)", 12),  # the YAML before the env file
        ("(init_settings, env_settings, dotenv_settings, yaml_settings)", 7),
        ("(init_settings, env_settings, yaml_settings)", 12),  # the env file is not read at all
        ("(init_settings, my_source, yaml_settings)", 12),  # an unknown source: the env file is read last
        ("(init_settings, env_settings, my_source, dotenv_settings)", 7),
    ],
)
def test_a_settings_source_tuple_places_the_env_file_too(tmp_path, monkeypatch, order: str, size: int) -> None:
    # the second review of session 29: the place of dotenv_settings in the returned tuple was not read, so the
    # env file's variable beat a file source before it, or was read where the tuple leaves it out
    files = {
        "config.yml": "database:\n  url: postgresql+asyncpg://sync@localhost:5432/sync\n  pool_size: 12\n",
        ".env": "SYNC__DATABASE__POOL_SIZE=7\n",
        "app/settings.py": SOURCES_SETTINGS.replace("ORDER", order).replace(
            "            return", "            my_source = env_settings\n            return"
        ),
        "app/db.py": """
            from sqlalchemy.ext.asyncio import create_async_engine

            from app.settings import settings

            engine = create_async_engine(settings.database.url, pool_size=settings.database.pool_size)
        """,
    }
    monkeypatch.chdir(tmp_path)
    report = scan(tmp_path, files, monkeypatch)
    assert values(at(report, "app/db.py:5"))["pool_size"] == size
