"""What a scanned pool's code says about its connection: the URL (or DSN) it gives, whether it is PostgreSQL,
the driver that URL selects, and the port it dials. Pure: a ScannedPool in, plain values out."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from pool_doctor.connection.spec import DEFAULT_DRIVER, DRIVERS, SCHEMES
from pool_doctor.scan.literals import literal_prefix
from pool_doctor.scan.model import ScannedPool, ScannedValue
from pool_doctor.scan.nodes import written_start
from pool_doctor.stacks.django import DjangoStack

URL_KEYS = ("url", "dsn", "conninfo")  # where each stack's call takes its connection string
PORT_KEYS = ("port", "PORT", "kwargs.port", "connect_args.port")


def url_of(pool: ScannedPool) -> ScannedValue | None:
    for key in URL_KEYS:
        value = pool.get(key)
        if value is not None:
            return value
    return None


def known_url(pool: ScannedPool) -> str | None:
    """The connection string the code gives, when the scan could work it out."""
    url = url_of(pool)
    return url.value if url is not None and url.known and isinstance(url.value, str) else None


SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
BUILT = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://\.\.\. \(")  # a URL builder's with a part unknown (scan/builders)


def written_scheme(expr: str | None) -> str | None:
    """The scheme an unknown URL's source text writes out first, the rest computed: an f-string, a `+` or `%` of a
    literal, a literal's `.format(...)` (f"postgresql+psycopg2://{user}@{host}/{name}"); not a text a later call
    rewrites (`"sqlite:///app.db".replace("sqlite", backend())`); or the scheme a URL builder was given, where a
    part it was given is unknown (`URL.create(drivername="postgresql+psycopg", database=settings.DB)`)."""
    match = SCHEME.match(literal_prefix(expr, operators=True) or "") or BUILT.match(expr or "")
    if match is None and expr is not None and expr.endswith("..."):
        return _cut_scheme(expr)
    return match.group(1) if match else None


def _cut_scheme(text: str) -> str | None:
    """The scheme a text Module.segment cut short writes first (nodes.written_start: one naming its driver),
    only a PostgreSQL one: the part cut off may rewrite it, and one read wrongly as another database's would
    drop a pool."""
    match = SCHEME.match(written_start(text) or "")
    return match.group(1) if match and match.group(1).partition("+")[0] in (*SCHEMES, "pgsql") else None


# The databases SQLAlchemy's URLs name, by the name before `+`: its own dialects, the external ones its
# documentation lists (dialects/index.rst, "External Dialects") and the names other dialect packages register.
_DIALECT_NAMES = """
postgresql postgres pgsql mysql mariadb sqlite oracle mssql firebird sybase drizzle ingres awsathena
redshift drill druid hive presto trino solr clickhouse cockroachdb crate databend databricks denodo duckdb
exa elasticsearch firebolt bigquery gsheets greenplum hana ibm_db_sa db2 informix impala kinetica kusto
access monetdb oceanbase opengauss iris snowflake spanner sqlanywhere starrocks teradatasql tidb yugabytedb
ydb yql mongodb vertica netezza pinot kylin libsql cubrid maxdb questdb timescaledb hsqldb rockset sapase
"""
DIALECTS = frozenset(_DIALECT_NAMES.split())


def url_scheme(pool: ScannedPool) -> str | None:
    """The URL's scheme: from its value, else from its source text when only the rest is computed. None where a
    variable's default gives the scheme and it names no database (shotgun's `"{protocol}://..."` with
    `os.environ.get("DB_PROTOCOL", "protocol")`: a placeholder the deployment's variable replaces)."""
    url = url_of(pool)
    if known_url(pool) is not None and url is not None:
        return _named(url)
    if url is not None and url.branches:  # (the scheme every side of its tests writes, where they agree)
        schemes = {_named(b) if b.known and "://" in str(b.value) else written_scheme(b.expr) for b in url.branches}
        return schemes.pop() if len(schemes) == 1 else None
    return written_scheme(url.expr) if url is not None else None


