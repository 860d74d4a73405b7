"""The connection spec: every form a user pastes, parsed by the library that owns it, rendered back so it
connects the same way, and never showing its password. Pure, no server (the CLI suites connect)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pool_doctor.connection.drivers import DRIVERS
from pool_doctor.connection.spec import parse_connection, resolve_connection
from pool_doctor.errors import MASK, UsageError

SECRET = "Zq9-s3cr3t/pw@x"

FORMS = [
    # (text, driver, hosts, ports, user, database)
    ("postgresql://app:pw@db:5433/appdb", "psycopg2", ["db"], [5433], "app", "appdb"),
    ("postgres://app:pw@db/appdb", "psycopg2", ["db"], [5432], "app", "appdb"),
    ("postgresql+asyncpg://app:pw@db:5433/appdb", "asyncpg", ["db"], [5433], "app", "appdb"),
    ("postgresql+psycopg://app:pw@db/appdb", "psycopg", ["db"], [5432], "app", "appdb"),
    ("postgresql+psycopg_async://app:pw@db/appdb", "psycopg", ["db"], [5432], "app", "appdb"),
    ("postgresql+psycopg2://app:pw@db/appdb", "psycopg2", ["db"], [5432], "app", "appdb"),
    (
        "postgresql+asyncpg://app@/appdb?host=h1:5433&host=h2:5434",
        "asyncpg",
        ["h1", "h2"],
        [5433, 5434],
        "app",
        "appdb",
    ),
    ("postgresql://app@h1:5433,h2:5434/appdb", "psycopg2", ["h1", "h2"], [5433, 5434], "app", "appdb"),
    (
        "postgresql+psycopg://app@/appdb?host=/run/postgresql&port=5433",
        "psycopg",
        ["/run/postgresql"],
        [5433],
        "app",
        "appdb",
    ),
    ("host=db port=5433 dbname=appdb user=app password=pw", "psycopg2", ["db"], [5433], "app", "appdb"),
    ("host=/tmp dbname=appdb user=app", "psycopg2", ["/tmp"], [5432], "app", "appdb"),
]


@pytest.mark.parametrize(("text", "driver", "hosts", "ports", "user", "database"), FORMS, ids=[f[0] for f in FORMS])
def test_every_form_parses_to_the_same_spec(
    text: str, driver: str, hosts: list[str], ports: list[int], user: str, database: str
) -> None:
    spec = parse_connection(text)
    assert (spec.driver, spec.hosts, spec.ports, spec.user, spec.database) == (driver, hosts, ports, user, database)
    again = parse_connection(spec.render(hide_password=False))  # what a URL renders back connects the same way
    assert (again.hosts, again.ports, again.user, again.database, again.password) == (
        spec.hosts,
        spec.ports,
        spec.user,
        spec.database,
        spec.password,
    )
    assert again.driver == spec.driver or spec.form != "url"


@pytest.mark.parametrize(
    "text",
    [
        "postgresql://app:{pw}@db/appdb",
        "postgresql+asyncpg://app@db/appdb?password={pw}",
        "host=db dbname=appdb user=app password='{pw}'",
        "postgresql://app@h1:5432,h2:5432/appdb?password={pw}",
    ],
)
def test_the_password_lives_only_in_the_secret(text: str) -> None:
    from urllib.parse import quote

    given = text.format(pw=quote(SECRET, safe="") if "://" in text else SECRET)
    spec = parse_connection(given)
    assert spec.password is not None and spec.password.get_secret_value() == SECRET
    shown = spec.display()
    assert SECRET not in shown and quote(SECRET, safe="") not in shown and MASK in shown
    assert SECRET not in repr(spec)


def test_session_settings_and_their_sources() -> None:
    spec = parse_connection("postgresql+psycopg://app@db/appdb?options=-c%20idle_session_timeout%3D0%20-c%20x%3Dy")
    assert spec.session_settings()["idle_session_timeout"] == ("0", "options in the connection string")
    spec = parse_connection("postgresql+asyncpg://app@db/appdb").with_connect_args(
        {"server_settings": {"idle_session_timeout": "0"}}
    )
    assert spec.session_settings()["idle_session_timeout"] == ("0", "connect_args server_settings")


def test_the_apps_own_keyword_arguments_reach_the_driver() -> None:
    """SQLAlchemy's dialect translates the URL; connect_args go over it, as create_engine does."""
    spec = parse_connection("postgresql+psycopg://app:pw@db:5433/appdb?sslmode=require&application_name=web")
    kwargs = DRIVERS["psycopg"].connect_kwargs(spec.with_connect_args({"keepalives_idle": 30}))
    assert kwargs["host"] == "db" and str(kwargs["port"]) == "5433" and kwargs["dbname"] == "appdb"
    assert kwargs["sslmode"] == "require" and kwargs["keepalives_idle"] == 30
    spec = parse_connection("postgresql+asyncpg://app:pw@db/appdb?prepared_statement_cache_size=0")
    kwargs = DRIVERS["asyncpg"].connect_kwargs(spec.with_connect_args({"command_timeout": 30}))
    assert kwargs["database"] == "appdb" and kwargs["command_timeout"] == 30
    assert "prepared_statement_cache_size" not in kwargs  # SQLAlchemy's adapter takes it, asyncpg never sees it


