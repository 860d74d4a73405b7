"""Is a pooler (PgBouncer, Supavisor, RDS Proxy...) between the app and PostgreSQL, in which mode, with which limits?

Without admin rights, the client sees three clues (FIELD_NOTES section 4): the backend PID the driver got
at startup is the pooler's random cancel key, not `pg_backend_pid()`; `inet_server_port()` is the server's
port, not the one dialled; and under transaction pooling one client connection lands on another backend
when its backend is busy with someone else's transaction. With access to PgBouncer's console (the special
database `pgbouncer`, simple query protocol only), SHOW CONFIG and SHOW POOLS give the rest.

Costs nothing when there is no pooler: the clues from the one facts query decide that.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from typing import Any

from pool_doctor.connection.spec import ConnectionSpec
from pool_doctor.durations import parse_duration
from pool_doctor.model import ServerFacts
from pool_doctor.platforms import Recognised
from pool_doctor.redact import printable_data

NONE = "none"
SESSION = "session"
TRANSACTION = "transaction"  # transaction or statement pooling: what breaks session state
UNKNOWN = "unknown"

# SHOW CONFIG keys the rules read; the rest of PgBouncer's ~80 settings stay out of the report.
CONFIG_KEYS = (
    "pool_mode",
    "server_idle_timeout",
    "server_lifetime",
    "client_idle_timeout",
    "max_client_conn",
    "default_pool_size",
    "max_db_connections",
    "max_user_connections",
    "max_prepared_statements",
    "query_wait_timeout",
    "server_reset_query",
    "server_reset_query_always",
    "tcp_keepalive",
    "tcp_keepidle",
)
ADMIN_DATABASE = "pgbouncer"  # PgBouncer's console: a special database of that name (SHOW CONFIG, SHOW POOLS)
# Ports a pooler usually listens on: a URL that dials one goes through a pooler of unknown mode.
USUAL_PORTS = {6432: "PgBouncer's usual port", 6543: "Supabase's transaction pooler"}
SECONDS_KEYS = {"server_idle_timeout", "server_lifetime", "client_idle_timeout", "query_wait_timeout", "tcp_keepidle"}


@dataclass(frozen=True)
class PoolerFacts:
    kind: str  # NONE, SESSION, TRANSACTION or UNKNOWN
    evidence: list[str] = field(default_factory=list)
    product: str | None = None  # "PgBouncer 1.18.0" when its console answered
    pool_mode: str | None = None  # PgBouncer's own word: session, transaction or statement
    config: dict[str, str] = field(default_factory=dict)
    pools: list[dict[str, Any]] = field(default_factory=list)
    admin: str | None = None  # the console URL tried (masked)
    admin_error: str | None = None  # why its settings could not be read
    # From the platform catalogue when the platform documents its pooler: "documented by Supabase (...)".
    documented_by: str | None = None
    prepared_statements: bool | None = None  # named prepared statements survive, as documented; None: unknown
    configured: tuple[str, ...] = ()  # keys of `config` the user gave in [pooler] (the console's answer wins)

    @property
    def console_read(self) -> bool:
        return self.admin is not None and self.admin_error is None

    def source(self, key: str) -> str:
        """Where `key`'s value came from: the console, the user's [pooler] table or the vendor's documentation."""
        if key in self.configured:
            return f"[pooler] {key}"
        return "SHOW CONFIG" if self.console_read or not self.documented_by else self.documented_by

    @property
    def client_limit_unknown(self) -> bool:
        """A pooler is there, and nothing says how long it keeps an idle client connection."""
        return self.present and "client_idle_timeout" not in self.config

    @property
    def is_pgbouncer(self) -> bool:
        """PgBouncer (or a pooler whose console was not read, assumed to be one)."""
        return self.product is None or self.product.startswith("PgBouncer")

    @property
    def present(self) -> bool:
        return self.kind != NONE

    @property
    def breaks_session_state(self) -> bool:
        return self.kind == TRANSACTION

    @property
    def mode_unknown(self) -> bool:
        """A pooler is there, but whether it pools sessions or transactions is not known."""
        return self.kind == UNKNOWN

    def seconds(self, key: str) -> float | None:
        """A time setting from SHOW CONFIG in seconds (PgBouncer 1.18 shows plain seconds)."""
        value = self.config.get(key)
        if value is None:
            return None
        try:
            return parse_duration(value, "s")
        except ValueError:
            return None

    def number(self, key: str) -> int | None:
        value = self.config.get(key)
        try:
            return int(value) if value is not None else None
        except ValueError:
            return None

    @property
    def waiting_clients(self) -> int:
        return sum(int(pool.get("cl_waiting") or 0) for pool in self.pools)

    @property
    def label(self) -> str:
        name = self.product or "a pooler"
        return {
            NONE: "no pooler",
            SESSION: f"{name} (session pooling)",
            TRANSACTION: f"{name} ({self.pool_mode or 'transaction or statement'} pooling)",
        }.get(self.kind, f"{name} (pooling mode unknown)")


