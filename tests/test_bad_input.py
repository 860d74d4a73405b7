"""Bad input, table-driven, through the command (in process, through main(argv)).

Every case must end the way a new user deserves: one line on stderr starting `pool-doctor: error:`
(warnings aside), the documented exit code, no traceback, no hang, and nothing on stdout. Each case
runs with JSON output on (`check --json`, `recommend --format json`); the documented choice is that an
error leaves stdout *empty* (not an error document), so `cmd --json | jq` fails loudly instead of
parsing half a report.

Exit codes chosen (errors.ExitCode):
- 2 USAGE: anything the user can fix by changing the command line, the environment or the config file:
  URL syntax, scheme, driver, port number, sslmode, numbers out of range, config file problems,
  conflicting flags, and an unknown `--role`. The role case is 2, not 3: the connection worked, the
  name given is wrong, and retrying cannot help (3 is what a script may retry: reach, auth, time).
- 3 CONNECT: the network path or the server said no: closed port, silent port (timed out), something
  that is not PostgreSQL on the port, wrong password, unknown login user, unknown database, TLS
  required but not offered.
"""

from __future__ import annotations

import http.server
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import quote

import pytest
from cli_runner import run_in_process
from harness import LocalPostgres

APP_PASSWORD = "Zq9-bad-input:@/?#%&+ x"  # URL-special characters on purpose
TIMEOUT = 2.0  # --timeout for every case
MARGIN = 3.0  # teardown on a 2-core machine (was also process start-up)
HARD_LIMIT = 30.0  # a run past this fails the case (pytest-timeout ends a real hang)


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """The caller's environment minus anything that could pick a target or settings for us."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not (k.startswith(("PG", "POOL_DOCTOR_")) or k in ("DATABASE_URL", "COLUMNS", "LINES"))
    }
    env.update(HOME=str(home), NO_COLOR="1", COLUMNS="120")
    env.update(extra)
    return env


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def talk(self) -> list[str]:
        """stderr lines that are not warnings or progress (probe's "pool-doctor: probe [n/m] step" lines)."""
        return [
            line
            for line in self.stderr.splitlines()
            if line.strip() and not line.startswith(("pool-doctor: warning:", "pool-doctor: probe ["))
        ]

    @property
    def warnings(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("pool-doctor: warning:")]


def run_cli(args: list[str], *, cwd: Path, env: dict[str, str], stdin: str | None = None) -> Result:
    started = time.monotonic()
    proc = run_in_process(args, cwd=cwd, env=env, input=stdin, timeout=HARD_LIMIT)
    return Result(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started)


# ------------------------------------------------------------------------------------------------
# Endpoints the cases point at


class _SilentListener:
    """Accepts TCP connections (the kernel does, via the backlog) and never says a word."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]

    def close(self) -> None:
        self.sock.close()


class _QuietHttpHandler(http.server.BaseHTTPRequestHandler):
    timeout = 20  # a PostgreSQL startup packet has no newline: the handler waits for one, then gives up

    def log_message(self, format: str, *args: object) -> None:
        pass


class _HttpServer:
    """A real HTTP server (http.server) in a thread."""

    def __init__(self) -> None:
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _QuietHttpHandler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _ChattyHttp:
    """An HTTP server that answers anything at once with `400 Bad Request` and hangs up (nginx-like)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self._stop = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            try:
                conn.settimeout(5)
                conn.recv(1024)
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            except OSError:
                pass
            finally:
                conn.close()

    def close(self) -> None:
        self._stop = True
        self.sock.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nobody listens once the socket is closed


@pytest.fixture(scope="module")
def endpoints(pg_bindirs: list[Path]) -> Iterator[dict[str, str]]:
    """One real server (the first available major; the PG15/18 matrix is covered by the other files)."""
    silent, http_server, chatty = _SilentListener(), _HttpServer(), _ChattyHttp()
    with LocalPostgres(pg_bindirs[0]) as server:
        server.create_role("bi_app", APP_PASSWORD)
        server.create_database("bi_appdb", owner="bi_app")
        pw = quote(APP_PASSWORD, safe="")
        yield {
            "pg": f"postgresql://bi_app:{pw}@127.0.0.1:{server.port}/bi_appdb",
            "pg_nopw": f"postgresql://bi_app@127.0.0.1:{server.port}/bi_appdb",
            "pg_wrongpw": f"postgresql://bi_app:wrong-{pw}@127.0.0.1:{server.port}/bi_appdb",
            "pg_nodb": f"postgresql://bi_app:{pw}@127.0.0.1:{server.port}/no_such_db",
            "pg_nouser": f"postgresql://no_such_user:{pw}@127.0.0.1:{server.port}/bi_appdb",
            "pg_tls": f"postgresql://bi_app:{pw}@127.0.0.1:{server.port}/bi_appdb?sslmode=require",
            "closed": f"postgresql://bi_app:{pw}@127.0.0.1:{_closed_port()}/bi_appdb",
            "silent": f"postgresql://bi_app:{pw}@127.0.0.1:{silent.port}/bi_appdb",
            "http": f"postgresql://bi_app:{pw}@127.0.0.1:{http_server.port}/bi_appdb",
            "chatty": f"postgresql://bi_app:{pw}@127.0.0.1:{chatty.port}/bi_appdb?sslmode=disable",
            "pg_asyncpg": f"postgresql+asyncpg://bi_app:{pw}@127.0.0.1:{server.port}/bi_appdb",
            "pg_psycopg": f"postgresql+psycopg://bi_app:{pw}@127.0.0.1:{server.port}/bi_appdb",
        }
    silent.close()
    http_server.close()
    chatty.close()


# ------------------------------------------------------------------------------------------------
# The table


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]  # "{name}" is replaced by endpoints[name]; "{dir}" by the case's temp dir
    code: int
    message: str = ""  # a substring the error line must hold (case-insensitive)
    files: dict[str, bytes] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    stdin: str | None = None
    commands: tuple[str, ...] = ("check", "recommend")
    warning: str = ""  # a substring one warning line must hold (success cases)
    fifos: tuple[str, ...] = ()  # named pipes to make in the case's temp dir (nothing ever writes to them)
    absent: str = ""  # a substring the error line must not hold


