"""Every finding code pool-doctor reports, in one table: its code, its scope, what it finds and what to do.

Each code has exactly one implementation, registered for it in pool_doctor/rules/__init__.py (the test
suite holds the two together). The scope says what a rule reads and so who runs it:

- pool:   one pool's settings against the limits on its path. `scan` runs these with the limits it can
          know without a server (a configured middlebox, a platform the URL names), `check` with the
          server's and the pooler's too, for `--config` and for every pool `--app` finds.
- code:   how the app's code creates the pool (`scan`, `check --app`).
- server: the server's own settings and sessions, the same for every pool (`check`).
- app:    every pool of the app together: the connection budget, the pooler's limits (`check`).

A family of codes (the limits on the path: `idle-session-timeout`, `network-idle-timeout-replaced`, ...)
is one entry whose `code` is a pattern.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class Scope(str, Enum):
    POOL = "pool"
    CODE = "code"
    SERVER = "server"
    APP = "app"


@dataclass(frozen=True)
class Code:
    code: str  # the finding's code; for a family, a pattern (see `matches`)
    name: str  # PascalCase, for SARIF's rule name
    scope: Scope
    summary: str  # what the rule finds, in one line
    help: str  # what it means and what to do
    pattern: str | None = None  # a family's codes, as a regular expression

    def matches(self, code: str) -> bool:
        return code == self.code if self.pattern is None else re.fullmatch(self.pattern, code) is not None


# The limits on the path, judged per pool (rules/path.py): the code names the limit and the outcome.
LIMIT = Code(
    "<limit>[-bounded|-tight|-replaced]",
    "PathLimit",
    Scope.POOL,
    "A limit on the path ends idle pooled connections before the pool retires them",
    "Named after the limit (idle-session-timeout, network-idle-timeout, platform-idle-client-timeout, "
    "pooler-client-idle-timeout; pooler-server-... when it meets the pooler's own server connections). Alone "
    "the code means the next request fails (critical); -bounded: one request per connection times out; "
    "-tight: the pool retires connections with less than the judge's margin to spare; -replaced: a check at "
    "checkout replaces them at the cost of a reconnect. Retire connections below the limit (see recommend).",
    pattern=r"(pooler-server-)?(network-|pooler-|platform-)?[a-z0-9]+(-[a-z0-9]+)*",
)

NO_LIVENESS_CHECK = Code(
    "no-liveness-check",
    "NoLivenessCheck",
    Scope.POOL,
    "Nothing checks pooled connections at checkout",
    "A connection that idled in the pool is handed out untested. If anything on the path (idle_session_timeout, "
    "a NAT gateway, a load balancer, a pooler, a restart or failover) closes idle connections, the next query on "
    "it fails. Test connections at checkout (SQLAlchemy pool_pre_ping, psycopg_pool check=, Django "
    "CONN_HEALTH_CHECKS), and retire them below the shortest idle limit on the path.",
)
NO_HANG_BOUND = Code(
    "no-hang-bound",
    "NoHangBound",
    Scope.POOL,
    "Nothing bounds a query on a silently dropped connection",
    "When a middlebox drops packets instead of resetting (a blackhole), a query waits until TCP gives up, about "
    "15 minutes on Linux. asyncpg: set command_timeout. libpq drivers (psycopg, psycopg2): set tcp_user_timeout "
    "and keepalives.",
)
RECYCLE_CHURN = Code(
    "recycle-churn",
    "RecycleChurn",
    Scope.POOL,
    "The pool's lifetime is so short that it reconnects constantly",
    "Every checkout of a connection older than the lifetime opens a new one (TCP, TLS, authentication), adding "
    "latency and server load. Keep it at 30 s or more unless a limit on the path forces less.",
)
UNBOUNDED_OVERFLOW = Code(
    "unbounded-overflow",
    "UnboundedOverflow",
    Scope.POOL,
    "max_overflow=-1: the pool may open any number of connections",
    "Under load the pool opens connections without bound and can exhaust max_connections or a pooler's client "
    "limit. Give max_overflow a number.",
)
KEEPALIVES_UNKNOWN = Code(
    "keepalives-unknown",
    "KeepalivesUnknown",
    Scope.POOL,
    "Server TCP keepalives cannot be read over a unix socket",
    "tcp_keepalives_idle reads 0 on a unix-socket session; connect over TCP to judge it against the network's "
    "idle timeout.",
)
KEEPALIVES_TOO_SLOW = Code(
    "keepalives-too-slow",
    "KeepalivesTooSlow",
    Scope.POOL,
    "The first TCP keepalive comes after the middlebox forgets the flow",
    "Keepalives keep a middlebox's flow state alive only if the first one comes before it forgets the flow. Set "
    "tcp_keepalives_idle (server, per role, or in the driver's arguments) below the middlebox's idle timeout.",
)
POOLER_PREPARED_STATEMENTS = Code(
    "pooler-prepared-statements",
    "PoolerPreparedStatements",
    Scope.POOL,
    "Prepared statements through a transaction pooler",
    "Under transaction pooling each transaction may run on another server connection: asyncpg's named "
    "statements collide ('prepared statement \"__asyncpg_stmt_1__\" already exists') or go missing, psycopg's "
    "go missing after prepare_threshold executions. asyncpg: statement_cache_size=0 (with SQLAlchemy also "
    "prepared_statement_cache_size=0 and a unique prepared_statement_name_func); psycopg: prepare_threshold=None; "
    "or session pooling.",
)
POOLER_PREPARED_STATEMENTS_TRACKED = Code(
    "pooler-prepared-statements-tracked",
    "PoolerPreparedStatementsTracked",
    Scope.POOL,
    "The pooler keeps protocol-level prepared statements working",
    "PgBouncer 1.21+ with max_prepared_statements > 0 (or a pooler whose vendor documents the same) re-prepares "
    "named statements on whichever backend runs them; SQL-level PREPARE and session state still do not survive.",
)
PLATFORM_RECOGNISED = Code(
    "platform-recognised",
    "PlatformRecognised",
    Scope.POOL,
    "The database runs on a managed platform with documented limits",
    "The platform's documented limits are judged against the pool; what its vendor does not publish is named.",
)
SERVERLESS_RUNTIME = Code(
    "serverless-runtime",
    "ServerlessRuntime",
    Scope.POOL,
    "The runtime freezes the process between invocations; the pool's idle connections go stale",
    "No pool timer runs while the process is frozen. Use NullPool with a pooler outside the process, or a check "
    "at checkout.",
)
DEMOTED_PRIMARY = Code(
    "demoted-primary",
    "DemotedPrimary",
    Scope.POOL,
    "The target can fail over, and nothing makes the pool drop connections to a demoted primary",
    "After a failover or switchover the old primary may stay reachable read-only: pre-ping's SELECT 1 passes and "
    "every write fails with SQLSTATE 25006. Make the pool treat 25006 as a dead connection (SQLAlchemy: a "
    "handle_error event setting is_disconnect; asyncpg: await pool.expire_connections(); psycopg_pool: a check= that "
    "asks SHOW transaction_read_only; Django: is_usable), connect with target_session_attrs=read-write, and bound "
    "a query to a lost host (tcp_user_timeout, command_timeout).",
)
KUBERNETES_CONNTRACK = Code(
    "kubernetes-conntrack",
    "KubernetesConntrack",
    Scope.POOL,
    "The app runs in Kubernetes: Service traffic crosses conntrack",
    "Name the egress NAT with [network] middlebox (aws-nat, gcp-nat, azure-nat) to judge the pool against it.",
)

WORKER_CONN_MAX_AGE = Code(
    "worker-conn-max-age",
    "WorkerConnMaxAge",
    Scope.CODE,
    "Persistent Django connections in a project with Celery workers",
    "Django retires a connection past CONN_MAX_AGE only in close_old_connections, which it connects to its "
    "request signals. In a Celery worker that is Celery's Django fixup (task_prerun/task_postrun), installed "
    "only when DJANGO_SETTINGS_MODULE is set before the Celery app is created; other worker loops never call "
    "it. Connect django.db.close_old_connections to task_prerun and task_postrun yourself where the fixup is "
    "not in play, and turn CONN_HEALTH_CHECKS on so a connection a server limit ended between tasks is replaced.",
)
ENGINE_AT_IMPORT = Code(
    "engine-at-import",
    "EngineAtImport",
    Scope.CODE,
    "Pool created when the module is imported",
    "A forking server that imports the app before forking (gunicorn --preload, Celery prefork, uWSGI without "
    "lazy-apps) shares the parent's connections with every child: 'decryption failed or bad record mac', crossed "
    "results. Create the pool after the fork, or dispose it in the child (SQLAlchemy: engine.dispose(close=False)).",
)

IDLE_IN_TRANSACTION_TIMEOUT = Code(
    "idle-in-transaction-timeout",
    "IdleInTransactionTimeout",
    Scope.SERVER,
    "idle_in_transaction_session_timeout kills a connection held idle inside a transaction",
    "A request that leaves its transaction open and idle longer than the limit loses its connection (FATAL "
    "25P03), and the next statement fails. Keep transactions short, or hold none across slow work.",
)
TRANSACTION_TIMEOUT = Code(
    "transaction-timeout",
    "TransactionTimeout",
    Scope.SERVER,
    "transaction_timeout kills a connection whose transaction stays open too long",
    "A transaction open longer than the limit ends its session (FATAL 25P04, PostgreSQL 17+).",
)
STATEMENT_TIMEOUT = Code(
    "statement-timeout",
    "StatementTimeout",
    Scope.SERVER,
    "statement_timeout cancels long statements; the connection survives",
    "The statement fails with ERROR 57014 and the pooled connection stays usable.",
)
LOCK_TIMEOUT = Code(
    "lock-timeout",
    "LockTimeout",
    Scope.SERVER,
    "lock_timeout cancels long lock waits; the connection survives",
    "The statement fails with ERROR 55P03 and the pooled connection stays usable.",
)
SESSIONS_IDLE_IN_TRANSACTION = Code(
    "sessions-idle-in-transaction",
    "SessionsIdleInTransaction",
    Scope.SERVER,
    "Sessions of the app's role are idle in a transaction now",
    "They hold locks and snapshots while doing nothing; an app that leaves transactions open between requests "
    "loses them to idle_in_transaction_session_timeout or blocks vacuum.",
)
OBSERVED_IDLE = Code(
    "observed-idle",
    "ObservedIdle",
    Scope.SERVER,
    "How long the app role's connections sit idle right now",
    "The idle time a limit on the path has to tolerate, or the pool has to recycle before.",
)

BUDGET = Code(
    "budget-<cap>[-tight]",
    "ConnectionBudget",
    Scope.APP,
    "The app's pools at their maximum need more connections than a limit allows",
    "Every replica's and worker's pools at their maximum, against the server's usable slots "
    "(budget-slots), the role's or database's CONNECTION LIMIT (budget-role-connlimit, "
    "budget-database-connlimit) or a pooler's max_client_conn (pooler-max-client-conn); -tight: above 80 %. "
    "Shrink the pools, or put a pooler in transaction mode in front.",
    pattern=r"(budget-(slots|role-connlimit|database-connlimit)|pooler-max-client-conn)(-tight)?",
)
BUDGET_NO_FIT = Code(
    "budget-no-fit",
    "BudgetNoFit",
    Scope.APP,
    "The pools cannot each hold even one connection within a limit",
    "Put a pooler in front (PgBouncer in transaction mode multiplexes many client connections onto few server "
    "connections), or run fewer replicas or workers per database.",
)
POOLER_DETECTED = Code(
    "pooler-detected",
    "PoolerDetected",
    Scope.APP,
    "Connections go through a pooler",
    "Server settings apply to the pooler's own server connections; the pooler's limits apply to the app's.",
)
POOLER_SETTINGS_UNKNOWN = Code(
    "pooler-settings-unknown",
    "PoolerSettingsUnknown",
    Scope.APP,
    "The pooler's own limits could not be read",
    "Give a user listed in PgBouncer's admin_users or stats_users with --pgbouncer-admin-url to judge "
    "client_idle_timeout, max_client_conn and pool sizes.",
)
POOLER_SERVER_SLOTS = Code(
    "pooler-server-slots",
    "PoolerServerSlots",
    Scope.APP,
    "The pooler may open more server connections than the server has free",
    "When every pool fills, the pooler's server logins fail and clients wait (query_wait_timeout).",
)
POOLER_CLIENTS_WAITING = Code(
    "pooler-clients-waiting",
    "PoolerClientsWaiting",
    Scope.APP,
    "Clients are waiting for a server connection right now",
    "The pooler's pools are full: checkouts in the app wait, then fail after query_wait_timeout.",
)
POOLER_SERVER_LIMITS = Code(
    "pooler-server-limits",
    "PoolerServerLimits",
    Scope.APP,
    "The pooler recycles its own server connections",
    "server_idle_timeout and server_lifetime close the pooler's server connections, not the app's.",
)
POOLER_HELD_LIMITS = Code(
    "pooler-held-limits",
    "PoolerHeldLimits",
    Scope.APP,
    "The pooler closes a connection held too long in a transaction or a query",
    "PgBouncer's idle_transaction_timeout, query_timeout and transaction_timeout close the app's client "
    "connection; its next statement fails. Keep transactions short and hold none across slow work.",
)

# Patterns in the app's own source that hold a connection too long or never return it: found by the scan's
# syntax walk (scan/held.py), not by a rule on facts, and cited at their own file:line.
SESSION_DEPENDENCY_WITHOUT_FINALLY = Code(
    "session-dependency-without-finally",
    "SessionDependencyWithoutFinally",
    Scope.CODE,
    "A generator dependency yields a session with no try/finally or context manager around the yield",
    "When the route raises, the code after `yield` never runs: the session is not closed and its connection "
    "is not returned; enough errors exhaust the pool (QueuePool limit ... reached). Use `with Session(engine) "
    "as session: yield session`, or close it in a `finally:`.",
)
STREAMING_RESPONSE_HOLDS_SESSION = Code(
    "streaming-response-holds-session",
    "StreamingResponseHoldsSession",
    Scope.CODE,
    "A route returns a streaming response while it depends on a database session",
    "A FastAPI dependency with `yield` is closed only when the response is done: the session holds its "
    "connection (and any transaction) for the whole stream. Read what the stream needs first and close the "
    "session, or open a short session inside the generator.",
)
TRANSACTION_SPANS_EXTERNAL_CALL = Code(
    "transaction-spans-external-call",
    "TransactionSpansExternalCall",
    Scope.CODE,
    "A transaction stays open across a call to an HTTP or LLM client",
    "The connection sits idle in a transaction while the external call runs: idle_in_transaction_session_timeout "
    "or transaction_timeout may end it, and it holds locks and a pool slot meanwhile. Make the call before "
    "the transaction, or commit first.",
)
CONNECTION_NEVER_RELEASED = Code(
    "connection-never-released",
    "ConnectionNeverReleased",
    Scope.CODE,
    "A pooled connection is taken outside a context manager and never released in the function",
    "`engine.connect()` or `pool.acquire()` without `with` / `async with`, and no close() or release() in the "
    "function: the connection goes back only when the garbage collector finds it, or never.",
)

TABLE: tuple[Code, ...] = (
    NO_LIVENESS_CHECK,
    NO_HANG_BOUND,
    RECYCLE_CHURN,
    UNBOUNDED_OVERFLOW,
    KEEPALIVES_UNKNOWN,
    KEEPALIVES_TOO_SLOW,
    POOLER_PREPARED_STATEMENTS,
    POOLER_PREPARED_STATEMENTS_TRACKED,
    PLATFORM_RECOGNISED,
    SERVERLESS_RUNTIME,
    KUBERNETES_CONNTRACK,
    DEMOTED_PRIMARY,
    ENGINE_AT_IMPORT,
    WORKER_CONN_MAX_AGE,
    IDLE_IN_TRANSACTION_TIMEOUT,
    TRANSACTION_TIMEOUT,
    STATEMENT_TIMEOUT,
    LOCK_TIMEOUT,
    SESSIONS_IDLE_IN_TRANSACTION,
    OBSERVED_IDLE,
    BUDGET,
    BUDGET_NO_FIT,
    POOLER_DETECTED,
    POOLER_SETTINGS_UNKNOWN,
    POOLER_SERVER_SLOTS,
    POOLER_CLIENTS_WAITING,
    POOLER_SERVER_LIMITS,
    POOLER_HELD_LIMITS,
    SESSION_DEPENDENCY_WITHOUT_FINALLY,
    STREAMING_RESPONSE_HOLDS_SESSION,
    TRANSACTION_SPANS_EXTERNAL_CALL,
    CONNECTION_NEVER_RELEASED,
    LIMIT,  # last: its pattern would match most codes
)


def lookup(code: str) -> Code:
    """The table's entry for a finding's code (a family's entry for one of its codes)."""
    exact = next((entry for entry in TABLE if entry.pattern is None and entry.code == code), None)
    if exact is not None:
        return exact
    found = next((entry for entry in TABLE if entry.matches(code)), None)
    if found is None:
        raise KeyError(code)
    return found