def at_usual_port(port: int | None) -> PoolerFacts | None:
    """A pooler guessed from the port a URL dials (6432, 6543), its mode unknown; None at any other port."""
    what = USUAL_PORTS.get(port) if port is not None else None
    return PoolerFacts(UNKNOWN, [f"port {port}: {what}"]) if what else None


def with_documented(live: PoolerFacts | None, platform: Recognised | None) -> PoolerFacts | None:
    """The pooler the platform documents, where the live detection could not tell (or could not see one).

    A stand-in, a port forward or an unlucky moment can hide the mode from the client's clues; the vendor's
    documentation still says what runs on that host and port. What the pooler's own console says wins.
    """
    documented = platform.entry.pooler if platform is not None else None
    if documented is None or documented.mode is None:
        return live
    entry = platform.entry if platform is not None else None
    assert entry is not None
    source = f"documented by {entry.vendor}"
    line = f"{source}: {documented.software} in {documented.mode} mode on {entry.name}"
    if documented.prepared_statements is not None:
        line += (
            "; named prepared statements are supported"
            if documented.prepared_statements
            else "; named prepared statements are not supported"
        )
    # PgBouncer's settings as the vendor names them ("pgbouncer.max_prepared_statements" on Azure).
    settings = {key.removeprefix("pgbouncer."): value for key, value in documented.settings}
    settings = {key: value for key, value in settings.items() if key in CONFIG_KEYS}
    if settings:
        line += " (" + ", ".join(f"{key} = {value}" for key, value in settings.items()) + ")"
    kind = SESSION if documented.mode == "session" else TRANSACTION
    if live is None or live.kind in (NONE, UNKNOWN):
        seen = list(live.evidence) if live is not None else []
        return PoolerFacts(
            kind,
            [*seen, line],
            product=documented.software,
            pool_mode=documented.mode,
            config=settings,
            documented_by=source,
            prepared_statements=documented.prepared_statements,
        )
    config = {**settings, **live.config}  # SHOW CONFIG, when read, over the documented values
    evidence = [*live.evidence, line]
    if live.kind != kind and live.pool_mode is None:
        evidence.append(
            f"the live test says {live.kind} pooling, not the documented {documented.mode}: "
            "trusting what the connection showed"
        )
    return replace(
        live,
        evidence=evidence,
        product=live.product or documented.software,
        config=config,
        documented_by=source,
        prepared_statements=documented.prepared_statements,
    )


def with_configured(found: PoolerFacts | None, given: dict[str, str]) -> PoolerFacts | None:
    """The user's [pooler] table over what was detected and documented; what the console said wins over it."""
    if not given:
        return found
    mode = given.get("pool_mode")
    kind = (SESSION if mode == "session" else TRANSACTION) if mode else UNKNOWN
    line = "[pooler] " + ", ".join(f"{key} = {value}" for key, value in given.items())
    if found is None or not found.present:
        seen = list(found.evidence) if found is not None else []
        return PoolerFacts(kind, [*seen, line], pool_mode=mode, config=dict(given), configured=tuple(given))
    read = found.config if found.console_read else {}
    configured = tuple(key for key in given if key not in read)
    return replace(
        found,
        kind=kind if mode and not (found.console_read and found.pool_mode) else found.kind,
        pool_mode=found.pool_mode if found.console_read and found.pool_mode else mode or found.pool_mode,
        evidence=[*found.evidence, line],
        config={**found.config, **{key: given[key] for key in configured}},
        configured=configured,
    )


