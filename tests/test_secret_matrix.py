"""A unique password handed over each way pool-doctor can be given one appears in no output of any command and
format, no file it writes (recommend's TOML through `>`), no warning and no error (with --debug's traceback).

Each way has its own role and its own password, so a leak names the way it came by. The ways that connect do
connect (the commands run to the end and print whole reports); the ways that are ignored (an unknown key, a key
of another stack) or unused (a console URL without a pooler) are paired with a connection by ~/.pgpass with a
password of its own, which must not show either. Every form counts: raw, percent-encoded three ways, inside a
JSON or TOML string, inside a Python literal, escaped for a pgpass line (redact.secret_forms).
"""

from __future__ import annotations

import json
import socket
import tomllib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest
from cli_runner import clean_environment, run_in_process
from harness import LocalPostgres

from pool_doctor.redact import secret_forms

RUN = uuid.uuid4().hex[:8]
SPECIAL = ":@/?#%&+ ~\\x"  # what a URL, a shell, a DSN, TOML and ~/.pgpass each treat specially
DB = "sm_db"


def password(way: str) -> str:
    return f"Zq9-{RUN}-{way}{SPECIAL}"


def pgpass_line(secret: str, user: str = "*") -> str:
    escaped = secret.replace("\\", "\\\\").replace(":", "\\:")
    return f"*:*:*:{user}:{escaped}\n"


def toml_string(text: str) -> str:
    return json.dumps(text)  # a JSON string of ASCII text is a TOML basic string


@dataclass(frozen=True)
class Server:
    port: int
    closed_port: int

    def url(self, user: str, secret: str | None = None, driver: str = "", query: str = "") -> str:
        auth = user + (f":{quote(secret, safe='')}" if secret is not None else "")
        scheme = "postgresql" + (f"+{driver}" if driver else "")
        return f"{scheme}://{auth}@127.0.0.1:{self.port}/{DB}{query}"


@dataclass
class Given:
    """How one way hands the password over: extra arguments, environment, stdin, files in HOME."""

    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    stdin: str = ""
    files: dict[str, str] = field(default_factory=dict)
    connects: bool = True  # False: the password is ignored or unused; the run connects by ~/.pgpass instead
    driver: str = "psycopg"  # the driver of that other connection


Way = Callable[[Server, str, str, Path], Given]  # (server, role, password, home)


def _config(body: str) -> dict[str, str]:
    return {"c.toml": body}