URL = "--url"
# Parsing cases share one code path (cli.build_inputs); check alone proves those, recommend runs a sample.
CHECK_ONLY = ("check",)
PROBE_ONLY = ("probe",)
# probe shares check's inputs and first step; these cases prove its error path (a full probe takes ~10 s,
# so cases that succeed are not run through it).
PROBE_TOO = {
    "malformed-url",
    "mysql-scheme",
    "closed-port",
    "silent-port",
    "http-server-400",
    "wrong-password",
    "unknown-database",
    "tls-required-not-offered",
    "unknown-role",
    "empty-role",
    "timeout-zero",
    "pool-size-zero",
    "unknown-option",
    "prompt-and-url-password",
    "config-directory",
    "config-invalid-toml",
    "config-binary",
}
CASES = [
    # --- the target: URL syntax and scheme (2) ---
    Case("malformed-url", (URL, "not a url"), 2, "malformed database url"),
    Case("malformed-ipv6", (URL, "postgresql://u:pw@[::1/db"), 2, "malformed database url", commands=CHECK_ONLY),
    Case("mysql-scheme", (URL, "mysql://u:pw@127.0.0.1:3306/db"), 2, "unsupported url scheme 'mysql'"),
    Case("unknown-driver", (URL, "postgresql+mysqldb://u@127.0.0.1/db"), 2, "unknown postgresql driver"),
    Case("port-too-big", (URL, "postgresql://u:pw@127.0.0.1:99999/db"), 2, "port", commands=CHECK_ONLY),
    Case("port-not-a-number", (URL, "postgresql://u:pw@127.0.0.1:abc/db"), 2, "port"),
    Case(
        "asyncpg-sslmode",
        (URL, "postgresql+asyncpg://u:pw@127.0.0.1:1/db?sslmode=require"),
        2,
        "asyncpg takes tls as ?ssl=require, not libpq's sslmode",
    ),
    Case(
        "port-zero",
        (URL, "postgresql://u:pw@127.0.0.1:0/db"),
        2,
        "port 0 is out of range (1-65535)",
        commands=CHECK_ONLY,
    ),
    # libpq's multi-host form is parsed (by libpq) and tried: unknown hosts fail to connect, in one line.
    Case(
        "multi-host",
        (URL, "postgresql://u@h1.invalid:5432,h2.invalid:5432/db"),
        3,
        "cannot connect",
        commands=CHECK_ONLY,
    ),
    Case(
        "url-query-not-a-number",
        (URL, "postgresql+asyncpg://u:pw@127.0.0.1:5432/db?prepared_statement_cache_size=abc"),
        2,
        "prepared_statement_cache_size=abc",
        commands=CHECK_ONLY,
    ),
    Case("unknown-sslmode", ("--url", "postgresql://u@127.0.0.1:5432/db?sslmode=bogus"), 2, "unknown sslmode"),
    Case("no-target-at-all", (), 2, "no database given"),
    Case("pgport-not-a-number", (), 2, "pgport", env={"PGHOST": "127.0.0.1", "PGPORT": "abc"}, commands=CHECK_ONLY),
    # "²".isdigit() is true and int("²") refuses it (found by test_fuzz): a usage error, not a crash
    Case(
        "pgport-superscript-digit",
        (),
        2,
        "pgport",
        env={"PGHOST": "127.0.0.1", "PGPORT": "\u00b2"},
        commands=CHECK_ONLY,
    ),
    Case("url-port-superscript-digit", ("--url", "postgresql://u@127.0.0.1:\u00b2/db"), 2, "port is not a number"),
    Case(
        "libpq-param-superscript-digit",
        ("--url", "postgresql://u@127.0.0.1:5432/db?connect_timeout=\u00b2"),
        2,
        "connect_timeout must be a whole number",
        commands=CHECK_ONLY,
    ),
    Case(
        "database-url-mysql",
        (),
        2,
        "unsupported url scheme",
        env={"DATABASE_URL": "mysql://u:pw@h/db"},
        commands=CHECK_ONLY,
    ),
    # --- the network path and the server (3) ---
    Case("closed-port", (URL, "{closed}"), 3, "cannot connect"),
    Case("silent-port", (URL, "{silent}"), 3, "timed out after 2s"),
    Case("http-server-silent", (URL, "{http}"), 3, "timed out"),
    Case("http-server-400", (URL, "{chatty}"), 3, "is postgresql"),
    Case("unresolvable-host", (URL, "postgresql://u:pw@no-such-host.invalid:5432/db"), 3, "cannot connect"),
    Case("wrong-password", (URL, "{pg_wrongpw}"), 3, "password authentication failed"),
    Case("no-password-anywhere", (URL, "{pg_nopw}"), 3, "no password was given: put it in the url, or use -w"),
    Case("unknown-login-user", (URL, "{pg_nouser}"), 3, "cannot connect"),
    Case("unknown-database", (URL, "{pg_nodb}"), 3, "does not exist"),
    Case("tls-required-not-offered", (URL, "{pg_tls}"), 3, "does not offer tls"),
    # --- who to judge (2: the connection worked, the name is wrong) ---
    Case("unknown-role", (URL, "{pg}", "--role", "no_such_role"), 2, "role 'no_such_role' does not exist"),
    Case("empty-role", (URL, "{pg}", "--role", ""), 2, "--role needs a role name"),
    Case("blank-role", (URL, "{pg}", "--role", "   "), 2, "--role needs a role name", commands=CHECK_ONLY),
    # --- numbers on the command line (2) ---
    Case("timeout-zero", (URL, "{pg}", "--timeout", "0"), 2, "--timeout"),
    Case("timeout-negative", (URL, "{pg}", "--timeout", "-1"), 2, "--timeout", commands=CHECK_ONLY),
    Case("timeout-not-a-number", (URL, "{pg}", "--timeout", "soon"), 2, "--timeout", commands=CHECK_ONLY),
    Case("timeout-absurd", (URL, "{pg}", "--timeout", "1e12"), 2, "--timeout"),
    Case("timeout-nan", (URL, "{pg}", "--timeout", "nan"), 2, "--timeout", commands=CHECK_ONLY),
    Case("pool-size-zero", (URL, "{pg}", "--pool-size", "0"), 2, "pool_size"),
    Case("pool-size-negative", (URL, "{pg}", "--pool-size", "-3"), 2, "pool_size", commands=CHECK_ONLY),
    Case("pool-size-absurd", (URL, "{pg}", "--pool-size", "1000000000000"), 2, "pool_size", commands=CHECK_ONLY),
    Case("pool-size-not-int", (URL, "{pg}", "--pool-size", "five"), 2, "--pool-size", commands=CHECK_ONLY),
    Case("pool-recycle-below-minus-one", (URL, "{pg}", "--pool-recycle", "-5"), 2, "pool_recycle", commands=CHECK_ONLY),
    Case("pool-timeout-negative", (URL, "{pg}", "--pool-timeout", "-1"), 2, "pool_timeout", commands=CHECK_ONLY),
    Case("replicas-zero", (URL, "{pg}", "--replicas", "0"), 2, "replicas"),
    Case("network-idle-timeout-zero", (URL, "{pg}", "--network-idle-timeout", "0"), 2, "idle_timeout"),
    Case(
        "network-idle-timeout-inf",
        (URL, "{pg}", "--network-idle-timeout", "inf"),
        2,
        "idle_timeout",
        commands=CHECK_ONLY,
    ),
    Case("unknown-option", (URL, "{pg}", "--pool-sise", "5"), 2, "no such option"),
    Case("option-missing-value", (URL,), 2, "requires an argument", commands=CHECK_ONLY),
    Case("check-bad-fail-on", (URL, "{pg}", "--fail-on", "sometimes"), 2, "--fail-on", commands=("check",)),
    Case("recommend-bad-format", (URL, "{pg}", "--format", "xml"), 2, "--format", commands=("recommend",)),
    # --- conflicting flags (2) ---
    Case("prompt-and-url-password", (URL, "{pg}", "-W"), 2, "conflicts with the password in --url", stdin="x\n"),
    Case("prompt-without-stdin", (URL, "{pg_nopw}", "-W"), 2, "no password could be read", stdin=""),
    # --- the config file (2) ---
    Case("config-directory", (URL, "{pg}", "--config", "{dir}"), 2, "is a directory"),
    Case("config-missing", (URL, "{pg}", "--config", "{dir}/nope.toml"), 2, "does not exist"),
    # the app's own connect would fail on a key its driver does not take (asyncpg's server_settings for
    # psycopg): refused before connecting, naming the driver that takes it
    Case(
        "connect-arg-of-another-driver",
        (URL, "{pg}", "--config", "{dir}/c.toml"),
        2,
        "connect_args.server_settings is not an argument psycopg2 takes: it is asyncpg's",
        files={"c.toml": b'[connect_args.server_settings]\napplication_name = "x"\n'},
    ),
    Case(
        "app-connect-arg-of-another-driver",
        (URL, "{pg}", "--app", "{dir}/app"),
        2,
        "app/db.py:2: connect_args.server_settings is not an argument psycopg takes",
        files={
            "app/db.py": b'from sqlalchemy import create_engine\nengine = create_engine("postgresql+psycopg://u@127.0.0.1:1/d",'
            b' connect_args={"server_settings": {"application_name": "x"}})\n'
        },
        commands=CHECK_ONLY,
    ),
    Case(
        "config-invalid-toml",
        (URL, "{pg}", "--config", "{dir}/c.toml"),
        2,
        "not valid toml",
        files={"c.toml": b"[pool\npool_size = 5\n"},
    ),
    Case(
        "config-binary", (URL, "{pg}", "--config", "{dir}/c.toml"), 2, "not utf-8", files={"c.toml": bytes(range(256))}
    ),
    Case(
        "config-latin-1",
        (URL, "{pg}", "--config", "{dir}/c.toml"),
        2,
        "not utf-8",
        files={"c.toml": "# caf\u00e9\n[pool]\npool_size = 5\n".encode("latin-1")},
        commands=CHECK_ONLY,
    ),
    Case(
        "config-wrong-type",
        (URL, "{pg}", "--config", "{dir}/c.toml"),
        2,
        "pool.pool_size",
        files={"c.toml": b'[pool]\npool_size = "five"\n'},
    ),
    Case(
        "config-section-not-table",
        (URL, "{pg}", "--config", "{dir}/c.toml"),
        2,
        "must be a table",
        files={"c.toml": b"pool = 5\n"},
    ),
    Case(
        "config-negative",
        (URL, "{pg}", "--config", "{dir}/c.toml"),
        2,
        "pool.max_overflow",
        files={"c.toml": b"[pool]\nmax_overflow = -2\n"},
        commands=CHECK_ONLY,
    ),
    Case(
        "config-zero",
        (URL, "{pg}", "--config", "{dir}/c.toml"),
        2,
        "deployment.workers_per_replica",
        files={"c.toml": b"[deployment]\nworkers_per_replica = 0\n"},
        commands=CHECK_ONLY,
    ),
    Case(
        "config-absurd",
        (URL, "{pg}", "--config", "{dir}/c.toml"),
        2,
        "pool.pool_size",
        files={"c.toml": b"[pool]\npool_size = 99999999999999999999\n"},
    ),
    Case(
        "config-infinite",
        (URL, "{pg}", "--config", "{dir}/c.toml"),
        2,
        "pool.pool_recycle",
        files={"c.toml": b"[pool]\npool_recycle = inf\n"},
        commands=CHECK_ONLY,
    ),
    Case(
        "config-nan",
        (URL, "{pg}", "--config", "{dir}/c.toml"),
        2,
        "network.idle_timeout",
        files={"c.toml": b"[network]\nidle_timeout = nan\n"},
        commands=CHECK_ONLY,
    ),
    Case("env-wrong-type", (URL, "{pg}"), 2, "POOL_DOCTOR_POOL__POOL_SIZE", env={"POOL_DOCTOR_POOL__POOL_SIZE": "abc"}),
    Case("env-not-json", (URL, "{pg}"), 2, "environment", env={"POOL_DOCTOR_CONNECT_ARGS": "{not json"}),
    # --- probe's own options (2) ---
    Case("probe-connections-zero", (URL, "{pg}", "--connections", "0"), 2, "--connections", commands=PROBE_ONLY),
    Case("probe-load-seconds-zero", (URL, "{pg}", "--load-seconds", "0"), 2, "--load-seconds", commands=PROBE_ONLY),
    Case(
        "probe-unknown-scenario",
        (URL, "{pg}", "--scenario", "meteor_strike"),
        2,
        "unknown scenario",
        commands=PROBE_ONLY,
    ),
    Case(
        "probe-discover-not-a-duration",
        (URL, "{pg}", "--discover-idle-timeout", "soon"),
        2,
        "not a duration",
        commands=PROBE_ONLY,
    ),
    Case(
        "probe-discover-absurd",
        (URL, "{pg}", "--discover-idle-timeout", "99999999999"),
        2,
        "up to 2h",
        commands=PROBE_ONLY,
    ),
    # --- inputs that are read bounded: nesting, size, files that are not files (2, at once, in little memory) ---
    Case(
        "config-nested-arrays",
        (URL, "{pg}", "--config", "{dir}/c.toml"),
        2,
        "nests tables or arrays too deeply",
        files={"c.toml": b"[pool]\nx = " + b"[" * 5000 + b"]" * 5000 + b"\n"},
    ),
    Case(
        "config-nested-tables",
        (URL, "{pg}", "--config", "{dir}/c.toml"),
        2,
        "nests tables or arrays",
        files={"c.toml": b"[connect_args]\nx = " + b"{a=" * 40 + b"1" + b"}" * 40 + b"\n"},
        commands=CHECK_ONLY,
    ),
    Case(
        "env-nested-json",
        (URL, "{pg}"),
        2,
        "nests tables or arrays too deeply",
        env={"POOL_DOCTOR_CONNECT_ARGS": "[" * 20000 + "]" * 20000},
        commands=CHECK_ONLY,
    ),
    Case("config-dev-zero", (URL, "{pg}", "--config", "/dev/zero"), 2, "is a character device, not a regular file"),
    Case("config-fifo", (URL, "{pg}", "--config", "{dir}/fifo"), 2, "is a fifo (named pipe)", fifos=("fifo",)),
    Case(
        "config-too-big",
        (URL, "{pg}", "--config", "{dir}/c.toml"),
        2,
        "larger than 1024 kib",
        files={"c.toml": b"# " + b"x" * (2 << 20) + b"\n"},
        commands=CHECK_ONLY,
    ),
    Case(
        "service-file-not-utf8",
        (),
        2,
        "service file",
        files={"svc.conf": "[svc]\nhost=127.0.0.1\ndbname=caf\u00e9\n".encode("latin-1")},
        env={"PGSERVICEFILE": "{dir}/svc.conf", "PGSERVICE": "svc"},
        commands=CHECK_ONLY,
    ),
    Case(
        "service-file-fifo",
        (),
        2,
        "is a fifo",
        fifos=("svc.conf",),
        env={"PGSERVICEFILE": "{dir}/svc.conf", "PGSERVICE": "svc"},
        commands=CHECK_ONLY,
    ),
    # A service that is not there is the same input error however it is named (was 3 through ?service=).
    Case(
        "service-missing-in-url",
        (URL, "{pg_nopw}?service=nosuch"),
        2,
        'definition of service "nosuch" not found',
        env={"PGSERVICEFILE": "{dir}/none.conf"},
    ),
    Case(
        "service-missing-in-env",
        (),
        2,
        'definition of service "nosuch" not found',
        env={"PGSERVICEFILE": "{dir}/none.conf", "PGSERVICE": "nosuch"},
        commands=CHECK_ONLY,
    ),
    Case("prompt-line-too-long", (URL, "{pg_nopw}", "-W"), 2, "longer than 4096 characters", stdin="x" * 10_000),
    Case("app-fifo", (URL, "{pg}", "--app", "{dir}/app"), 2, "db.py: skipped: is a fifo", fifos=("app/db.py",)),
    # --- connect arguments the driver refuses before connecting (2, was 3) or would take and misbehave on ---
    Case(
        "asyncpg-command-timeout-text",
        (URL, "{pg_asyncpg}", "--config", "{dir}/c.toml"),
        2,
        "connect_args.command_timeout must be a finite number of seconds above 0 (got 'abc')",
        files={"c.toml": b'[connect_args]\ncommand_timeout = "abc"\n'},
    ),
    Case(
        "asyncpg-command-timeout-nan",
        (URL, "{pg_asyncpg}", "--config", "{dir}/c.toml"),
        2,
        "(got nan)",
        files={"c.toml": b"[connect_args]\ncommand_timeout = nan\n"},
        commands=CHECK_ONLY,
    ),
    Case(
        "asyncpg-command-timeout-huge",
        (URL, "{pg_asyncpg}", "--config", "{dir}/c.toml"),
        2,
        "at most a year",
        files={"c.toml": b"[connect_args]\ncommand_timeout = 1e308\n"},
        commands=CHECK_ONLY,
    ),
    Case(
        "asyncpg-timeout-minus-inf",
        (URL, "{pg_asyncpg}", "--config", "{dir}/c.toml"),
        2,
        "connect_args.timeout must be a finite number",
        files={"c.toml": b"[connect_args]\ntimeout = -inf\n"},
        commands=CHECK_ONLY,
    ),
    Case(
        "asyncpg-server-settings-table-value",
        (URL, "{pg_asyncpg}", "--config", "{dir}/c.toml"),
        2,
        "server_settings holds tcp_keepalives_idle",
        files={"c.toml": b"[connect_args.server_settings]\ntcp_keepalives_idle = {a=1}\n"},
    ),
    Case(
        "asyncpg-server-settings-number",
        (URL, "{pg_asyncpg}", "--config", "{dir}/c.toml"),
        2,
        'each value must be text ("60")',
        files={"c.toml": b"[connect_args.server_settings]\ntcp_keepalives_idle = 60\n"},
        commands=CHECK_ONLY,
    ),
    Case(
        "env-asyncpg-command-timeout",
        (URL, "{pg_asyncpg}"),
        2,
        "environment POOL_DOCTOR_CONNECT_ARGS__COMMAND_TIMEOUT",
        env={"POOL_DOCTOR_CONNECT_ARGS__COMMAND_TIMEOUT": "-1"},
        commands=CHECK_ONLY,
    ),
    Case(
        "psycopg-keepalives-idle-never",
        (URL, "{pg_psycopg}", "--config", "{dir}/c.toml"),
        2,
        "connect_args.keepalives_idle must be a whole number",
        files={"c.toml": b'[connect_args]\nkeepalives_idle = "never"\n'},
    ),
    Case(
        "psycopg-unknown-option",
        (URL, "{pg_psycopg}", "--config", "{dir}/c.toml"),
        2,
        "connect_args.no_such_option is not an argument psycopg takes: no driver takes it",
        files={"c.toml": b"[connect_args]\nno_such_option = 1\n"},
        commands=CHECK_ONLY,
    ),
    Case(
        "url-query-server-settings", (URL, "{pg_asyncpg}?server_settings=x"), 2, "asyncpg would refuse server_settings"
    ),
    Case("url-query-ssl-bogus", (URL, "{pg_asyncpg}?ssl=bogus"), 2, "ssl must be one of disable"),
    Case("url-query-timeout-negative", (URL, "{pg_asyncpg}?timeout=-1"), 2, "timeout must be a finite number"),
    # --- the smaller defects ---
    Case(
        "query-password-unencoded-at",
        (URL, "postgresql://u@127.0.0.1:5432/db?password=Zq9tail@resolver.invalid"),
        2,
        "the ?password= value holds an unencoded '@'",
        absent="resolver.invalid",
    ),
    Case(
        "url-120-kb",
        (URL, "postgresql://u:pw@127.0.0.1:abc/" + "d" * 120_000),
        2,
        "more characters)",
        commands=CHECK_ONLY,
    ),
    Case(
        "ports-for-two-hosts",
        (URL, "postgresql://u:pw@/db?host=a.invalid&host=b.invalid&port=1,2,3"),
        2,
        "3 ports (1,2,3) for 2 hosts",
        absent="1,2,3,1,2,3",
        commands=CHECK_ONLY,
    ),
    Case(
        "json-and-format-markdown",
        (URL, "{pg}", "--format", "markdown"),
        2,
        "--json and --format markdown",
        commands=CHECK_ONLY,
    ),
    Case(
        "wrong-password-from-service-file",
        (URL, "{pg_nopw}?service=svc"),
        3,
        "password authentication failed",
        files={"svc.conf": b"[svc]\npassword=not-the-password\n"},
        env={"PGSERVICEFILE": "{dir}/svc.conf"},
        absent="no password was given",
    ),
    # --- inputs that must still run (0 with --fail-on never / 0 or 1 for recommend) ---
    Case(
        "config-unknown-keys",
        (URL, "{pg}", "--config", "{dir}/c.toml"),
        0,
        warning="pool.pool_sise",
        files={"c.toml": b"[pool]\npool_sise = 5\n[extras]\nx = 1\n"},
    ),
    Case("config-empty", (URL, "{pg}", "--config", "{dir}/c.toml"), 0, files={"c.toml": b""}),
    Case(
        "config-comments-only",
        (URL, "{pg}", "--config", "{dir}/c.toml"),
        0,
        files={"c.toml": b"# nothing\n\n"},
        commands=CHECK_ONLY,
    ),
    Case("prompted-password", (URL, "{pg_nopw}", "-W"), 0, stdin=APP_PASSWORD + "\n"),
]

