"""Which files of a project are its tests' and which its examples' (or templates of settings to copy): their
pools are listed apart, never judged (finder.Project.aside)."""

from __future__ import annotations

import re
from pathlib import Path

TEST_FOLDERS = {"tests", "test", "testing"}
TEST_FOLDER = re.compile(r"^[a-z0-9]+_tests?$|^tests?_[a-z0-9]+$", re.IGNORECASE)  # integration_tests, tests_e2e
CI_SETTINGS = {"ci", "travis", "testing", "tests"}
SETTINGS_FOLDER = re.compile(r"(?:^|_)(?:settings|config|configs|conf)$", re.IGNORECASE)  # (not locale/, conference/)


def is_test_file(path: Path) -> bool:
    """A test module (tests/..., test_*.py, *_test.py, conftest.py, a Django app's or a small app's tests.py, a
    settings package's test.py): its pools are the tests', not the app's. `path` from the scanned folder down
    (Project.aside)."""
    name = path.name
    if name in ("conftest.py", "tests.py", "test.py") or name.startswith("test_") or name.endswith("_test.py"):
        return True
    if path.stem in CI_SETTINGS and SETTINGS_FOLDER.search(path.parent.name):
        return True  # a settings package's module the CI runs the tests with (lutris' settings/ci.py, travis.py)
    return any(part in TEST_FOLDERS or TEST_FOLDER.search(part) for part in path.parent.parts)


EXAMPLE_FOLDERS = {"examples", "example", "samples"}
EXAMPLE_WORD = re.compile(r"(?:^|[._-])(?:example|sample|template|tmpl|dist)(?:$|[._-])", re.IGNORECASE)
DEFAULT_WORD = re.compile(r"(?:^|[.-])default(?:$|[.-])", re.IGNORECASE)
SETTINGS_WORD = re.compile(r"settings|conf|local", re.IGNORECASE)  # (conf: config, configuration)


def is_example_file(path: Path) -> bool:
    """An example or a template of settings to copy (`config.example.py`, `settings-sample.py`,
    `local.template.py`, `settings/production.example.py`), or a file under `examples/`: what a deployment starts
    from, not what it runs. A module of the app named so (`email_template.py`, `dumps/sample.py`) is the app's."""
    if any(part in EXAMPLE_FOLDERS for part in path.parent.parts):
        return True
    stem = path.name.removesuffix(".py").removesuffix(".wsgi")  # (a server's script keeps no suffix of its own)
    # `-default` / `.default` too, in a name no `import` reaches (fiduswriter's configuration-default.py, copied to
    # configuration.py); `default_settings.py` may be the app's own
    named = EXAMPLE_WORD.search(stem) or (not stem.isidentifier() and DEFAULT_WORD.search(stem))
    return bool(named) and SETTINGS_WORD.search(path.with_suffix("").as_posix()) is not None