WAYS: dict[str, Way] = {
    "url": lambda s, role, pw, home: Given(["--url", s.url(role, pw)]),
    "DATABASE_URL": lambda s, role, pw, home: Given(env={"DATABASE_URL": s.url(role, pw, "asyncpg")}),
    "url-query": lambda s, role, pw, home: Given(["--url", s.url(role, query=f"?password={quote(pw, safe='')}")]),
    "dsn": lambda s, role, pw, home: Given(
        ["--url", f"host=127.0.0.1 port={s.port} dbname={DB} user={role} password='{pw.replace(chr(92), chr(92) * 2)}'"]
    ),
    "PGPASSWORD": lambda s, role, pw, home: Given(
        env={"PGHOST": "127.0.0.1", "PGPORT": str(s.port), "PGUSER": role, "PGDATABASE": DB, "PGPASSWORD": pw}
    ),
    "pgpass": lambda s, role, pw, home: Given(
        ["--url", s.url(role, driver="psycopg")],
        env={"PGPASSFILE": str(home / "pgpass")},
        files={"pgpass": pgpass_line(pw)},
    ),
    "prompt": lambda s, role, pw, home: Given(["--url", s.url(role), "-W"], stdin=pw + "\n"),
    "service-PGSERVICE": lambda s, role, pw, home: Given(
        env={"PGSERVICEFILE": str(home / "svc.conf"), "PGSERVICE": "sm"},
        files={"svc.conf": f"[sm]\nhost=127.0.0.1\nport={s.port}\ndbname={DB}\nuser={role}\npassword={pw}\n"},
    ),
    "service-url": lambda s, role, pw, home: Given(
        ["--url", s.url(role, query="?service=sm")],
        env={"PGSERVICEFILE": str(home / "svc.conf")},
        files={"svc.conf": f"[sm]\npassword={pw}\n"},
    ),
    "connect_args-file": lambda s, role, pw, home: Given(
        ["--url", s.url(role, driver="asyncpg"), "--config", str(home / "c.toml")],
        files=_config(f"[connect_args]\npassword = {toml_string(pw)}\ncommand_timeout = 30\n"),
    ),
    "connect_args-env": lambda s, role, pw, home: Given(
        ["--url", s.url(role, driver="asyncpg")], env={"POOL_DOCTOR_CONNECT_ARGS__PASSWORD": pw}
    ),
    "connect_args-json-env": lambda s, role, pw, home: Given(
        ["--url", s.url(role, driver="psycopg")], env={"POOL_DOCTOR_CONNECT_ARGS": json.dumps({"password": pw})}
    ),
    "asyncpg-pool-key-env": lambda s, role, pw, home: Given(
        ["--url", s.url(role, driver="asyncpg"), "--stack", "asyncpg"], env={"POOL_DOCTOR_POOL__PASSWORD": pw}
    ),
    "asyncpg-pool-key-file": lambda s, role, pw, home: Given(
        ["--url", s.url(role, driver="asyncpg"), "--config", str(home / "c.toml")],
        files=_config(f'[pool]\nstack = "asyncpg"\npassword = {toml_string(pw)}\nmin_size = 2\nmax_size = 4\n'),
    ),
    "psycopg_pool-kwargs": lambda s, role, pw, home: Given(
        ["--url", s.url(role, driver="psycopg"), "--config", str(home / "c.toml")],
        files=_config(f'[pool]\nstack = "psycopg_pool"\n[pool.kwargs]\npassword = {toml_string(pw)}\n'),
    ),
    "sslpassword": lambda s, role, pw, home: Given(
        ["--config", str(home / "c.toml")],
        files=_config(f"[connect_args]\nsslpassword = {toml_string(pw)}\n"),
        connects=False,
    ),
    # Ignored keys: reported, dropped, and never shown.
    "ignored-env-key": lambda s, role, pw, home: Given(env={"POOL_DOCTOR_POOL__PASSWORD": pw}, connects=False),
    "ignored-url-key": lambda s, role, pw, home: Given(
        ["--config", str(home / "c.toml")],
        files=_config(f"[pool]\nurl = {toml_string(s.url(role, pw))}\n"),
        connects=False,
    ),
    "django-PASSWORD": lambda s, role, pw, home: Given(
        ["--config", str(home / "c.toml")],
        files=_config(f'[pool]\nstack = "django"\nPASSWORD = {toml_string(pw)}\nCONN_MAX_AGE = 60\n'),
        connects=False,
    ),
    "pgbouncer-admin-url": lambda s, role, pw, home: Given(
        ["--pgbouncer-admin-url", f"postgresql://admin:{quote(pw, safe='')}@127.0.0.1:{s.closed_port}/pgbouncer"],
        connects=False,
    ),
    # A password the tool knows (PGPASSWORD), inside an expression in the app's code that --app reads.
    "app-code": lambda s, role, pw, home: Given(
        ["--app", str(home / "app")],
        env={"PGHOST": "127.0.0.1", "PGPORT": str(s.port), "PGUSER": role, "PGDATABASE": DB, "PGPASSWORD": pw},
        files={
            "app/db.py": (
                "import os\nfrom sqlalchemy.ext.asyncio import create_async_engine\n\n"
                "engine = create_async_engine(\n"
                f'    "postgresql+asyncpg://{role}@127.0.0.1/{DB}",\n'
                f"    pool_recycle=int(os.environ.get('RECYCLE', {pw!r})),\n"
                f"    pool_size=lookup({pw!r}),\n"
                f"    connect_args={{'command_timeout': get({pw!r}), 'password': {pw!r}}},\n"
                ")\n"
            )
        },
    ),
}

OUTPUTS = [
    ["check", "--fail-on", "never"],
    ["check", "--fail-on", "never", "--verbose"],
    ["check", "--fail-on", "never", "--json"],
    ["check", "--fail-on", "never", "--format", "markdown"],
    ["recommend"],
    ["recommend", "--format", "json"],
    ["recommend", "--format", "markdown"],
    ["recommend", "--format", "python"],
    ["recommend", "--format", "toml"],
]
# Every output for the ways whose values reach the most renderers; the rest, the forms that print values.
EVERY_OUTPUT = {"url", "connect_args-file", "asyncpg-pool-key-file", "ignored-url-key", "app-code"}
SOME_OUTPUTS = [OUTPUTS[1], OUTPUTS[2], OUTPUTS[5], OUTPUTS[7], OUTPUTS[8]]


def role_of(way: str) -> str:
    return "sm_" + "".join(ch if ch.isalnum() else "_" for ch in way.lower())


FALLBACK = f"Zq9-{RUN}-fallback{SPECIAL}"  # the connection of the ways that do not connect


@pytest.fixture(scope="module")
def server(pg_bindirs: list[Path]) -> Iterator[Server]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    with LocalPostgres(pg_bindirs[0]) as pg:
        pg.create_database(DB)
        pg.create_role("sm_fallback", FALLBACK)
        for way in WAYS:
            pg.create_role(role_of(way), password(way))
        yield Server(pg.port, closed)


def run(server: Server, way: str, command: list[str], home: Path) -> tuple[list[str], int, str, str]:
    given = WAYS[way](server, role_of(way), password(way), home)
    for name, text in given.files.items():
        (home / name).parent.mkdir(parents=True, exist_ok=True)
        (home / name).write_text(text)
    args, env = list(given.args), {"HOME": str(home), **given.env}
    if not given.connects:
        # The run connects as another role, its password in a private pgpass file.
        (home / "fallback.pgpass").write_text(pgpass_line(FALLBACK, "sm_fallback"))
        (home / "fallback.pgpass").chmod(0o600)
        env["PGPASSFILE"] = str(home / "fallback.pgpass")
        args += ["--url", server.url("sm_fallback", driver=given.driver)]
    if way == "pgpass":
        (home / "pgpass").chmod(0o600)
    argv = [*command, *args, "--timeout", "10"]
    done = run_in_process(argv, env=clean_environment(env), cwd=home, input=given.stdin, timeout=60)
    return argv, done.returncode, done.stdout, done.stderr