def startup_answered_elsewhere(facts: ServerFacts) -> bool:
    """The decisive clue: a pooler answers the startup itself, so the driver got the pooler's cancel key,
    not the backend's PID. (A port forward passes the session through and keeps the PID.)"""
    return facts.startup_pid is not None and facts.backend_pid is not None and facts.startup_pid != facts.backend_pid


def clues(facts: ServerFacts, target: ConnectionSpec) -> list[str]:
    """What the facts query alone says about the path, as evidence lines."""
    found: list[str] = []
    if startup_answered_elsewhere(facts):
        found.append(
            f"the backend key the driver got at startup ({facts.startup_pid}) is not pg_backend_pid() "
            f"({facts.backend_pid}): something else (a pooler's cancel key) answered the startup"
        )
    if facts.server_port is not None and facts.transport == "tcp" and facts.server_port != target.port:
        found.append(f"inet_server_port() is {facts.server_port}, but the app dials port {target.port}")
    return found


async def detect(conn: Any, target: ConnectionSpec, facts: ServerFacts, timeout: float) -> PoolerFacts:
    """Pooler or not, and in which mode, from a client's point of view; `conn` is the facts connection."""
    evidence = clues(facts, target)
    if not startup_answered_elsewhere(facts):
        # A port that differs alone is a plain forwarder (Docker's -p, a Kubernetes service, a load balancer).
        return PoolerFacts(
            NONE, evidence or ["the startup PID is the backend PID and the server port is the dialled port"]
        )
    kind, more = await _pooling_mode(conn, target, facts.backend_pid, timeout)
    return PoolerFacts(kind, evidence + more)


async def _pooling_mode(
    conn: Any, target: ConnectionSpec, first_pid: int | None, timeout: float
) -> tuple[str, list[str]]:
    """A second client holds a transaction open while the first runs another one.

    Session pooling keeps the first client on its backend; transaction pooling handed that backend (idle
    since the facts query ended) to the second client, so the first lands elsewhere or waits.
    """
    from pool_doctor.connection.drivers import describe_error
    from pool_doctor.inspect.server import connect

    step = min(timeout, 3.0)
    try:
        other = await connect(target, timeout)
    except Exception as exc:
        return UNKNOWN, [f"a second connection to tell the pooling mode failed: {describe_error(exc)}"]
    try:
        try:
            await other.fetchval("BEGIN", timeout=step)
            other_pid = await other.fetchval("SELECT pg_backend_pid()", timeout=step)
        except Exception as exc:
            if "statement pooling" in str(exc):
                return TRANSACTION, [f"a transaction block was refused: {describe_error(exc)} (statement pooling)"]
            return UNKNOWN, [f"a second client's transaction failed: {describe_error(exc)}"]
        try:
            again = await conn.fetchval("SELECT pg_backend_pid()", timeout=step)
        except TimeoutError:
            return TRANSACTION, [
                f"while another client held a transaction, this client's next transaction waited over {step:g}s: "
                "the pooler had given its backend away (transaction pooling, pool full)"
            ]
        finally:
            await _quietly(other.fetchval("ROLLBACK", timeout=step))
    finally:
        await _quietly(other.close())
    if again != first_pid:
        return TRANSACTION, [
            f"one client connection ran on backend {first_pid}, then on {again} in its next transaction "
            f"(another client held {other_pid}): backends are shared per transaction"
        ]
    return SESSION, [
        f"one client connection stayed on backend {first_pid} across transactions while another client held a "
        f"transaction on {other_pid}: backends are held per client session (probably session pooling)"
    ]


async def _quietly(awaitable: Any) -> None:
    try:
        await asyncio.wait_for(awaitable, 2)
    except Exception:
        pass


def admin_target(target: ConnectionSpec, admin_url: str | None) -> ConnectionSpec:
    """The console: --pgbouncer-admin-url, else the app's own host, port and credentials on database pgbouncer."""
    from pool_doctor.connection.spec import parse_connection

    if admin_url:
        return parse_connection(admin_url, "--pgbouncer-admin-url")
    return target.with_params(dbname=ADMIN_DATABASE)


