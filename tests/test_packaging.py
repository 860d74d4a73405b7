"""The package as PyPI and a new user get it: `python -m build` makes a wheel and an sdist that `twine check`
passes; the wheel installs in a fresh virtualenv (its dependencies from PyPI: needs the network) and runs; and
there, with nothing named on the command line, its `pytest11` entry point brings the plugin into a sample app's
own test suite, which fails on the unguarded engine and passes once it is fixed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import venv
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sample_app
from harness import LocalPostgres

from pool_doctor import __version__

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "pkg-pw-J3"

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Built:
    wheel: Path
    sdist: Path


def run(*argv: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    assert done.returncode == 0, f"{argv}: {done.stdout[-3000:]}{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """Built from a copy of the checkout (uncommitted changes included): setuptools writes its egg-info into
    the tree it builds, which would then shadow a real install for anything run with this checkout on its path."""
    source = tmp_path_factory.mktemp("source") / "pool-doctor"
    junk = shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis"
    )
    shutil.copytree(ROOT, source, ignore=junk)
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(source)],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    said = done.stdout + done.stderr
    assert "deprecated" not in said.lower(), said  # setuptools warns before it refuses (license tables, ...)
    [wheel] = out.glob("*.whl")
    [sdist] = out.glob("*.tar.gz")
    return Built(wheel, sdist)


def twine_check_passes(built: Built) -> None:
    said = run(sys.executable, "-m", "twine", "check", "--strict", built.wheel, built.sdist)
    assert said.count("PASSED") == 2, said


def the_wheel_holds_the_package_data_entry_points_and_metadata(built: Built) -> None:
    assert built.wheel.name == f"pool_doctor-{__version__}-py3-none-any.whl"
    with zipfile.ZipFile(built.wheel) as wheel:
        names = set(wheel.namelist())
        dist = f"pool_doctor-{__version__}.dist-info"
        entry_points = wheel.read(f"{dist}/entry_points.txt").decode()
        metadata = wheel.read(f"{dist}/METADATA").decode()
    for data in ("py.typed", "platforms/catalogue.toml", "schemas/check.schema.json", "pytest_plugin.py", "testing.py"):
        assert f"pool_doctor/{data}" in names
    assert "[console_scripts]\npool-doctor = pool_doctor.cli:main" in entry_points
    assert "[pytest11]\npool_doctor = pool_doctor.pytest_plugin" in entry_points
    assert "Description-Content-Type: text/markdown" in metadata
    assert "Classifier: Framework :: Pytest" in metadata and "Project-URL: Source, " in metadata
    assert "Provides-Extra: otel" in metadata
    assert "pipx run pool-doctor" in metadata and "uvx pool-doctor" in metadata  # the README is the long description
    with tarfile.open(built.sdist) as sdist:
        members = {Path(name).relative_to(f"pool_doctor-{__version__}").as_posix() for name in sdist.getnames()[1:]}
    assert {"README.md", "pyproject.toml", "pool_doctor/cli.py", "pool_doctor/py.typed"} <= members


@pytest.fixture(scope="module")
def fresh(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv with nothing but the wheel, its dependencies from PyPI, and pytest for the sample's suite."""
    home = tmp_path_factory.mktemp("venv") / "fresh"
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(home)
    pip = [home / "bin" / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    run(*pip, built.wheel, "pytest", env=clean_env())
    return home


def clean_env(**extra: str) -> dict[str, str]:
    """Nothing of this checkout reaches the virtualenv: no PYTHONPATH, no pool-doctor settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "POOL_DOCTOR_", "PYTHON", "PYTEST_"))}
    return {**env, **extra}


def the_wheel_installs_in_a_fresh_virtualenv_and_runs(fresh: Path, tmp_path: Path) -> None:
    assert (
        run(fresh / "bin" / "pool-doctor", "--version", cwd=tmp_path, env=clean_env()) == f"pool-doctor {__version__}\n"
    )
    where = run(
        fresh / "bin" / "python", "-c", "import pool_doctor; print(pool_doctor.__file__)", cwd=tmp_path, env=clean_env()
    )
    assert where.startswith(str(fresh))
    assert "Usage: pool-doctor" in run(fresh / "bin" / "pool-doctor", "--help", cwd=tmp_path, env=clean_env())


@pytest.fixture(scope="module")
def server(pg_bindirs: list[Path]) -> Iterator[LocalPostgres]:
    with LocalPostgres(pg_bindirs[0]) as pg:
        pg.create_role("app", PASSWORD, settings={"idle_session_timeout": "2s"})
        pg.create_database("appdb", owner="app")
        yield pg


def the_installed_plugin_judges_a_sample_apps_engine(fresh: Path, server: LocalPostgres, tmp_path: Path) -> None:
    root = sample_app.write(tmp_path / "sample")
    env = clean_env(DATABASE_URL=server.url("app", PASSWORD, "appdb", driver="psycopg"))
    pytest_ = [str(fresh / "bin" / "python"), "-m", "pytest", "-q"]

    failed = subprocess.run(pytest_, cwd=root, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "2 failed" in failed.stdout and "critical idle-session-timeout" in failed.stdout
    assert "fixture 'fault_proxy' not found" not in failed.stdout  # the entry point brought the plugin in

    sample_app.fix(root)
    passed = subprocess.run(pytest_, cwd=root, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "2 passed" in passed.stdout


def test_the_package_as_pypi_and_a_new_user_get_it(
    built: Built, fresh: Path, server: LocalPostgres, tmp_path: Path
) -> None:
    """One test, so that one worker builds the wheel and makes the virtualenv, once (as four tests, each worker
    that got one built its own: 12-36 s more of the suite's time)."""
    for part in ("run", "plugin"):
        (tmp_path / part).mkdir()
    twine_check_passes(built)
    the_wheel_holds_the_package_data_entry_points_and_metadata(built)
    the_wheel_installs_in_a_fresh_virtualenv_and_runs(fresh, tmp_path / "run")
    the_installed_plugin_judges_a_sample_apps_engine(fresh, server, tmp_path / "plugin")