@pytest.mark.parametrize(
    "query",
    [
        "prepared_statement_cache_size=abc",  # ValueError in the dialect's int()
        "prepared_statement_cache_size=1&prepared_statement_cache_size=2",  # a tuple: TypeError
    ],
)
def test_a_query_value_the_dialect_cannot_read_is_a_usage_error_naming_it(query: str) -> None:
    spec = parse_connection(f"postgresql+asyncpg://app:s3cret-pw@db/appdb?application_name=web&{query}")
    with pytest.raises(UsageError) as caught:
        DRIVERS["asyncpg"].connect_kwargs(spec)
    message = str(caught.value)
    assert f"the query value {query} is not one" in message and "\n" not in message
    assert "s3cret-pw" not in message and f"app:{MASK}@db" in message


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("mysql://u@h/db", "unsupported URL scheme"),
        ("postgresql+pygresql://u@h/db", "unknown PostgreSQL driver"),
        ("postgresql://u@h:99999/db", "port 99999 is out of range (1-65535)"),
        ("postgresql://u@h/db?sslmode=bogus", "unknown sslmode"),
        ("host=h port=abc", "the port is not a number"),
        ("not a url", "malformed database URL"),
        ("host='unterminated", "malformed connection string"),
    ],
)
def test_bad_forms_are_one_clear_line(text: str, words: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_connection(text)
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_service_files_and_libpq_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    service = tmp_path / "pg_service.conf"
    service.write_text("[appsvc]\nhost=svc.internal\nport=6543\ndbname=svcdb\nuser=svcuser\npassword=svc-pw-1\n")
    monkeypatch.setenv("PGSERVICEFILE", str(service))
    for name in ("PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGPASSWORD", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    spec = parse_connection("service=appsvc")
    assert (spec.host, spec.port, spec.database, spec.user) == ("svc.internal", 6543, "svcdb", "svcuser")
    assert spec.password is not None and "svc-pw-1" not in spec.display()
    env = {**os.environ, "PGHOST": "envhost", "PGPORT": "6000", "PGUSER": "envuser", "PGPASSWORD": "env-pw-2"}
    monkeypatch.setenv("PGHOST", "envhost")
    monkeypatch.setenv("PGPORT", "6000")
    monkeypatch.setenv("PGUSER", "envuser")
    spec = resolve_connection(None, env)
    assert (spec.host, spec.port, spec.user) == ("envhost", 6000, "envuser")
    assert spec.password is not None and "env-pw-2" not in spec.display()
