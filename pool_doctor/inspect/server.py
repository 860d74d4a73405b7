"""Read what the server will do to the app's connections: one connection, one query, read-only.

The settings are resolved as the app's role and database see them: `ALTER ROLE app IN DATABASE db SET`
beats `ALTER ROLE app SET`, which beats `ALTER DATABASE db SET`, which beats the server's own value
(the order PostgreSQL applies them at connection start, `process_settings` in postinit.c).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar

from pool_doctor.connection.drivers import describe_error, driver_for
from pool_doctor.connection.sessions import Session
from pool_doctor.connection.spec import ConnectionSpec
from pool_doctor.durations import parse_duration, show_value, unit_seconds
from pool_doctor.errors import ConnectError, UsageError
from pool_doctor.inspect.sources import describe_source
from pool_doctor.model import Activity, ServerFacts, Setting
from pool_doctor.redact import printable_data

T = TypeVar("T")

# FIELD_NOTES section 1: the settings that close, cancel, or keep a pooled connection alive.
WATCHED_SETTINGS = (
    "idle_session_timeout",
    "idle_in_transaction_session_timeout",
    "transaction_timeout",
    "statement_timeout",
    "lock_timeout",
    "tcp_keepalives_idle",
    "tcp_keepalives_interval",
    "tcp_keepalives_count",
    "tcp_user_timeout",
    "client_connection_check_interval",
    "max_connections",
    "superuser_reserved_connections",
    "reserved_connections",
)

# Sources in pg_settings that are the server's own value, not a per-role/database/session override.
SERVER_SOURCES = {"default", "configuration file", "command line", "environment variable", "override"}

# One round trip. $1: the role to judge (NULL: the one the session logged in as), $2: the watched setting names.
FACTS_QUERY = """
WITH target_role AS (
    SELECT oid, rolname, rolconnlimit, rolsuper FROM pg_roles WHERE rolname = coalesce($1::text, session_user)
), activity AS (
    SELECT usename, application_name, state, datname,
           extract(epoch FROM now() - state_change) AS idle_s,
           extract(epoch FROM now() - backend_start) AS age_s
    FROM pg_stat_activity
    WHERE (backend_type = 'client backend'
           -- Another role's session, unless we hold pg_read_all_stats: backend_type reads NULL too.
           OR (backend_type IS NULL AND datid IS NOT NULL AND usesysid IS NOT NULL))
      AND pid <> pg_backend_pid()
)
SELECT json_build_object(
    'version', current_setting('server_version'),
    'version_num', current_setting('server_version_num')::int,
    'database', current_database(),
    -- The login role: its ALTER ROLE settings and limits apply, even after a SET ROLE (privileges: current_user).
    'connected_as', session_user,
    'superuser', (SELECT rolsuper FROM pg_roles WHERE rolname = current_user),
    'role', (SELECT json_build_object('name', rolname, 'connlimit', rolconnlimit, 'superuser', rolsuper)
             FROM target_role),
    'database_connlimit', (SELECT datconnlimit FROM pg_database WHERE datname = current_database()),
    'settings', (SELECT json_agg(json_build_object(
                    'name', name, 'setting', setting, 'unit', unit, 'source', source,
                    'sourcefile', sourcefile, 'sourceline', sourceline, 'boot_val', boot_val))
                 FROM pg_settings WHERE name = ANY($2::text[])),
    'overrides', (SELECT json_agg(json_build_object(
                    'role', s.setrole <> 0, 'database', s.setdatabase <> 0, 'config', s.setconfig))
                  FROM pg_db_role_setting s
                  WHERE s.setrole IN (0, coalesce((SELECT oid FROM target_role), 0))
                    AND s.setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))),
    'activity', (SELECT json_agg(json_build_object(
                    'user', usename, 'application', application_name, 'state', state, 'n', n,
                    'max_idle_s', max_idle_s, 'max_age_s', max_age_s))
                 FROM (SELECT usename, application_name, state, count(*) AS n,
                              max(idle_s) FILTER (WHERE state = 'idle') AS max_idle_s, max(age_s) AS max_age_s
                       FROM activity GROUP BY 1, 2, 3) g),
    'read_all_stats', pg_has_role(current_user, 'pg_read_all_stats', 'USAGE'),
    'ssl', (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()),
    'server_addr', inet_server_addr()::text,
    'server_port', inet_server_port(),
    'backend_pid', pg_backend_pid()
)
"""

# The second (and last) round trip, only when it is needed and allowed: judging another role (--role) while
# the connecting role has its own override hides the server-wide value from pg_settings. The files say it
# (postgresql.conf, includes, ALTER SYSTEM's postgresql.auto.conf); pg_file_settings is superusers' only.
# The view shows the files as they are now: `changed` says a file was written after the server last read them
# (in a later second: a file's time has whole seconds, so a write in the reload's own second goes unseen).
FILE_SETTINGS_QUERY = """
SELECT coalesce(json_agg(json_build_object(
           'name', name, 'setting', setting, 'sourcefile', sourcefile, 'sourceline', sourceline,
           'changed', (pg_stat_file(sourcefile, true)).modification > pg_conf_load_time())), '[]')
