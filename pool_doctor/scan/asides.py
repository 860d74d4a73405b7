"""Which files of a project are its tests' and which its examples' (or templates of settings to copy): their
pools are listed apart, never judged (finder.Project.aside); and which are no part of it: packages installed or
vendored into its tree (finder.Project.walk)."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from pathlib import Path

from pool_doctor.errors import PoolDoctorError
from pool_doctor.files import read_bytes

TEST_FOLDERS = {"tests", "test", "testing", "noxfiles"}  # (noxfiles: fides' nox sessions, as noxfile.py)
# a folder of one kind of tests (integration_tests, tests_e2e, selenium_tests): not `online_test`, an app's
# (FOSSEE's Yaksh): the singular only with a kind of tests
KINDS = r"(?:integration|functional|unit|acceptance|e2e|end2end|system|smoke|load|perf|performance|regression|api)"
TEST_FOLDER = re.compile(rf"^\w+[_-]tests$|^tests[_-]\w+$|^{KINDS}[_-]test$|^test[_-]{KINDS}$", re.IGNORECASE)
# (testing.py: a package's test support, a flask_testing TestCase's create_app: acousticbrainz, metabrainz.org;
# noxfile.py: nox's sessions, which run the tests against throwaway databases: ook's)
TEST_MODULES = {"conftest.py", "tests.py", "test.py", "testing.py", "noxfile.py"}
# a settings package's module for a test database (testmysql, test_postgres, tests_sqlite), not testnet.py
TEST_SETTINGS = re.compile(r"^tests?_?(?:mysql|mariadb|postgres|postgresql|pg|psql|sqlite|sqlite3|oracle|db|ci)$")
# the tests' settings module wherever it is (codecov worker's django_scaffold/tests_settings.py, which pytest.ini
# names): tests_settings, testsettings, settings_tests (test_settings and settings_test are test modules anyway),
# a package's own (django-shopman's buyman_test_settings.py, which its pyproject's pytest options name)
# (and the CI's, a file the CI job copies over the local settings: DMOJ's .ci.settings.py)
TESTS_SETTINGS = re.compile(
    r"^(?:\w+_)?tests?_?settings$|^settings_?tests?$|^\.?(?:ci|travis|circleci)[._-]?settings$"
    r"|^settings[._-](?:ci|travis|circleci)$"
)
BESIDE_LIMIT = 1 << 20  # a module beside a template past 1 MiB is not read for its star import
# a settings package's module the CI or the unit tests run with (testing.py, tests.py: tests wherever they are;
# DefectDojo's dojo/settings/unittests.py)
CI_SETTINGS = {"ci", "travis", "circleci", "jenkins", "gitlab_ci", "unittests", "unittest", "unit_tests"}
SETTINGS_FOLDER = re.compile(r"(?:^|_)(?:settings|config|configs|conf)$", re.IGNORECASE)  # (not locale/, conference/)


def is_test_file(path: Path) -> bool:
    """A test module (tests/..., test_*.py, *_test.py, conftest.py, testing.py, noxfile.py, a Django app's or a small app's
    tests.py, a settings package's test.py): its pools are the tests', not the app's. `path` from the scanned folder down
    (Project.aside)."""
    name = path.name
    if name in TEST_MODULES or name.startswith("test_") or name.endswith("_test.py"):
        return True
    if TESTS_SETTINGS.match(path.stem):
        return True
    ci = path.stem in CI_SETTINGS or TEST_SETTINGS.match(path.stem) is not None  # (archivematica's testmysql.py)
    if ci and SETTINGS_FOLDER.search(path.parent.name):
        return True  # a settings package's module the CI runs the tests with (lutris' settings/ci.py, travis.py)
    return any(part in TEST_FOLDERS or TEST_FOLDER.search(part) for part in path.parent.parts)


EXAMPLE_FOLDERS = {"examples", "example", "samples"}
# A documentation tree's snippets (nbgrader's docs/source/user_guide/, FastAPI's docs_src/), unless the folder is
# a package of the app (a Django app named `docs`)
DOC_FOLDERS = {"docs", "doc", "docs_src"}
EXAMPLE_WORD = re.compile(r"(?:^|[._-])(?:example|sample|specimen|template|tmpl|dist)(?:$|[._-])", re.IGNORECASE)
# (`templates/` too, holding settings to copy: affiliate-backend's settings/templates/settings.prod.py)
EXAMPLE_FOLDER = re.compile(r"(?:^|[._-])(?:example|sample|specimen|template|tmpl)s?(?:$|[._-])", re.IGNORECASE)
DEFAULT_WORD = re.compile(r"(?:^|[.-])default(?:$|[.-])", re.IGNORECASE)
SETTINGS_WORD = re.compile(r"settings|conf|local", re.IGNORECASE)  # (conf: config, configuration)


def is_example_file(path: Path, package: Callable[[Path], bool] = lambda folder: False) -> bool:
    """An example or a template of settings to copy (`config.example.py`, `settings-sample.py`,
    `local.template.py`, `settings/production.example.py`), or a file under `examples/` or `docs/`: what a
    deployment starts from, not what it runs. A module of the app named so (`email_template.py`, `dumps/sample.py`) is the app's."""
    if any(part in EXAMPLE_FOLDERS or "{{" in part for part in path.parent.parts):  # (a cookiecutter scaffold's
        return True  # {{cookiecutter.package}}/: what a generated project starts from, c2cgeoform's)
    parts = path.parent.parts
    docs = next((at for at, part in enumerate(parts) if part in DOC_FOLDERS), None)
    # (`package`: whether a folder below the root is one; any folder from docs/ down that is none: crate's docs/
    # is a package of build scripts, docs/source/ below it no package)
    if docs is not None and any(not package(Path(*parts[: at + 1])) for at in range(docs, len(parts))):
        return True
    stem = path.name.removesuffix(".py").removesuffix(".wsgi")  # (a server's script keeps no suffix of its own)
    # `-default` / `.default` too, in a name no `import` reaches (fiduswriter's configuration-default.py, copied to
    # configuration.py); `default_settings.py` may be the app's own; a folder so named (crate's
    # specimen_secret_local_settings/)
    named = EXAMPLE_WORD.search(stem) or (not stem.isidentifier() and DEFAULT_WORD.search(stem))
    folder = any(EXAMPLE_FOLDER.search(part) and not package(Path(*parts[: at + 1])) for at, part in enumerate(parts))
    settings = SETTINGS_WORD.search(path.with_suffix("").as_posix()) is not None or path.suffix in CONFIG_SUFFIXES
    return bool(named or folder) and settings  # (an ini's name says it is settings: development.example.ini)


CONFIG_SUFFIXES = (".ini", ".cfg", ".toml", ".yaml", ".yml", ".json", ".env")  # files that are configuration


# A copy of a pool library in the tree (vendored; `pip install -t .` beside a Lambda handler) is not the app's
# code: the library makes a pool where the app calls it, and the scan reads those calls as the library's. Each
# is known by a file of its own (an app's `integrations/sqlalchemy/` package is no copy of SQLAlchemy).
VENDORED = {
    "sqlalchemy": ("engine/create.py",),
    "asyncpg": ("pool.py",),
    "psycopg2": ("extensions.py",),
    "psycopg": ("pq/__init__.py",),
    "psycopg_pool": ("pool.py",),
    "django": ("db/backends",),
    "flask_sqlalchemy": ("extension.py", "model.py"),
    "alembic": ("runtime/environment.py",),
    "apscheduler": ("jobstores/sqlalchemy.py",),
}


RECORD_LIMIT = 4 << 20


def installed_into(folder: Path, names: list[str]) -> set[str]:
    """The packages and modules installed into a folder of the tree (bazarr's libs/, put on sys.path), as its
    `*.dist-info` folders' RECORD lists them: someone else's code, beside which the app's own files stay read."""
    found: set[str] = set()
    for record in (folder / name / "RECORD" for name in names if name.endswith(".dist-info")):
        try:  # (a regular file of a sane size: the tree is untrusted)
            small = record.is_file() and record.stat().st_size <= RECORD_LIMIT
            lines = record.read_text(errors="replace").splitlines() if small else []
        except OSError:
            lines = []
        for line in lines:
            top = line.split(",", 1)[0].split("/", 1)[0]
            if top and top not in ("..", "__pycache__") and not top.endswith(".dist-info"):
                found.add(top)
    return found


def imported_beside(path: Path) -> bool:
    """Whether a module beside the file, not itself an example or a test, star-imports it (concordia's
    `from .settings_template import *` in settings_docker.py): a template the app's settings run on, not one to
    copy."""
    for sibling in sorted(path.parent.glob("*.py")) if path.stem.isidentifier() else []:
        if sibling == path or is_test_file(sibling.relative_to(path.parent)) or is_example_file(Path(sibling.name)):
            continue
        try:  # (read as every source is: a FIFO or a device named like a module is refused, never waited on)
            data = read_bytes(sibling, "source file", BESIDE_LIMIT)
            tree = ast.parse(data) if path.stem.encode() in data else None
        except (PoolDoctorError, OSError, SyntaxError, ValueError, RecursionError):
            continue
        imports = [node for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)] if tree is not None else []
        if any((i.module or "").rpartition(".")[2] == path.stem and i.names[0].name == "*" for i in imports):
            return True
    return False


