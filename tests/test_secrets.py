"""One unique password, handed over every way a user can, never reaches the screen except as `***`.

Sources: `--url`, `DATABASE_URL`, `PGPASSWORD` (with PGHOST/PGPORT/PGUSER/PGDATABASE), `~/.pgpass`
(HOME is a temp dir, the file is 0600) and the `-W` prompt (stdin). Every command and output format on
success, and every failure path (wrong password, unknown database, unknown role, timeout, closed port,
bad config, malformed URL, TLS refused) with `--debug`, whose traceback must be scrubbed too.
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest
from cli_runner import run_in_process
from harness import LocalPostgres

from pool_doctor.errors import MASK, scrub

# Unique per run, with every character a URL, a shell or ~/.pgpass treats specially.
CORE = f"Zq9-s3cr3t-{uuid.uuid4().hex[:10]}"
SECRET = CORE + ":@/?#%&+ ~\\x"
FORMS = {SECRET, CORE, quote(SECRET, safe=""), quote(SECRET), SECRET.replace("\\", "\\\\").replace(":", "\\:")}
TIMEOUT = 1.0


def clean_env(home: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not (k.startswith(("PG", "POOL_DOCTOR_")) or k in ("DATABASE_URL", "COLUMNS"))
    }
    env.update(HOME=str(home), NO_COLOR="1", COLUMNS="120")
    env.update(extra)
    return env


@dataclass
class Run:
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    stdin: str = ""


@dataclass
class Result:
    run: Run
    code: int
    stdout: str
    stderr: str

    def context(self) -> str:
        env = {k: v for k, v in self.run.env.items() if k.startswith(("PG", "DATABASE_URL"))}
        return f"\n$ {env} pool-doctor {' '.join(self.run.argv)}\nexit {self.code}\nstdout: {self.stdout[:800]!r}\nstderr: {self.stderr[-1500:]!r}"


def run_all(runs: list[Run], home: Path) -> list[Result]:
    """Run each in process, through main(argv)."""

    def one(run: Run) -> Result:
        proc = run_in_process(run.argv, cwd=home, env=clean_env(home, run.env), input=run.stdin, timeout=30)
        return Result(run, proc.returncode, proc.stdout, proc.stderr)

    # One at a time: in process, runs share the process's environment and streams.
    return [one(run) for run in runs]


def free_port() -> int:
    """A port nothing listens on (bound, then closed): a connect there is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def assert_no_secret(result: Result) -> None:
    for form in FORMS:
        assert form not in result.stdout, f"password form {form!r} on stdout" + result.context()
        assert form not in result.stderr, f"password form {form!r} on stderr" + result.context()


# ------------------------------------------------------------------------------------------------
# Where the password comes from


@dataclass(frozen=True)
class Coordinates:
    host: str
    port: str
    database: str
    user: str
    query: str = ""  # "?sslmode=require"
    pg_env: dict[str, str] = field(default_factory=dict)  # PG* equivalents of the query


def url_with_password(c: Coordinates) -> str:
    return f"postgresql://{c.user}:{quote(SECRET, safe='')}@{c.host}:{c.port}/{c.database}{c.query}"


def url_without_password(c: Coordinates) -> str:
    return f"postgresql://{c.user}@{c.host}:{c.port}/{c.database}{c.query}"


def write_pgpass(home: Path) -> None:
    escaped = SECRET.replace("\\", "\\\\").replace(":", "\\:")
    path = home / ".pgpass"
    path.write_text(f"# pool-doctor test\n*:*:*:*:{escaped}\n")
    path.chmod(0o600)


Source = Callable[[Coordinates, list[str], Path], Run]


def by_url(c: Coordinates, args: list[str], home: Path) -> Run:
    return Run([*args, "--url", url_with_password(c)])


def by_database_url(c: Coordinates, args: list[str], home: Path) -> Run:
    return Run(args, env={"DATABASE_URL": url_with_password(c)})


def by_pgpassword(c: Coordinates, args: list[str], home: Path) -> Run:
    env = {"PGHOST": c.host, "PGPORT": c.port, "PGUSER": c.user, "PGDATABASE": c.database, "PGPASSWORD": SECRET}
    return Run(args, env={**env, **c.pg_env})


def by_pgpass(c: Coordinates, args: list[str], home: Path) -> Run:
    write_pgpass(home)
    return Run([*args, "--url", url_without_password(c)])