FROM pg_file_settings
WHERE applied AND error IS NULL AND name = ANY($1::text[])
"""


async def connect(spec: ConnectionSpec, timeout: float) -> Session:
    """A session opened the way the app opens it, with the app's own driver."""
    return await driver_for(spec).open(spec, timeout)


async def read_facts_then(
    spec: ConnectionSpec,
    role: str | None,
    timeout: float,
    then: Callable[[Session, ServerFacts], Awaitable[T]],
) -> tuple[ServerFacts, T]:
    """Connect once, run FACTS_QUERY once, then `then(session, facts)` on the same connection before it
    closes (pooler detection needs the client connection whose backend PID it just saw)."""
    session = await connect(spec, timeout)
    try:
        # Without --role, the role the session logged in as: a service file or PGUSER may name it, not the URL.
        role_name = role
        try:
            raw = await session.fetchval(FACTS_QUERY, role_name, list(WATCHED_SETTINGS), timeout=timeout)
        except TimeoutError:
            raise ConnectError(f"timed out after {timeout:g}s reading settings from {spec.display()}") from None
        except Exception as exc:
            raise ConnectError(f"reading settings from {spec.display()} failed: {describe_error(exc)}") from None
        # What the server says (names, settings, version) is shown on terminals: control characters escaped.
        data = printable_data(raw if isinstance(raw, dict) else json.loads(raw))
        if data["role"] is None:
            raise UsageError(f"role {role_name!r} does not exist on {spec.display()}")
        asked = driver_for(spec).session_settings(spec)
        hidden = hidden_server_settings(data, asked)
        file_settings = None
        if hidden and data.get("superuser"):
            try:
                rows = await session.fetchval(FILE_SETTINGS_QUERY, hidden, timeout=timeout)
            except TimeoutError:
                raise ConnectError(f"timed out after {timeout:g}s reading settings from {spec.display()}") from None
            except Exception:  # an extension's hook, a revoked function: the note says what stays unseen
                rows = None
            if rows is not None:
                listed = printable_data(rows if isinstance(rows, list) else json.loads(rows))
                file_settings = {row["name"]: row for row in listed}
        facts = facts_from_row(
            data,
            startup_pid=session.startup_pid,
            transport_unix=spec.is_unix_socket,
            session_settings=asked,
            file_settings=file_settings,
        )
        extra = await then(session, facts)
    except BaseException:
        session.terminate()  # no polite goodbye after a failure: on a blackholed path close() would wait again
        raise
    await session.close()
    return facts, extra


