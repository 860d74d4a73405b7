"""Where a session's setting came from, named as a DBA would set it. Pure and import-light.

pg_settings.source, read inside the session, names the level PostgreSQL applied last at connection
start (postinit.c `process_settings`: role+database, role, database, all roles, then the server's own).
"""

from __future__ import annotations


def quote_ident(name: str) -> str:
    """An identifier quoted the way PostgreSQL's quote_ident does when it must."""
    if name.isidentifier() and name == name.lower():
        return name
    return '"' + name.replace('"', '""') + '"'


def describe_source(
    source: str,
    *,
    role: str,
    database: str,
    client: str = "the connection's startup options",
    sourcefile: str | None = None,
    sourceline: int | None = None,
) -> str:
    """`ALTER ROLE app IN DATABASE appdb`, `ALTER ROLE ALL`, `postgresql.conf:12`, `default`, ..."""
    role, database = quote_ident(role), quote_ident(database)
    if source == "configuration file":
        return f"{sourcefile.rsplit('/', 1)[-1]}:{sourceline}" if sourcefile else "configuration file"
    return {
        "database user": f"ALTER ROLE {role} IN DATABASE {database}",
        "user": f"ALTER ROLE {role}",
        "database": f"ALTER DATABASE {database}",
        "global": "ALTER ROLE ALL",
        "client": client,
        "command line": "server command line",
        "environment variable": "server environment",
    }.get(source, source)