def by_prompt(c: Coordinates, args: list[str], home: Path) -> Run:
    return Run([*args, "--url", url_without_password(c), "-W"], stdin=SECRET + "\n")


SOURCES: dict[str, Source] = {
    "url": by_url,
    "DATABASE_URL": by_database_url,
    "PGPASSWORD": by_pgpassword,
    "pgpass": by_pgpass,
    "prompt": by_prompt,
}


# ------------------------------------------------------------------------------------------------
# The server


@dataclass(frozen=True)
class Server:
    port: int
    silent_port: int
    closed_port: int


@pytest.fixture(scope="module")
def server(pg_bindirs: list[Path]) -> Iterator[Server]:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)  # accepts (in the kernel) and never answers
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    with LocalPostgres(pg_bindirs[0]) as pg:
        pg.create_role("sec_app", SECRET)
        pg.create_role("sec_other", "not-the-secret")  # SECRET is the *wrong* password for this one
        pg.create_database("sec_db", owner="sec_app")
        yield Server(pg.port, silent.getsockname()[1], closed)
    silent.close()


def good(server: Server) -> Coordinates:
    return Coordinates("127.0.0.1", str(server.port), "sec_db", "sec_app")


# ------------------------------------------------------------------------------------------------
# Success: every command and format


def _has_option(name: str) -> bool:
    from pool_doctor.cli_options import CommonArgs

    return name in CommonArgs.__dataclass_fields__


EVERY_OUTPUT = [
    ["check"],
    ["check", "--json", "--debug"],
    ["recommend"],
    ["recommend", "--format", "json", "--debug"],
    ["recommend", "--format", "python"],
    ["recommend", "--format", "toml"],
]


@pytest.mark.parametrize("source", list(SOURCES))
def test_success_never_shows_the_password(source: str, server: Server, tmp_path: Path) -> None:
    # Rendering does not depend on where the password came from: every format once, via the URL.
    outputs = EVERY_OUTPUT if source == "url" else [["check", "--json", "--debug"], ["recommend", "--format", "python"]]
    runs = [
        SOURCES[source](
            good(server),
            [*args, "--timeout", "10", "--fail-on", "never"] if args[0] == "check" else [*args, "--timeout", "10"],
            tmp_path,
        )
        for args in outputs
    ]
    if source == "url" and _has_option("pgbouncer_admin_url"):
        # A second URL with the same password: the pooler console's, named but not there (an error, masked).
        admin = f"postgresql://pgb_admin:{quote(SECRET, safe='')}@127.0.0.1:{server.closed_port}/pgbouncer"
        runs.append(
            by_url(
                good(server),
                ["check", "--json", "--fail-on", "never", "--timeout", "10", "--pgbouncer-admin-url", admin],
                tmp_path,
            )
        )
    for result in run_all(runs, tmp_path):
        assert "Traceback" not in result.stderr, result.context()
        assert_no_secret(result)
        if "--pgbouncer-admin-url" in result.run.argv:  # named, and not there: one error line, masked
            assert result.code == 3 and "pgb_admin:***@" in result.stderr, result.context()
            continue
        assert result.code in (0, 1), result.context()
        if "--json" in result.run.argv:
            document = json.loads(result.stdout)
            assert document["target"].startswith("postgresql://sec_app:***@127.0.0.1:"), result.context()
            assert document["server"]["connected_as"] == "sec_app"
        elif result.run.argv[:3] == ["recommend", "--format", "python"]:
            assert "sec_app@127.0.0.1" in result.stdout  # the engine URL is printed without any password
        elif "--format" not in result.run.argv:
            assert "sec_app:***@" in result.stdout, result.context()


# ------------------------------------------------------------------------------------------------
# Failure paths, with --debug (the traceback must be scrubbed too)


@dataclass(frozen=True)
class Failure:
    code: int
    coordinates: Callable[[Server], Coordinates]
    args: tuple[str, ...] = ()
    config: bytes | None = None