CASES = [replace(case, commands=(*case.commands, "probe")) if case.id in PROBE_TOO else case for case in CASES]


def test_the_table_is_big_enough() -> None:
    failing = [case for case in CASES if case.code != 0]
    assert len(failing) >= 30
    assert {case.code for case in failing} == {2, 3}


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input(case: Case, endpoints: dict[str, str], tmp_path: Path) -> None:
    """Each case through every command it applies to, concurrently (two cores, two processes)."""
    for name, content in case.files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(content)
    for name in case.fifos:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(tmp_path / name)
    values = {**endpoints, "dir": str(tmp_path)}
    args = [arg.format(**values) if "{" in arg else arg for arg in case.args]
    # One at a time: in process, runs share the process's environment and streams.
    runs = [_run_case(case, command, args, tmp_path) for command in case.commands]
    for argv, result in runs:
        _check(case, argv, result)


def _run_case(case: Case, command: str, args: list[str], tmp_path: Path) -> tuple[list[str], Result]:
    json_flag = {"check": ["--json", "--fail-on", "never"], "recommend": ["--format", "json"], "probe": ["--json"]}[
        command
    ]
    # JSON first, so a case's own --format or --fail-on wins; --timeout bounds every network step.
    argv = [command, *json_flag, "--timeout", f"{TIMEOUT:g}", *args]
    env = {name: value.replace("{dir}", str(tmp_path)) for name, value in case.env.items()}
    return argv, run_cli(argv, cwd=tmp_path, env=clean_env(tmp_path, **env), stdin=case.stdin)


