"""Held-out round 78 and the open cases of earlier rounds: each test failed before its fix."""

from __future__ import annotations

from tests.test_scan import at, scan

SAAS = {
    "manage.py": "import django\n",
    "home/__init__.py": "",
    "home/settings.py": """
    INSTALLED_APPS = ["django.contrib.admin"]

    DATABASES = {
        'default': {
            'ENGINE': 'django.db.backends.sqlite3',
            'NAME': 'db.sqlite3',
        }
    }

    from home.db import *
    """,
    "home/db.py": """
    from decouple import config

    CONN_MAX_AGE = config("CONN_MAX_AGE", cast=int, default=300)
    DATABASE_URL = config("DATABASE_URL", default=None)

    if DATABASE_URL is not None:
        import dj_database_url
        DATABASES = {
            'default': dj_database_url.config(
                default=DATABASE_URL,
                conn_max_age=CONN_MAX_AGE,
                conn_health_checks=True
            )
        }
    """,
}


def test_databases_rebound_by_a_star_import_is_at_the_alias_entry_and_judged_in_one_line(tmp_path, monkeypatch) -> None:
    # saas-fundation (round 77): the whole DATABASES rebound in home/db.py, which settings.py star-imports after its
    # own SQLite dict: the pool was placed at the `DATABASES = {` line, not at its alias's entry; and the judged
    # side was said once for each of its eight keys
    report = scan(tmp_path, SAAS, monkeypatch)
    pool = at(report, "home/settings.py:4")
    assert pool.call == "DATABASES['default']"
    said = [line for p, f in report.findings if p is pool for line in f.evidence if line.startswith("judged when")]
    assert said and all(line.count("judged when") == 1 for line in said)
    assert "CONN_MAX_AGE = 300" in said[0] and "CONN_HEALTH_CHECKS = True" in said[0]