# The tests a pool is made under when only a test run makes it (Django's `if 'test' in sys.argv:`, as `manage.py
# test` runs; pytest's `"pytest" in sys.modules`; a CI service's variable, `'TRAVIS' in os.environ`: dissemin's
# env.py), read as Python: one of the conjuncts, as written (not under a `not`, not one side of an `or`)
CI = {"TRAVIS", "CI", "GITHUB_ACTIONS", "GITLAB_CI", "CIRCLECI", "BUILDKITE", "JENKINS_URL", "TF_BUILD"}
MEMBERSHIP = {"sys.argv": {"test", "pytest"}, "sys.modules": {"pytest"}, "os.environ": CI}


def under_test_run(condition: str | None) -> bool:
    """Whether the tests a pool is made under hold only while the test suite (or a CI service) runs (openduty's
    sqlite DATABASES)."""
    text = re.sub(r"#[^\n]*|\\\n", " ", condition or "")  # (a comment or a line continuation inside the test)
    try:
        test = ast.parse(" ".join(text.split()), mode="eval").body if text.strip() else None
    except SyntaxError:  # (a long condition is cut short: not read)
        return False
    conjuncts = test.values if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And) else [test]
    return any(_runs_tests(node) for node in conjuncts if node is not None)


def _runs_tests(node: ast.expr) -> bool:
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.left, ast.Constant):
        container = ast.unparse(node.comparators[0])
        return isinstance(node.ops[0], ast.In) and node.left.value in MEMBERSHIP.get(container, ())
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.Eq):
        given = node.comparators[0]
        return ast.unparse(node.left) == "sys.argv[1]" and isinstance(given, ast.Constant) and given.value == "test"
    if isinstance(node, ast.Call) and ast.unparse(node.func) in ("os.environ.get", "os.getenv") and len(node.args) == 1:
        return isinstance(node.args[0], ast.Constant) and node.args[0].value in CI
    return False
