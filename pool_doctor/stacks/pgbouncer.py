"""PgBouncer's own server pool, the pool that faces the server's limits behind it. Pure: facts in FACTS.md.

What PgBouncer does with an idle server connection (PgBouncer 1.18.0; src/server.c, src/janitor.c):
- it keeps reading every server socket, idle ones included: the server's FATAL and close arrive as events
  and `server_proto` disconnects the server ("server conn crashed?"), so the next client gets a fresh one.
  A middlebox between PgBouncer and the server that resets or drops sends nothing, so that stays unseen.
- the janitor (3x a second, `check_unused_servers`) closes servers idle longer than `server_idle_timeout`
  (600 s; 0 = off), but since 1.18.0 not while the pool is at `min_pool_size`; and servers connected longer than
  `server_lifetime` (3600 s), idle or not in use, whatever min_pool_size says.
- a server idle longer than `server_check_delay` (30 s) is tested with `server_check_query` ("select 1";
  empty = never) before a client gets it (`launch_recheck`); one idle less than that is handed out as is.
"""

from __future__ import annotations

from collections.abc import Mapping

from pool_doctor.path.policy import Knob, PoolPolicy
from pool_doctor.stacks import _values

STACK = "pgbouncer"
LIBRARY_VERSION = "PgBouncer 1.18.0"

# Defaults as PgBouncer 1.18.0 reports them (SHOW CONFIG on a config that sets none of them);
# the same values stand in doc/config.md of 1.18 to 1.25.
DEFAULTS: dict[str, object] = {
    "server_idle_timeout": 600,  # close a server idle this long, above min_pool_size; 0 = off
    "server_lifetime": 3600,  # close an unused server connected this long; 0 = use each server once
    "server_check_delay": 30,  # test a server idle longer than this before handing it out
    "server_check_query": "select 1",  # the test; empty = no test
    "min_pool_size": 0,  # servers kept open per pool whatever server_idle_timeout says
    "default_pool_size": 20,
    "pool_mode": "session",
}

# Every [pgbouncer] key SHOW CONFIG lists on 1.18.0, plus later releases' keys a config may hold.
KEYS = frozenset(
    {
        "admin_users",
        "application_name_add_host",
        "auth_file",
        "auth_hba_file",
        "auth_query",
        "auth_type",
        "auth_user",
        "autodb_idle_timeout",
        "client_idle_timeout",
        "client_login_timeout",
        "client_tls_ca_file",
        "client_tls_cert_file",
        "client_tls_ciphers",
        "client_tls_dheparams",
        "client_tls_ecdhcurve",
        "client_tls_key_file",
        "client_tls_protocols",
        "client_tls_sslmode",
        "conffile",
        "default_pool_size",
        "disable_pqexec",
        "dns_max_ttl",
        "dns_nxdomain_ttl",
        "dns_zone_check_period",
        "idle_transaction_timeout",
        "ignore_startup_parameters",
        "job_name",
        "listen_addr",
        "listen_backlog",
        "listen_port",
        "log_connections",
        "log_disconnections",
        "log_pooler_errors",
        "log_stats",
        "logfile",
        "max_client_conn",
        "max_db_connections",
        "max_packet_size",
        "max_user_connections",
        "min_pool_size",
        "pidfile",
        "pkt_buf",
        "pool_mode",
        "query_timeout",
        "query_wait_timeout",
        "reserve_pool_size",
        "reserve_pool_timeout",
        "resolv_conf",
        "sbuf_loopcnt",
        "server_check_delay",
        "server_check_query",
        "server_connect_timeout",
        "server_fast_close",
        "server_idle_timeout",
        "server_lifetime",
        "server_login_retry",
        "server_reset_query",
        "server_reset_query_always",
        "server_round_robin",
        "server_tls_ca_file",
        "server_tls_cert_file",
        "server_tls_ciphers",
        "server_tls_key_file",
        "server_tls_protocols",
        "server_tls_sslmode",
        "so_reuseport",
        "stats_period",
        "stats_users",
        "suspend_timeout",
        "syslog",
        "syslog_facility",
        "syslog_ident",
        "tcp_defer_accept",
        "tcp_keepalive",
        "tcp_keepcnt",
        "tcp_keepidle",
        "tcp_keepintvl",
        "tcp_socket_buffer",
        "tcp_user_timeout",
        "unix_socket_dir",
        "unix_socket_group",
        "unix_socket_mode",
        "user",
        "verbose",
        # later releases (1.19-1.25 doc/config.md)
        "max_prepared_statements",
        "cancel_wait_timeout",
        "query_wait_notify",
        "peer_id",
        "track_extra_parameters",
        "client_tls13_ciphers",
        "server_tls13_ciphers",
        "auth_dbname",
        "max_db_client_connections",
        "max_user_client_connections",
        "transaction_timeout",
    }
)