def leaks(text: str, way: str) -> list[str]:
    return [form for secret in (password(way), FALLBACK) for form in secret_forms(secret) if form in text]


@pytest.mark.parametrize("way", list(WAYS))
def test_a_password_given_this_way_is_never_shown(way: str, server: Server, tmp_path: Path) -> None:
    outputs = OUTPUTS if way in EVERY_OUTPUT else SOME_OUTPUTS
    for number, command in enumerate(outputs):
        home = tmp_path / str(number)
        home.mkdir()
        argv, code, out, err = run(server, way, command, home)
        context = f"\n$ pool-doctor {' '.join(argv)}\nexit {code}\nstdout: {out[-1500:]!r}\nstderr: {err[-1500:]!r}"
        assert "Traceback" not in err, context
        assert leaks(out, way) == [] and leaks(err, way) == [], context
        if way == "pgbouncer-admin-url":  # a console named but not there: one error line, exit 3
            assert code == 3 and err.startswith("pool-doctor: error: --pgbouncer-admin-url"), context
            continue
        assert code in (0, 1), context  # the whole report was printed
        if "json" in command:
            document = json.loads(out)
            assert document["schema_version"] == 2, context
        if command[-1] == "toml":  # the file recommend writes: a config file, its password left out
            data = tomllib.loads(out)
            assert not any("password" in key.lower() for key in data.get("connect_args", {})), context


@pytest.mark.parametrize("way", list(WAYS))
def test_its_errors_and_tracebacks_never_show_it_either(way: str, server: Server, tmp_path: Path) -> None:
    """The same inputs on the error path: an unknown --role (the session opens, then the command fails with
    exit 2), with --debug's traceback."""
    argv, code, out, err = run(server, way, ["check", "--json", "--debug", "--role", "sm_no_such_role"], tmp_path)
    context = f"\n$ pool-doctor {' '.join(argv)}\nexit {code}\nstdout: {out!r}\nstderr: {err[-2000:]!r}"
    assert code == 2 and out == "", context
    assert "Traceback" in err and err.rstrip().splitlines()[-1].startswith("pool-doctor: error: role"), context
    assert leaks(err, way) == [], context


@pytest.mark.slow
@pytest.mark.parametrize(
    ("way", "fmt"), [("connect_args-file", "json"), ("connect_args-json-env", "table"), ("service-url", "markdown")]
)
def test_the_probe_never_shows_it(way: str, fmt: str, server: Server, tmp_path: Path) -> None:
    """The probe builds real engines with the password (current and recommended settings both connect)."""
    command = ["probe", "-f", fmt, "--connections", "1", "--load-seconds", "0.1", "--scenario", "backend_terminated"]
    argv, code, out, err = run(server, way, command, tmp_path)
    context = f"\n$ pool-doctor {' '.join(argv)}\nexit {code}\nstdout: {out[-2000:]!r}\nstderr: {err[-1500:]!r}"
    assert code in (0, 1) and leaks(out + err, way) == [], context
    if fmt == "json":
        scenarios = json.loads(out)["scenarios"]
        assert {s["outcome"] for s in scenarios} <= {"ok", "error"}, context  # both configs connected


def test_scan_and_explain_never_show_a_password_the_environment_holds(tmp_path: Path) -> None:
    """`scan` reads the app's code and `explain` a log another tool may have written unscrubbed: a password in
    PGPASSWORD that either holds is masked in every format."""
    secret = password("scan-explain")
    app = tmp_path / "app"
    app.mkdir()
    (app / "db.py").write_text(
        "from sqlalchemy import create_engine\n"
        f"engine = create_engine('postgresql://app@db/app', pool_recycle=lookup({secret!r}))\n"
    )
    record = {
        "schema_version": 1,
        "event": "death",
        "idle_s": 3.0,
        "request_failed": True,
        "target": f"postgresql://app:{quote(secret, safe='')}@db/app",
        "error": {"type": "OperationalError", "message": f"password {secret} rejected"},
    }
    (tmp_path / "deaths.jsonl").write_text(json.dumps(record) + "\n")
    env = clean_environment({"HOME": str(tmp_path), "PGPASSWORD": secret})
    runs = [["scan", str(app), "-f", fmt] for fmt in ("table", "json", "markdown", "sarif")]
    runs += [["explain", str(tmp_path / "deaths.jsonl"), "-f", fmt] for fmt in ("table", "json", "markdown")]
    for argv in runs:
        done = run_in_process(argv, env=env, cwd=tmp_path, timeout=60)
        found = [form for form in secret_forms(secret) if form in done.stdout + done.stderr]
        assert done.returncode == 0 and found == [], f"{argv}: {found}\n{done.stdout[-1500:]}\n{done.stderr}"
        if argv[0] == "explain" or "json" in argv:
            assert "***" in done.stdout, done.stdout  # what held it is shown, masked
