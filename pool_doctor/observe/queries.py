"""What observe asks the server: read-only SELECTs as named constants, and the statement text made safe to show.

LIMITS_QUERY runs once, before anything else on the session (so pg_settings shows the server's values, not the
statement_timeout observe then sets for itself). SAMPLE_QUERY runs every tick; on PostgreSQL 14+ it also reads
pg_stat_database's session counters (sessions_fatal: ended by a FATAL error, such as idle_session_timeout's or
idle_in_transaction_session_timeout's; sessions_killed: by an operator, pg_terminate_backend; sessions_abandoned:
the client went away without a Terminate message).
"""

from __future__ import annotations

import re

# The settings whose limit a session of a role may meet while pooled (FIELD_NOTES section 1), plus the slots.
LIMIT_SETTINGS = (
    "idle_session_timeout",
    "idle_in_transaction_session_timeout",
    "transaction_timeout",
    "statement_timeout",
    "max_connections",
    "superuser_reserved_connections",
    "reserved_connections",
)

# $1: LIMIT_SETTINGS. Every row of pg_db_role_setting with its role's and database's names: each group's
# limits are then resolved in PostgreSQL's order (inspect.server.facts_from_row), as `check --role` does.
LIMITS_QUERY = """
SELECT json_build_object(
    'version', current_setting('server_version'),
    'version_num', current_setting('server_version_num')::int,
    'database', current_database(),
    'connected_as', session_user,
    'superuser', (SELECT rolsuper FROM pg_roles WHERE rolname = current_user),
    -- pg_monitor includes pg_read_all_stats: either lets pg_stat_activity show every role's sessions.
    'read_all_stats', pg_has_role(current_user, 'pg_read_all_stats', 'USAGE'),
    'settings', (SELECT json_agg(json_build_object(
                    'name', name, 'setting', setting, 'unit', unit, 'source', source,
                    'sourcefile', sourcefile, 'sourceline', sourceline, 'boot_val', boot_val))
                 FROM pg_settings WHERE name = ANY($1::text[])),
    'role_settings', (SELECT json_agg(json_build_object('role', r.rolname, 'database', d.datname,
                                                        'config', s.setconfig))
                      FROM pg_db_role_setting s
                      LEFT JOIN pg_roles r ON r.oid = s.setrole
                      LEFT JOIN pg_database d ON d.oid = s.setdatabase),
    'role_connlimits', (SELECT json_object_agg(rolname, rolconnlimit) FROM pg_roles WHERE rolcanlogin),
    'database_connlimits', (SELECT json_object_agg(datname, datconnlimit) FROM pg_database),
    'backend_pid', pg_backend_pid()
)
"""

# Bounds every later statement of observe's own session (session-local, never ALTER ROLE/SYSTEM).
STATEMENT_TIMEOUT_SQL = "SELECT set_config('statement_timeout', $1, false)"
IDLE_OFF_SQL = "SELECT set_config('idle_session_timeout', '0', false)"  # PostgreSQL 14+ only

# One row per session as an array (positions: SESSION_COLUMNS), not an object: with 500 sessions, naming every
# field in every row cost the query about a fifth of its time (bench/fleet.py).
SESSION_COLUMNS = (
    "pid",
    "user",
    "database",
    "application",
    "client",
    "state",
    "started",
    "state_age",
    "xact_age",
    "query",
)
_ACTIVITY = """
    'now', extract(epoch FROM now()),
    'sessions', coalesce((SELECT json_agg(json_build_array(
        pid, usename, datname, application_name,
        CASE WHEN state IS NULL THEN NULL WHEN client_addr IS NULL THEN 'local' ELSE host(client_addr) END,
        state,
        extract(epoch FROM backend_start),
        extract(epoch FROM now() - state_change),
        extract(epoch FROM now() - xact_start),
        -- Only an idle transaction's holder's statement is shown: cut here, its literals masked by observe.
        CASE WHEN state LIKE 'idle in transaction%' THEN left(query, 300) END))
      FROM pg_stat_activity
      WHERE (backend_type = 'client backend'
             -- Another role's session without pg_read_all_stats: backend_type reads NULL too.
             OR (backend_type IS NULL AND datid IS NOT NULL AND usesysid IS NOT NULL))
        AND pid <> pg_backend_pid()), '[]')"""

SAMPLE_QUERY = f"SELECT json_build_object({_ACTIVITY})"

# PostgreSQL 14+: the session counters (pg_stat_database, one row per database; visible to every role).
SAMPLE_QUERY_14 = f"""SELECT json_build_object({_ACTIVITY},
    'databases', (SELECT json_object_agg(datname, json_build_array(
                        sessions_fatal, sessions_killed, sessions_abandoned))
                  FROM pg_stat_database WHERE datname IS NOT NULL))"""

_LITERALS = re.compile(
    r"""\$(?P<tag>[A-Za-z_]\w*)?\$.*?(?:\$(?P=tag)?\$|$)"""  # dollar-quoted, to its end (or the cut)
    r"""|[EeBbXxNn]?'(?:[^']|'')*(?:'|$)"""  # 'text', E'...', B'...', cut or not
    r"""|(?<![\w$."])-?\b\d+(?:\.\d+)?(?:[eE][-+]?\d+)?\b""",  # numbers (not inside names or $1)
    re.DOTALL,
)


def masked_statement(text: str | None, width: int = 120) -> str | None:
    """A statement as shown: its literal values replaced by `?` (no parameter values), one line, cut to width."""
    if text is None:
        return None
    if text.startswith("<"):  # "<insufficient privilege>": the server's own placeholder
        return text
    one_line = " ".join(_LITERALS.sub("?", text).split())
    return one_line if len(one_line) <= width else one_line[: width - 3] + "..."