FAILURES: dict[str, Failure] = {
    "wrong-password": Failure(3, lambda s: Coordinates("127.0.0.1", str(s.port), "sec_db", "sec_other")),
    "unknown-database": Failure(3, lambda s: Coordinates("127.0.0.1", str(s.port), "no_such_db", "sec_app")),
    "unknown-role": Failure(2, good, ("--role", "no_such_role")),
    "timeout": Failure(3, lambda s: Coordinates("127.0.0.1", str(s.silent_port), "sec_db", "sec_app")),
    "closed-port": Failure(3, lambda s: Coordinates("127.0.0.1", str(s.closed_port), "sec_db", "sec_app")),
    "bad-config": Failure(2, good, ("--config", "bad.toml"), config=b"[pool]\npool_size = -1\n"),
    "malformed-url": Failure(
        2, lambda s: Coordinates("127.0.0.1", "abc", "sec_db", "sec_app", pg_env={"PGPORT": "abc"})
    ),
    "tls-refused": Failure(
        3,
        lambda s: Coordinates(
            "127.0.0.1", str(s.port), "sec_db", "sec_app", "?sslmode=require", pg_env={"PGSSLMODE": "require"}
        ),
    ),
}


@pytest.mark.parametrize("failure", list(FAILURES))
def test_failures_never_show_the_password(failure: str, server: Server, tmp_path: Path) -> None:
    spec = FAILURES[failure]
    if spec.config is not None:
        (tmp_path / "bad.toml").write_bytes(spec.config)
    coordinates = spec.coordinates(server)
    runs = []
    for name, source in SOURCES.items():
        home = tmp_path / name
        home.mkdir()
        if spec.config is not None:
            (home / "bad.toml").write_bytes(spec.config)
        run = source(coordinates, ["check", "--json", "--debug", "--timeout", f"{TIMEOUT:g}", *spec.args], home)
        runs.append((home, run))
    # recommend's and probe's own paths too, via the most common source.
    for command in (["recommend", "--format", "json"], ["probe", "--json"]):
        home = tmp_path / command[0]
        home.mkdir()
        if spec.config is not None:
            (home / "bad.toml").write_bytes(spec.config)
        runs.append((home, by_url(coordinates, [*command, "--debug", "--timeout", f"{TIMEOUT:g}", *spec.args], home)))

    started = time.monotonic()
    results = [run_all([run], home)[0] for home, run in runs]
    assert time.monotonic() - started < 60
    for result in results:
        assert result.code == spec.code, result.context()
        assert result.stdout == "", result.context()
        assert "Traceback" in result.stderr, "--debug shows the traceback" + result.context()
        assert result.stderr.rstrip().splitlines()[-1].startswith("pool-doctor: error: "), result.context()
        assert_no_secret(result)


@pytest.mark.slow
def test_probe_never_shows_the_password(server: Server, tmp_path: Path) -> None:
    """The probe breaks connections on purpose and reports what the driver said: none of it may hold the password."""
    runs = [
        by_url(
            good(server),
            ["probe", "--json", "--debug", "--timeout", "10", "--connections", "2", "--load-seconds", "0.2"],
            tmp_path,
        ),
        by_pgpassword(
            good(server),
            [
                "probe",
                "--timeout",
                "10",
                "--connections",
                "1",
                "--load-seconds",
                "0.1",
                "--scenario",
                "backend_terminated",
                "--scenario",
                "network_reset",
            ],
            tmp_path,
        ),
    ]
    for result in run_all(runs, tmp_path):
        assert "Traceback" not in result.stderr, result.context()
        assert_no_secret(result)
        if "--pgbouncer-admin-url" in result.run.argv:  # named, and not there: one error line, masked
            assert result.code == 3 and "pgb_admin:***@" in result.stderr, result.context()
            continue
        assert result.code in (0, 1), result.context()
        if "--json" in result.run.argv:
            assert json.loads(result.stdout)["target"].startswith("postgresql://sec_app:***@")


@pytest.mark.parametrize("via", ["--url", "DATABASE_URL"])
def test_a_raw_password_that_breaks_the_url_is_still_masked(via: str, tmp_path: Path) -> None:
    """Pasted without percent-encoding: SQLAlchemy's make_url (what the app uses) still takes the "/" as part
    of the password, so the command goes on to connect, and fails on the unknown host with the URL masked."""
    raw = f"{CORE}/x"
    url = f"postgresql://app:{raw}@db.invalid/app"
    argv, env = (["check", "--url", url], {}) if via == "--url" else (["check"], {"DATABASE_URL": url})
    done = run_in_process([*argv, "--debug"], timeout=30, env=clean_env(tmp_path, env))
    assert done.returncode == 3, done.stderr
    assert "postgresql://app:***@db.invalid/app" in done.stderr
    assert CORE not in done.stdout + done.stderr


