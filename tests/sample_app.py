"""A small application with its own test suite that uses pool-doctor's pytest plugin, written into a directory.

Its `app/db.py` builds the engine the way many apps do, from DATABASE_URL, with SQLAlchemy's defaults (no
pre-ping, no recycle); `fix(root)` edits that one call the way `pool-doctor recommend` says. Its suite:
- judges the app's real engine with `pool_doctor.testing.assert_pool_survives`;
- reproduces an idle drop against the app's own engine factory through the plugin's `fault_proxy` fixture.

tests/test_pytest_plugin.py runs the suite with the plugin named (`-p`); tests/test_packaging.py runs it in a
fresh virtualenv where only the wheel's `pytest11` entry point brings the plugin in.
"""

from __future__ import annotations

from pathlib import Path

DB = """\
import os

from sqlalchemy import create_engine


def make_engine(url):
    return create_engine(url)


engine = make_engine(os.environ["DATABASE_URL"])
"""
FIXED = "    return create_engine(url, pool_pre_ping=True, pool_recycle=240)\n"

SUITE = """\
import time

from sqlalchemy import text

from app.db import engine, make_engine
from pool_doctor.testing import assert_pool_survives


def test_the_engine_survives_the_database():
    assert_pool_survives(engine)


def test_first_request_after_the_nat_forgot_the_flow(fault_proxy):
    nat = fault_proxy(engine.url, idle_timeout=1.5, mode="reset")  # a loaded CI machine pauses for 0.5 s
    behind_nat = make_engine(nat.url)
    with behind_nat.connect() as conn:
        conn.execute(text("SELECT 1"))
    time.sleep(2.5)  # idle past the NAT's timeout: it forgets the flow
    with behind_nat.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
    behind_nat.dispose()
    assert nat.stats.reset == 1  # the NAT did forget the flow: the app came through it
"""


def write(root: Path) -> Path:
    (root / "app").mkdir(parents=True)
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "db.py").write_text(DB)
    (root / "tests").mkdir()
    (root / "tests" / "test_pool.py").write_text(SUITE)
    # rootdir and sys.path for `import app`; nothing of pool-doctor's own pytest settings reaches this suite
    (root / "pytest.ini").write_text("[pytest]\npythonpath = .\naddopts = -p no:cacheprovider\n")
    return root


def fix(root: Path) -> None:
    db = root / "app" / "db.py"
    db.write_text(db.read_text().replace("    return create_engine(url)\n", FIXED))
