"""Hypothesis over everything that parses user input: URLs, durations, config data and config files.

The contract: a valid result, or a PoolDoctorError subclass (which the CLI turns into one line and
exit 2); never any other exception. `parse_duration` reads server-reported values and its contract is
ValueError. On generated valid URLs, the standard-library parser `check` uses must agree with
SQLAlchemy's `make_url` (the reference) on host, port, user, password and database.
"""

from __future__ import annotations

import math
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from pool_doctor.config import AppConfig, load_settings, read_config_file, unknown_keys
from pool_doctor.connection.pgpass import _pgpass_fields
from pool_doctor.connection.spec import (
    MASK,
    ConnectionSpec,
    parse_connection,
    resolve_connection,
)
from pool_doctor.connection.spec import (
    mask_text as mask_url,
)
from pool_doctor.durations import format_seconds, parse_duration
from pool_doctor.errors import PoolDoctorError

FUZZ = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(autouse=True, scope="module")
def _no_user_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The environment must not feed settings or a ~/.pgpass into the functions under test."""
    import os

    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith(("PG", "POOL_DOCTOR_")) or name == "DATABASE_URL":
                mp.delenv(name)
        mp.setenv("HOME", str(tmp_path_factory.mktemp("home")))
        yield


# ------------------------------------------------------------------------------------------------
# URLs

SCHEMES = [
    "postgresql",
    "postgres",
    "postgresql+asyncpg",
    "postgresql+psycopg",
    "postgresql+psycopg2",
    "mysql",
    "http",
    "postgresql+",
    "+asyncpg",
    "",
    "postgresql+nope",
]
URL_ALPHABET = string.ascii_letters + string.digits + ":/@?#%&=+[]., -_~!$'()*;\\\x00\u00e9\u2603"


@st.composite
def url_like(draw: st.DrawFn) -> str:
    """Text shaped like a URL, with every part free to be broken."""
    scheme = draw(st.sampled_from(SCHEMES))
    sep = draw(st.sampled_from(["://", ":/", ":", "", "://"]))
    rest = draw(st.text(alphabet=URL_ALPHABET, max_size=60))
    return f"{scheme}{sep}{rest}"


def _parses_or_refuses(text: str) -> ConnectionSpec | None:
    try:
        target = parse_connection(text)
    except PoolDoctorError as exc:
        assert str(exc) and "\n" not in str(exc)
        return None
    assert isinstance(target, ConnectionSpec)
    assert 0 < target.port < 65536
    target.display()  # rendering a parsed target never fails
    return target


@FUZZ
@given(url_like())
@example("postgresql://u@h1:5432,h2:5432/db")
@example("postgresql://u:pw@[::1/db")
@example("postgresql://u:pw@host:99999/db")
@example("postgresql://:@:/")
@example("postgresql://%zz:%zz@h/%zz")
@example("postgresql://u@h/db?sslmode=bogus&host=/tmp")
def test_parse_url_parses_or_refuses(text: str) -> None:
    _parses_or_refuses(text)


@FUZZ
@given(st.text(max_size=80))
def test_parse_url_on_any_text(text: str) -> None:
    _parses_or_refuses(text)


ENV_KEYS = ["DATABASE_URL", "PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGPASSWORD", "PGSSLMODE", "PGSERVICE"]


@FUZZ
@given(
    url=st.one_of(st.none(), url_like()),
    env=st.dictionaries(st.sampled_from(ENV_KEYS), st.one_of(url_like(), st.text(max_size=20)), max_size=5),
)
@example(url=None, env={"PGHOST": "127.0.0.1", "PGPORT": "\u00b2"})  # ("²".isdigit(): a crash it found)
def test_resolve_target_resolves_or_refuses(url: str | None, env: dict[str, str]) -> None:
    assume(all("\x00" not in value for value in env.values()))  # the OS forbids NUL in environment values
    try:
        target = resolve_connection(url, env=env)
    except PoolDoctorError:
        return
    assert 0 < target.port < 65536
    target.display()


# Generated *valid* URLs: the stdlib parser and SQLAlchemy's make_url must agree.

PART = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12)
HOSTNAME = st.from_regex(r"\A[a-z][a-z0-9-]{0,10}(\.[a-z][a-z0-9-]{0,10}){0,2}\Z")
IPV4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
IPV6 = st.sampled_from(["::1", "fe80::1", "2001:db8::42"])


@st.composite
def valid_url(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    scheme = draw(st.sampled_from(["postgresql", "postgres", "postgresql+asyncpg", "postgresql+psycopg"]))
    user = draw(PART)
    password = draw(st.one_of(st.none(), st.text(max_size=16)))
    host = draw(st.one_of(HOSTNAME, IPV4, IPV6))
    port = draw(st.integers(1, 65535))
    database = draw(PART)
    netloc_host = f"[{host}]" if ":" in host else host
    auth = quote(user, safe="") + (f":{quote(password, safe='')}" if password is not None else "")
    url = f"{scheme}://{auth}@{netloc_host}:{port}/{quote(database, safe='')}"
    return url, {"host": host, "port": port, "user": user, "password": password, "database": database}


@FUZZ
@given(valid_url())
def test_stdlib_parser_agrees_with_sqlalchemy(generated: tuple[str, dict[str, Any]]) -> None:
    from sqlalchemy.engine import make_url

    url, parts = generated
    ours = parse_connection(url)
    reference = make_url(url)
    mine = {
        "host": ours.host,
        "port": ours.port,
        "user": ours.user,
        "password": ours.password.get_secret_value() if ours.password is not None else None,
        "database": ours.database,
    }
    theirs = {
        "host": reference.host,
        "port": reference.port,
        "user": reference.username,
        "password": reference.password,
        "database": reference.database,
    }
    assert mine == theirs, url
    assert mine == parts, url


@FUZZ
@given(valid_url(), st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=4, max_size=16))
def test_display_never_shows_the_password(generated: tuple[str, dict[str, Any]], secret_tail: str) -> None:
    url, _ = generated
    secret = "Zq9" + secret_tail
    head, _, tail = url.partition("@")
    user = head.split("://", 1)[1].split(":", 1)[0]
    with_secret = f"{head.split('://', 1)[0]}://{user}:{quote(secret, safe='')}@{tail}"
    shown = parse_connection(with_secret).display()
    assert secret not in shown and quote(secret, safe="") not in shown and MASK in shown
    assert quote(secret, safe="") not in mask_url(with_secret)


@FUZZ
@given(st.text(max_size=80))
def test_mask_url_never_fails(text: str) -> None:
    assert isinstance(mask_url(text), str)


# ~/.pgpass lines, libpq's escaping

PGPASS_FIELD = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\n\r"), max_size=10
)


def _escape(field: str) -> str:
    return field.replace("\\", "\\\\").replace(":", "\\:")


@FUZZ
@given(st.lists(PGPASS_FIELD, min_size=5, max_size=5))
def test_pgpass_fields_round_trip(fields: list[str]) -> None:
    assert _pgpass_fields(":".join(_escape(f) for f in fields)) == fields


@FUZZ
@given(st.text(max_size=60))
def test_pgpass_fields_never_fail(line: str) -> None:
    assert len(_pgpass_fields(line)) <= 5


# ------------------------------------------------------------------------------------------------
# Durations (server-reported values; contract: a number of seconds, or ValueError)


@FUZZ
@given(
    st.one_of(
        st.text(max_size=20),
        st.from_regex(r"\A\s*-?\d{1,12}(\.\d{1,6})?\s*(us|ms|s|min|h|d|MIN|Ms|x|)?\s*\Z"),
    ),
    st.sampled_from([None, "s", "ms", "min", "kB", "", "8kB"]),
)
@example("1500", "ms")
@example("9" * 400, "s")
def test_parse_duration_returns_seconds_or_value_error(text: str, unit: str | None) -> None:
    try:
        seconds = parse_duration(text, default_unit=unit)
    except ValueError as exc:
        assert str(exc)
        return
    assert isinstance(seconds, float) and not math.isnan(seconds)
    assert isinstance(format_seconds(seconds), str)


# ------------------------------------------------------------------------------------------------
# Config data and files

SCALAR = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=10)
)
VALUE = st.recursive(
    SCALAR,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
KNOWN_KEYS = [
    "pool_size",
    "max_overflow",
    "pool_recycle",
    "pool_pre_ping",
    "pool_timeout",
    "pool_use_lifo",
    "replicas",
    "workers_per_replica",
    "other_connections",
    "idle_timeout",
]
SECTION = st.dictionaries(st.one_of(st.sampled_from(KNOWN_KEYS), st.text(max_size=8)), VALUE, max_size=5)
FILE_DATA = st.dictionaries(
    st.one_of(st.sampled_from(["pool", "deployment", "network", "connect_args"]), st.text(max_size=8)),
    st.one_of(SECTION, VALUE),
    max_size=4,
)


def _settings_or_config_error(overrides: dict[str, dict[str, Any]], data: dict[str, Any]) -> AppConfig | None:
    try:
        result = load_settings(overrides, data, origin="fuzz.toml")
    except PoolDoctorError as exc:
        assert str(exc) and "\n" not in str(exc)
        return None
    assert isinstance(result, AppConfig)
    assert result.pool.pool_size >= 1 and result.deployment.replicas >= 1
    return result


@FUZZ
@given(FILE_DATA)
def test_load_settings_from_any_file_data(data: dict[str, Any]) -> None:
    unknown_keys(data)  # never fails either
    _settings_or_config_error({}, data)


@FUZZ
@given(
    st.fixed_dictionaries(
        {
            "pool": st.dictionaries(st.sampled_from(KNOWN_KEYS[:6]), SCALAR, max_size=3),
            "deployment": st.dictionaries(st.sampled_from(KNOWN_KEYS[6:9]), SCALAR, max_size=2),
            "network": st.dictionaries(st.just("idle_timeout"), SCALAR, max_size=1),
        }
    ),
    FILE_DATA,
)
def test_load_settings_from_any_overrides(overrides: dict[str, dict[str, Any]], data: dict[str, Any]) -> None:
    _settings_or_config_error(overrides, data)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


TOML_SCALAR = st.one_of(
    st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(), st.text(alphabet=string.printable.strip(), max_size=8)
)


@st.composite
def toml_text(draw: st.DrawFn) -> str:
    """A TOML document in pool-doctor's shape, with arbitrary values."""
    lines = []
    for section in draw(
        st.lists(st.sampled_from(["pool", "deployment", "network", "connect_args", "other"]), unique=True, max_size=4)
    ):
        lines.append(f"[{section}]")
        keys = draw(st.lists(st.sampled_from([*KNOWN_KEYS, "bogus"]), unique=True, max_size=4))
        for key in keys:
            value = draw(st.one_of(TOML_SCALAR, st.lists(TOML_SCALAR, max_size=3)))
            lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def config_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("configs")


def _read_then_load(path: Path) -> None:
    try:
        data, where = read_config_file(path)
    except PoolDoctorError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert where == path and isinstance(data, dict)
    unknown_keys(data)
    _settings_or_config_error({}, data)


@FUZZ
@given(st.binary(max_size=200))
@example(b"\xff\xfe\x00")
@example(b"[pool]\npool_size = 5\n")
@example("[pool]\n# caf\u00e9\n".encode("latin-1"))
def test_read_config_file_with_any_bytes(config_dir: Path, raw: bytes) -> None:
    path = config_dir / "fuzz.toml"
    path.write_bytes(raw)
    _read_then_load(path)


@FUZZ
@given(toml_text())
def test_read_config_file_with_any_toml(config_dir: Path, text: str) -> None:
    path = config_dir / "fuzz.toml"
    path.write_text(text, encoding="utf-8")
    _read_then_load(path)