# "Don't evict connections to achieve min_pool_size" (NEWS.md, 1.18.0): server_idle_timeout spares the floor.
_FLOOR_KEPT_SINCE = (1, 18)


def unknown_keys(values: Mapping[str, object]) -> list[str]:
    """Keys that are not PgBouncer settings."""
    return _values.unknown(values, KEYS)


def policy(
    values: Mapping[str, object],
    *,
    hang: tuple[float, Knob] | None = None,
    keepalive: tuple[float, Knob] | None = None,
    version: str | None = None,
) -> PoolPolicy:
    """PgBouncer's server pool under these settings (as the config or SHOW CONFIG gives them).

    `version` is the PgBouncer in front of the server ("1.17.0", "PgBouncer 1.18.0"; default LIBRARY_VERSION):
    before 1.18.0 server_idle_timeout closed min_pool_size connections too (NEWS.md 1.18.0).
    """
    merged = _values.merged(DEFAULTS, values)
    idle = _values.seconds(merged, "server_idle_timeout")
    lifetime = _values.seconds(merged, "server_lifetime")
    check_query = str(merged.get("server_check_query") or "").strip()
    floor_kept = _values.version_tuple(version or LIBRARY_VERSION) >= _FLOOR_KEPT_SINCE
    return PoolPolicy(
        stack=STACK,
        label="PgBouncer's server pool",
        reuses=lifetime != 0,  # server_lifetime = 0: each server connection serves once
        max_age=lifetime if lifetime else None,
        max_age_knob=Knob("server_lifetime", merged["server_lifetime"]) if lifetime else None,
        max_idle=idle if idle else None,
        max_idle_knob=Knob("server_idle_timeout", merged["server_idle_timeout"]) if idle else None,
        spares=(_values.count(merged, "min_pool_size") or 0) if floor_kept else 0,
        notices_close=True,  # idle server sockets are read: the server's close is an event
        # Only servers idle longer than server_check_delay are tested (see check_delay()).
        ping=bool(check_query),
        ping_knob=Knob("server_check_delay", merged["server_check_delay"]) if check_query else None,
        hang_bound=hang[0] if hang else None,
        hang_knob=hang[1] if hang else None,
        keepalive_idle=keepalive[0] if keepalive else None,
        keepalive_knob=keepalive[1] if keepalive else None,
        levers=(
            ("max_age", "server_lifetime"),
            ("max_idle", "server_idle_timeout"),
            ("spares", "min_pool_size"),
            ("ping", "server_check_delay"),
            ("hang", _values.lever_key(hang, "tcp_user_timeout")),
            ("keepalive", _values.lever_key(keepalive, "tcp_keepidle")),
        ),
    )


def check_delay(values: Mapping[str, object]) -> float | None:
    """Seconds a server must sit idle before PgBouncer tests it; None when server_check_query is empty.

    PoolPolicy.ping means "every checkout"; against a limit shorter than this, PgBouncer hands out a
    server it has not tested, so a caller judging a reset or drop below it must not count the ping.
    """
    merged = _values.merged(DEFAULTS, values)
    if not str(merged.get("server_check_query") or "").strip():
        return None
    return _values.seconds(merged, "server_check_delay") or 0.0


def server_pool(config: Mapping[str, object], product: str | None) -> PoolPolicy:
    """PgBouncer's own pool of server connections, from SHOW CONFIG when it was read (else its defaults);
    `product` is what its console said ("PgBouncer 1.18.0"), when it did."""
    version = (product or "").removeprefix("PgBouncer ").strip() or None
    values = {key: value for key, value in config.items() if key in DEFAULTS}
    return policy(values, version=version)