def _check(case: Case, argv: list[str], result: Result) -> None:
    context = f"\n$ pool-doctor {' '.join(argv)}\nexit {result.code}\nstdout: {result.stdout[:500]!r}\nstderr: {result.stderr!r}"
    assert "Traceback" not in result.stderr + result.stdout, context
    assert result.seconds < TIMEOUT + MARGIN, f"took {result.seconds:.1f}s" + context
    assert APP_PASSWORD not in result.stdout + result.stderr, context
    assert quote(APP_PASSWORD, safe="") not in result.stdout + result.stderr, context

    if case.code == 0:
        assert result.code in ((0,) if argv[0] == "check" else (0, 1)), context
        assert result.talk == [], context
        document = json.loads(result.stdout)
        assert "***" in document["target"] or case.stdin, context
        if case.warning:
            assert any(case.warning in line for line in result.warnings), context
        return

    assert result.code == case.code, context
    assert len(result.talk) == 1, context
    line = result.talk[0]
    assert line.startswith("pool-doctor: error: "), context
    assert case.message.lower() in line.lower(), context
    assert len(line) < 1200, "one line of readable length" + context
    assert not case.absent or case.absent not in line, context
    assert result.stdout == "", "on error with --json, stdout stays empty" + context


@pytest.mark.parametrize(("command", "flag"), [("check", "--json"), ("recommend", "--format"), ("probe", "--json")])
def test_json_help_documents_empty_stdout_on_error(command: str, flag: str, tmp_path: Path) -> None:
    result = run_cli([command, "--help"], cwd=tmp_path, env=clean_env(tmp_path, COLUMNS="400"))
    assert result.code == 0
    # The option's help follows its flag (click wraps it over several lines).
    text = " ".join(result.stdout.split("Options:", 1)[1].split())
    start = text.index(f"{flag} ")
    assert "On error stdout stays empty" in text[start : start + 200]