async def read_admin(pooler: PoolerFacts, target: ConnectionSpec, timeout: float) -> PoolerFacts:
    """SHOW VERSION, SHOW CONFIG, SHOW POOLS on PgBouncer's console; an error is recorded, not raised."""
    shown = target.display()
    try:
        rows = await asyncio.wait_for(_console(target, timeout), timeout + 1)
    except TimeoutError:
        return replace(pooler, admin=shown, admin_error=f"the console at {shown} did not answer within {timeout:g}s")
    except Exception as exc:
        from pool_doctor.connection.drivers import describe_error

        return replace(
            pooler, admin=shown, admin_error=f"cannot read PgBouncer's console at {shown}: {describe_error(exc)}"
        )
    version, config_rows, pools = printable_data(rows)  # the console's text, shown on terminals
    config = {row["key"]: str(row["value"]) for row in config_rows if row.get("key") in CONFIG_KEYS}
    mode = config.get("pool_mode")
    pools = [p for p in pools if p.get("database") != ADMIN_DATABASE]
    kind = pooler.kind
    evidence = list(pooler.evidence)
    if mode:
        kind = SESSION if mode == "session" else TRANSACTION
        evidence.append(f"PgBouncer's SHOW CONFIG says pool_mode = {mode}")
    return replace(
        pooler, kind=kind, evidence=evidence, product=version, pool_mode=mode, config=config, pools=pools, admin=shown
    )


# The client's and the server's side of each pooled connection (observe): what each row says, kept short.
CLIENT_KEYS = ("user", "database", "state", "addr", "port", "application_name", "connect_time", "request_time")
SERVER_KEYS = ("user", "database", "state", "addr", "port", "connect_time", "request_time", "application_name")


async def read_clients_servers(target: ConnectionSpec, timeout: float) -> dict[str, Any]:
    """SHOW CLIENTS and SHOW SERVERS on PgBouncer's console (observe's pooler side); an error is recorded."""
    shown = target.display()
    try:
        clients, servers = await asyncio.wait_for(
            _console_rows(target, timeout, ("SHOW CLIENTS", "SHOW SERVERS")), timeout + 1
        )
    except TimeoutError:
        return {"console": shown, "error": f"the console at {shown} did not answer within {timeout:g}s"}
    except Exception as exc:
        from pool_doctor.connection.drivers import describe_error

        return {"console": shown, "error": f"cannot read PgBouncer's console at {shown}: {describe_error(exc)}"}

    def short(rows: list[dict[str, Any]], keys: tuple[str, ...]) -> list[dict[str, Any]]:
        return [{key: str(row[key]) for key in keys if row.get(key) is not None} for row in rows]

    sides = {"clients": short(clients, CLIENT_KEYS), "servers": short(servers, SERVER_KEYS)}
    return {"console": shown, "error": None, **printable_data(sides)}


async def _console(
    target: ConnectionSpec, timeout: float
) -> tuple[str | None, list[dict[str, Any]], list[dict[str, Any]]]:
    version_rows, config, pools = await _console_rows(target, timeout, ("SHOW VERSION", "SHOW CONFIG", "SHOW POOLS"))
    version = next(iter(version_rows[0].values())) if version_rows else None
    return version, config, pools


async def _console_rows(
    target: ConnectionSpec, timeout: float, commands: tuple[str, ...]
) -> list[list[dict[str, Any]]]:
    import psycopg
    from psycopg.rows import dict_row

    from pool_doctor.connection import address

    password = target.password.get_secret_value() if target.password is not None else None
    host, port = address.resolve_address(target.host, target.port)
    conn = await psycopg.AsyncConnection.connect(
        host=host,
        port=port,
        user=target.user,
        password=password,
        dbname=target.database,
        connect_timeout=max(1, round(timeout)),
        autocommit=True,
        # The console speaks only the simple query protocol, which a client-side-binding cursor uses.
        cursor_factory=psycopg.AsyncClientCursor,
        application_name="pool-doctor",
    )
    try:
        results = []
        for command in commands:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(command, prepare=False)
            results.append(await cur.fetchall() if cur.description is not None else [])
        return results
    finally:
        await conn.close()