def facts_from_row(
    data: dict[str, Any],
    *,
    startup_pid: int | None,
    transport_unix: bool = False,
    session_settings: dict[str, tuple[str, str]] | None = None,
    file_settings: dict[str, dict[str, Any]] | None = None,
) -> ServerFacts:
    """Turn FACTS_QUERY's JSON into ServerFacts (pure, so it is tested without a server).

    Connected as the judged role, the session's own pg_settings are the answer: PostgreSQL has applied
    every level already, the app's startup options included. Judging another role (--role), the levels are
    rebuilt from pg_db_role_setting in PostgreSQL's order, with the app's startup options on top. Where the
    connecting role's own override hides the server-wide value, `file_settings` (FILE_SETTINGS_QUERY's rows
    by name, None when they could not be read) gives it.
    """
    role = data["role"]
    database = data["database"]
    same_role = data["connected_as"] == role["name"]
    session_settings = session_settings or {}
    limitations: list[str] = []
    overrides = _overrides(data.get("overrides") or [], role["name"], database)
    settings: dict[str, Setting] = {}
    for row in data.get("settings") or []:
        name = row["name"]
        if same_role:
            client = session_settings.get(name, ("", "the connection's startup options"))[1]
            source = describe_source(
                row["source"],
                role=role["name"],
                database=database,
                client=client,
                sourcefile=row.get("sourcefile"),
                sourceline=row.get("sourceline"),
            )
            # The value from the level that set it (ALTER ROLE ... SET, options=-c ...), as --role shows it too.
            value = row["setting"]
            if row["source"] in ("database user", "user", "database", "global") and name in overrides:
                value = overrides[name][0]
            elif row["source"] == "client" and name in session_settings:
                value = session_settings[name][0]
            settings[name] = _setting(row, value, source)
            continue
        if name in session_settings:
            value, where = session_settings[name]
            settings[name] = _setting(row, value, where)
        elif name in overrides:
            value, where = overrides[name]
            settings[name] = _setting(row, value, where)
        elif row["source"] in SERVER_SOURCES:
            settings[name] = _setting(
                row,
                row["setting"],
                describe_source(
                    row["source"],
                    role=role["name"],
                    database=database,
                    sourcefile=row.get("sourcefile"),
                    sourceline=row.get("sourceline"),
                ),
            )
        elif file_settings is not None and name in file_settings:
            # The connecting session's value comes from its own role or startup; the files hold the server's.
            entry = file_settings[name]
            where = describe_source(
                "configuration file",
                role=role["name"],
                database=database,
                sourcefile=entry.get("sourcefile"),
                sourceline=entry.get("sourceline"),
            )
            settings[name] = _setting(row, entry["setting"], where)
            limitations.append(
                f"{name}: read from {where}, as {data['connected_as']}'s own override hides it in pg_settings"
                + (
                    "; the file changed after the server last read it, so the value may not be in effect yet"
                    if entry.get("changed")
                    else ""
                )
                + " (a -c on the server's command line would beat it)"
            )
        else:
            settings[name] = _setting(row, row["boot_val"], "default")
            if file_settings is None:
                limitations.append(
                    f"{name}: {data['connected_as']} has its own override, which hides the server-wide value "
                    f"from a non-superuser; shown as the built-in default (connect as {role['name']} to see it)"
                )
            else:  # no file sets it: the default, unless the server's command line does (which nothing shows)
                limitations.append(
                    f"{name}: {data['connected_as']} has its own override and no configuration file sets it; "
                    "shown as the built-in default (a -c on the server's command line would not show)"
                )
    for name in WATCHED_SETTINGS:
        settings.setdefault(name, Setting(name=name, present=False))

    activity = _activity(data.get("activity") or [], role["name"], data["connected_as"])
    if not data.get("read_all_stats") and not data.get("superuser") and activity.hidden:
        limitations.append(
            f"{activity.hidden} session(s) of other roles are hidden from {data['connected_as']}: "
            "grant pg_read_all_stats to see their state"
        )
    server_addr = data.get("server_addr")

    def integer(name: str, default: int = 0) -> int:
        setting = settings.get(name)
        return int(setting.value) if setting and setting.present and setting.value is not None else default

    # 0 is a real limit (only superusers may connect); -1 means none, -2 a database left invalid by DROP.
    datconnlimit = data.get("database_connlimit")
    return ServerFacts(
        version=data["version"],
        version_num=data["version_num"],
        role=role["name"],
        database=database,
        connected_as=data["connected_as"],
        superuser=bool(data.get("superuser")),
        settings=settings,
        max_connections=integer("max_connections", 100),
        superuser_reserved_connections=integer("superuser_reserved_connections", 3),
        reserved_connections=integer("reserved_connections"),
        role_connlimit=role["connlimit"] if role["connlimit"] >= 0 else None,
        database_connlimit=datconnlimit if datconnlimit is not None and datconnlimit >= 0 else None,
        activity=activity,
        transport="unix" if server_addr is None or transport_unix else "tcp",
        ssl=data.get("ssl"),
        server_port=data.get("server_port"),
        backend_pid=data.get("backend_pid"),
        startup_pid=startup_pid,
        limitations=limitations,
    )