@pytest.mark.parametrize("password", ["y", "postgres"])
def test_a_short_password_is_masked_without_mangling_words(password: str, tmp_path: Path) -> None:
    """A dev password is often a word the error line holds anyway (`postgres` in `postgresql`, `y` in
    `asyncpg`): the line keeps those words whole and masks the password where it stands alone."""
    closed_port = free_port()
    url = f"postgresql+asyncpg://app:{password}@127.0.0.1:{closed_port}/appdb"
    done = run_in_process(["check", "--url", url, "--timeout", "2"], timeout=30, env=clean_env(tmp_path, {}))
    assert done.returncode == 3, done.stderr
    line = done.stderr.strip().splitlines()[-1]
    assert line.startswith(
        f"pool-doctor: error: cannot connect to postgresql+asyncpg://app:***@127.0.0.1:{closed_port}/appdb: "
    )
    assert "ConnectionRefusedError" in line
    assert not re.search(rf"(?<![^\W_]){password}(?![^\W_])", done.stdout + done.stderr)


def test_scrub_masks_a_long_password_even_inside_a_word() -> None:
    long_password = "correct-horse-battery"
    assert scrub(f"x{long_password}y and {long_password}", [long_password]) == f"x{MASK}y and {MASK}"
    assert scrub("user=postgres password=postgres db=postgresql", ["postgres"]) == (
        f"user={MASK} password={MASK} db=postgresql"
    )
    assert scrub("role app_ro, user app", ["app"]) == f"role app_ro, user {MASK}"  # "_" is part of a word


@pytest.mark.parametrize("shape", ["{0}@{1}:{2}", "{0}@{1}:7777/{2}"], ids=["port-word", "port-number"])
def test_no_part_of_an_unencoded_password_is_shown(shape: str, tmp_path: Path) -> None:
    """libpq reads `u:one@two:three@host` as password `one`, host `two`, port `three@host`, and SQLAlchemy
    `u:one@two:7777/three@host` as host `two`, database `three@host`: neither part may be shown."""
    parts = [f"{CORE}a", f"{CORE}b", f"{CORE}c9"]
    url = f"postgresql://app:{shape.format(*parts)}@127.0.0.1:1/appdb"
    done = run_in_process(["check", "--url", url, "--debug"], timeout=30, env=clean_env(tmp_path, {}))
    assert done.returncode == 2, done.stderr
    assert "must be percent-encoded" in done.stderr.splitlines()[-1]
    assert CORE not in done.stdout + done.stderr


def test_a_drivers_log_record_is_one_scrubbed_warning_line(capsys: pytest.CaptureFixture[str]) -> None:
    """psycopg logs "query not terminated after cancellation" behind a saturated pooler; logging's last-resort
    handler would print it bare. Inside the event loop, where the drivers run, it is pool-doctor's line."""
    import logging

    from pool_doctor import cli

    async def logs() -> None:
        logging.getLogger("psycopg").warning("query not terminated after cancellation: %s", SECRET)

    cli._run_async(logs(), [SECRET])
    err = capsys.readouterr().err
    assert err == f"pool-doctor: warning: query not terminated after cancellation: {MASK}\n"
    assert not any(isinstance(h, logging.Handler) and h.level == logging.WARNING for h in logging.getLogger().handlers)


def test_a_password_that_is_also_the_user_name_is_masked_only_as_the_password(tmp_path: Path) -> None:
    """postgres:postgres: the error keeps the user and the database, which the report names anyway."""
    closed_port = free_port()
    url = f"postgresql://test:test@127.0.0.1:{closed_port}/test"
    done = run_in_process(["check", "--url", url, "--timeout", "2"], timeout=30, env=clean_env(tmp_path, {}))
    assert done.returncode == 3, done.stderr
    assert f"cannot connect to postgresql://test:***@127.0.0.1:{closed_port}/test: " in done.stderr


def test_only_a_urls_own_names_spare_its_password(monkeypatch: pytest.MonkeyPatch) -> None:
    """PGUSER=postgres says nothing of the password `postgres` in a URL whose user is app: it stays masked."""
    from pool_doctor.passwords import passwords_in

    monkeypatch.setenv("PGUSER", "postgres")
    monkeypatch.setenv("HOME", "/nonexistent")
    assert "postgres" in passwords_in(["--url", "postgresql://app:postgres@127.0.0.1/appdb"], os.environ)
    assert "test" not in passwords_in(["--url", "postgresql://test:test@127.0.0.1/appdb"], os.environ)