def _named(url: ScannedValue) -> str | None:
    text = str(url.value)
    scheme = text.split(":", 1)[0] if "://" in text else None
    if scheme is None or not url.env or url.source is None or scheme.split("+", 1)[0].lower() in DIALECTS:
        return scheme
    return scheme if written_scheme(url.source) == scheme else None  # (one the code writes is no placeholder)


def is_postgres(pool: ScannedPool) -> bool:
    """False only when the code visibly points elsewhere (sqlite for tests, mysql): unknown counts as yes,
    and so does a setting one of whose branches is PostgreSQL's."""
    branched = [key for key in ("ENGINE", *URL_KEYS) if (value := pool.get(key)) is not None and value.branches]
    if branched:
        key = branched[0]
        return any(_is_postgres(replace(pool, settings={**pool.settings, key: b})) for b in pool.settings[key].branches)
    return _is_postgres(pool)


def elsewhere(pool: ScannedPool) -> str | None:
    """The database a pool visibly points at when that is not PostgreSQL (`sqlite`, `mysql`, Django's
    `sqlite3`), for the report to say why it is not judged; None for PostgreSQL's."""
    if is_postgres(pool):
        return None
    engine = pool.get("ENGINE")
    if engine is not None and engine.known:
        return str(engine.value).rsplit(".", 1)[-1]
    scheme = url_scheme(pool) if engine is None else None
    if scheme is None and _sqlite_args(pool):
        return "sqlite (by its connect_args)"
    if scheme is None and pool.database is not None:
        return f"{pool.database} (by its requirements)"
    return scheme.split("+", 1)[0] if scheme else "another database"


def _is_postgres(pool: ScannedPool) -> bool:
    engine = pool.get("ENGINE")
    if engine is not None and engine.known and isinstance(engine.value, str):  # Django's entry names its backend
        return DjangoStack.postgres_backend(engine.value)
    scheme = url_scheme(pool) if engine is None else None
    if scheme is None:  # a libpq conninfo ("dbname=app host=db") is PostgreSQL's own; unknown counts as yes, but
        return pool.database is None and not _sqlite_args(pool)  # where the requirements or the arguments say not
    return scheme.split("+", 1)[0] in (*SCHEMES, "pgsql")


def _sqlite_args(pool: ScannedPool) -> bool:
    """`connect_args={"check_same_thread": False}`: sqlite3.connect's own argument, which no PostgreSQL driver
    takes (shiny-couscous's engine of an unknown URL under `if is_sqlite:`)."""
    return pool.get("connect_args.check_same_thread") is not None


def url_driver(pool: ScannedPool) -> str | None:
    """The driver a SQLAlchemy URL in the code selects (SQLAlchemy's default for a plain postgresql://), or
    None when the code gives no URL whose scheme the scan could read."""
    scheme = url_scheme(pool)
    if scheme is None or not is_postgres(pool):
        return None
    return DRIVERS.get(scheme.split("+", 1)[1], DEFAULT_DRIVER) if "+" in scheme else DEFAULT_DRIVER


def port_of(pool: ScannedPool) -> int | None:
    """The port the code visibly dials (in its URL, DSN or a port key); None when it does not say."""
    candidates: list[Any] = []
    text = known_url(pool)
    if text is not None:
        if "://" in text:
            try:
                candidates.append(urlsplit(text).port)
            except ValueError:
                pass
        else:  # conninfo: "host=... port=6432"
            candidates.extend(part.split("=", 1)[1] for part in text.split() if part.startswith("port="))
    for key in PORT_KEYS:
        value = pool.get(key)
        if value is not None and value.known:
            candidates.append(value.value)
    for candidate in candidates:
        try:
            return int(candidate)
        except (TypeError, ValueError):
            continue
    return None