def with_session_settings(server: ServerFacts, asked: dict[str, tuple[str, str]]) -> ServerFacts:
    """The facts as a session that asks for `asked` at startup sees them (name -> (value, where)), from facts
    read once by a session that did not: another pool of the same app (--app) with its own server_settings
    or options. The app's startup settings win over every role and database level, as in facts_from_row."""
    if not asked:
        return server
    settings = dict(server.settings)
    for name, (value, where) in asked.items():
        known = settings.get(name)
        if known is not None and known.present:
            settings[name] = _setting({"name": name, "unit": known.unit}, value, where)
    return replace(server, settings=settings)


def _overrides(rows: list[dict[str, Any]], role: str, database: str) -> dict[str, tuple[str, str]]:
    """name -> (value, where) from pg_db_role_setting, the most specific level winning (postinit.c's order:
    role in database, role, database, all roles)."""
    levels = {
        (True, True): (4, "database user"),
        (True, False): (3, "user"),
        (False, True): (2, "database"),
        (False, False): (1, "global"),
    }
    best: dict[str, tuple[int, str, str]] = {}
    for row in rows:
        rank, source = levels[(row["role"], row["database"])]
        for item in row["config"] or []:
            name, _, value = item.partition("=")
            if name not in best or best[name][0] < rank:
                best[name] = (rank, value, describe_source(source, role=role, database=database))
    return {name: (value, where) for name, (_, value, where) in best.items()}


# Settings whose SHOW hook prints the bare number in their own unit (guc_tables.c show_tcp_keepalives_idle,
# show_tcp_user_timeout, ...), not the largest whole unit: `SHOW tcp_keepalives_idle` says 60, not 1min.
BARE_SHOW = {"tcp_keepalives_idle", "tcp_keepalives_interval", "tcp_keepalives_count", "tcp_user_timeout"}


def hidden_server_settings(data: dict[str, Any], session_settings: dict[str, tuple[str, str]]) -> list[str]:
    """Settings whose server-wide value the connecting session cannot see, and the judged role would get:
    judging another role, the connecting role's own override (or startup option) stands in pg_settings,
    and neither the judged role's levels nor the app's startup options set the value."""
    role = data["role"]
    if data["connected_as"] == role["name"]:
        return []
    overrides = _overrides(data.get("overrides") or [], role["name"], data["database"])
    return [
        row["name"]
        for row in data.get("settings") or []
        if row["source"] not in SERVER_SOURCES and row["name"] not in overrides and row["name"] not in session_settings
    ]


def _setting(row: dict[str, Any], value: str | None, source: str) -> Setting:
    name, unit = row["name"], row.get("unit")
    seconds = None
    if unit_seconds(unit) is not None and value is not None:
        try:
            seconds = parse_duration(value, default_unit=unit)
        except ValueError:
            seconds = None
        else:
            # One shape whatever set it: '300000' from a config file and '5min' from ALTER ROLE both read as SHOW does.
            value = str(round(seconds / (unit_seconds(unit) or 1))) if name in BARE_SHOW else show_value(seconds, unit)
    return Setting(name=name, present=True, value=value, unit=unit, seconds=seconds, source=source)


def _activity(rows: list[dict[str, Any]], role: str, connected_as: str) -> Activity:
    by_state: dict[str, int] = {}
    by_application: dict[str, int] = {}
    by_user: dict[str, int] = {}
    total = role_count = hidden = idle_in_tx = 0
    oldest_idle: float | None = None
    oldest_age: float | None = None
    for row in rows:
        n = row["n"]
        total += n
        state = row["state"] or "hidden"
        hidden += n if row["state"] is None else 0
        by_state[state] = by_state.get(state, 0) + n
        by_application[row["application"] or "(none)"] = by_application.get(row["application"] or "(none)", 0) + n
        by_user[row["user"] or "(unknown)"] = by_user.get(row["user"] or "(unknown)", 0) + n
        if row["user"] == role:
            role_count += n
            idle_in_tx += n if state.startswith("idle in transaction") else 0
            if row["max_idle_s"] is not None:
                oldest_idle = max(oldest_idle or 0.0, float(row["max_idle_s"]))
            if row["max_age_s"] is not None:
                oldest_age = max(oldest_age or 0.0, float(row["max_age_s"]))
    return Activity(
        total=total,
        role_connections=role_count,
        other_connections=total - role_count,
        by_state=by_state,
        by_application=by_application,
        by_user=by_user,
        role_oldest_idle_seconds=oldest_idle,
        role_oldest_backend_seconds=oldest_age,
        role_idle_in_transaction=idle_in_tx,
        hidden=hidden,
    )
