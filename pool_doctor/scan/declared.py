"""The database a project's requirements point at, for a pool whose code does not say which one it reaches (a URL
from a variable or a file the scan cannot read): a project that declares a MySQL driver (mysqlclient, PyMySQL, ...)
and no PostgreSQL one (psycopg2, psycopg, asyncpg, pg8000, ...) runs its pools on MySQL, not judged as
PostgreSQL's (round 75's web-interface-backend: `DATABASES = {"default": env.db()}`, mysqlclient its one driver).
Read from the requirement files nearest the pool's module, as releases.py reads Flask-SQLAlchemy's pins."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from pool_doctor.scan.app import stack_judging
from pool_doctor.scan.finder import Project
from pool_doctor.scan.model import ScannedPool
from pool_doctor.scan.releases import requirement_files
from pool_doctor.scan.target import url_scheme

PYTHON_LOCKS = {"poetry.lock", "Pipfile.lock", "uv.lock", "pdm.lock"}  # (not a yarn.lock's npm packages)
# a PostgreSQL driver, or any requirement naming PostgreSQL (`SQLAlchemy[postgresql_psycopg2binary]`,
# `databases[postgresql]`, django-postgres-extra): a project that names one is not read as another database's
POSTGRES = re.compile(rb"(?i)psycopg|asyncpg|pg8000|aiopg|pygresql|postgres")
OTHERS = {  # another database's driver: the database it serves
    "mysql": rb"mysqlclient|pymysql|mysql[-_]connector(?:[-_]python)?|mysql[-_]python|aiomysql|asyncmy|mariadb",
    "oracle": rb"cx[-_]oracle|oracledb",
    "mssql": rb"pyodbc|pymssql|aioodbc",
}
OTHER = {name: re.compile(rb"(?im)(?<![\w.-])(?:%s)(?![\w-])" % words) for name, words in OTHERS.items()}


def declared_database(folder: Path, base: Path) -> str | None:
    """The one other database whose driver the requirement files nearest `folder` that name a driver (up to `base`
    and two above it) declare, where they declare no PostgreSQL driver; None otherwise (a PostgreSQL driver, none,
    or several)."""
    for files in requirement_files(folder, base):
        kept = [data for path, data in files if path.suffix != ".lock" or path.name in PYTHON_LOCKS]
        text = b"\n".join(_requirement_lines(data) for data in kept)
        if POSTGRES.search(text):
            return None
        others = [name for name, pattern in OTHER.items() if pattern.search(text)]
        if others:  # (a folder naming no driver at all: the next one up may)
            return others[0] if len(others) == 1 else None
    return None


def _requirement_lines(data: bytes) -> bytes:
    """The file without its comments (`# psycopg2 for production` names no requirement)."""
    return b"\n".join(line.split(b"#", 1)[0] for line in data.splitlines())


def marked(project: Project, pools: list[ScannedPool]) -> list[ScannedPool]:
    """Each pool of a library that reaches any database (SQLAlchemy's, Django's) whose code names none (no URL
    scheme, no ENGINE the scan can read), with the other database its requirements point at, where they do."""
    paths = {m.display: m.path for m in project.modules.values() if m is not None}
    seen: dict[Path, str | None] = {}
    out = []
    for pool in pools:
        engine, path = pool.get("ENGINE"), paths.get(pool.file)
        unsaid = (engine is None and url_scheme(pool) is None) or (engine is not None and not engine.known)
        if path is not None and unsaid and stack_judging(pool).any_database(pool.stack):
            if path.parent not in seen:
                seen[path.parent] = declared_database(path.parent, project.base)
            pool = replace(pool, database=seen[path.parent])
        out.append(pool)
    return out
