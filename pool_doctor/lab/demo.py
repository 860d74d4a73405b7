"""`pool-doctor demo`: the incident, its diagnosis, the fix and the proof, on a throwaway PostgreSQL.

The story is the classic one: a chat service's pool (SQLAlchemy defaults: no pre-ping, no recycle) sits
behind an AWS NAT gateway that forgets idle flows after 350 s, and the DBA gave the app's role an
`idle_session_timeout` of 5 minutes. The demo plays it at a scale of seconds, with the same shape.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import IO, Any, Protocol, TypeVar

from rich.console import Console
from rich.padding import Padding
from rich.text import Text

from pool_doctor.check import CheckReport, Inputs
from pool_doctor.config import AppConfig
from pool_doctor.connection.spec import parse_connection
from pool_doctor.lab.osuser import root_note
from pool_doctor.lab.postgres import LocalPostgres

ROLE = "app"
DATABASE = "chat"
SERVER_IDLE = "5min"
NAT_IDLE = 350.0  # seconds: AWS NAT gateway
SCALE = 0.005  # 350 s -> 1.75 s: the same shape, in seconds
T = TypeVar("T")


class Runner(Protocol):
    """Runs one coroutine to its result: cli.py's event loop."""

    def __call__(self, coroutine: Coroutine[Any, Any, T], /) -> T: ...


SETUP_SQL = (
    "CREATE TABLE chats (chat_id uuid PRIMARY KEY, user_id uuid NOT NULL, title text NOT NULL, "
    "created_at timestamptz NOT NULL DEFAULT now())",
    "INSERT INTO chats (chat_id, user_id, title) SELECT gen_random_uuid(), "
    "'6f1c1f5e-4b7e-4c2a-9d7e-0a8b1c2d3e4f', 'chat ' || n FROM generate_series(1, 20) n",
)
APP_QUERY = (
    "SELECT chats.chat_id, chats.user_id, chats.title, chats.created_at FROM chats "
    "WHERE chats.user_id = $1::UUID ORDER BY chats.created_at DESC LIMIT 10"
)
USER_ID = "6f1c1f5e-4b7e-4c2a-9d7e-0a8b1c2d3e4f"


@dataclass(frozen=True)
class DemoOptions:
    keep: bool = False
    timeout: float = 10.0
    quiet: bool = False  # no progress lines on stderr


@contextlib.contextmanager
def _progress(talk: IO[str], quiet: bool, what: str) -> Iterator[None]:
    """A slow step said on stderr: a spinner on a terminal, else one plain line (CI logs, pipes)."""
    if quiet:
        yield
    elif talk.isatty():
        with Console(file=talk).status(what):
            yield
    else:
        talk.write(f"pool-doctor: demo: {what}\n")
        talk.flush()
        yield


def run_demo(
    options: DemoOptions,
    out: Console,
    run: Runner,
    probe: Callable[[Inputs, CheckReport], Any],
    talk: IO[str] | None = None,
) -> None:
    """Start, stage, diagnose, prove, clean up (also on Ctrl-C or error unless --keep).

    cli.py owns the event loop: `run(coroutine)` runs each async step, and `probe(inputs, report)` runs and
    renders the time-scaled probe. `talk` (default stderr) gets the progress.
    """
    talk = talk or sys.stderr
    if threading.current_thread() is threading.main_thread():
        # Ctrl-C (a script's `kill -INT`) stops it and removes the server, also when a script's shell started it in
        # the background with SIGINT ignored, as the proxy does (the caller puts the handler back)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    password = secrets.token_urlsafe(12)
    server = LocalPostgres()
    keep_server = False
    try:
        with _progress(talk, options.quiet, "starting a throwaway PostgreSQL on 127.0.0.1 ..."):
            server.start()
            _stage(server, password)
        files = f"files in {server.root}" + ("" if options.keep else ", removed at the end")
        as_root = root_note()  # what being root changed on this machine, said where it happens
        out.print(
            Text.assemble(
                ("The setup: ", "bold"),
                f"PostgreSQL {server.major} on 127.0.0.1:{server.port} ({files})\n",
                f"- {as_root}\n" if as_root else "",
                f"- role {ROLE}: ALTER ROLE {ROLE} IN DATABASE {DATABASE} SET idle_session_timeout = '{SERVER_IDLE}'\n",
                f"- network: a NAT gateway that forgets idle flows after {NAT_IDLE:g}s (AWS's default)\n",
                "- app pool: SQLAlchemy's defaults (pool_pre_ping=False, pool_recycle=-1)",
            )
        )
        url = server.url(ROLE, password, DATABASE, driver="asyncpg")
        inputs = Inputs(
            target=parse_connection(url),
            settings=AppConfig(network={"idle_timeout": NAT_IDLE}),
            timeout=options.timeout,
        )
        _section(
            out,
            "1. The incident",
            f"A request runs the app's query, the connection idles past the NAT's "
            f"timeout (scaled: {NAT_IDLE * SCALE:g}s), the next request reuses it:",
        )
        out.print(Padding(run(_incident(server, password)), (0, 0, 0, 2), expand=False))

        from pool_doctor.check import run_check
        from pool_doctor.render import RenderOptions
        from pool_doctor.render.check import render_check
        from pool_doctor.render.recommend import render_recommendation

        report: CheckReport = run(run_check(inputs))
        _section(out, "2. pool-doctor check", "Reads what the server and network will do, as role app sees it:")
        render_check(report, RenderOptions(), out)
        _section(out, "3. pool-doctor recommend", "Values for this stack, each with its reason:")
        render_recommendation(*report.recommendations()[0], RenderOptions(), out)
        _section(out, "4. pool-doctor probe", "Every way an idle connection dies, time-scaled, current vs recommended:")
        probe(inputs, report)
        if options.keep:
            keep_server = True
            _keep(server, password, out)
    finally:
        if not keep_server:
            with _progress(talk, options.quiet, "stopping PostgreSQL and removing its files ..."):
                server.stop()


def _stage(server: LocalPostgres, password: str) -> None:
    """The throwaway server is the demo's own: it is the one place pool-doctor writes."""
    server.create_role(ROLE, password)
    server.create_database(DATABASE, owner=ROLE)
    for statement in SETUP_SQL:
        server.sql(statement, database=DATABASE)
    server.sql(f"ALTER TABLE chats OWNER TO {ROLE}", database=DATABASE)
    server.sql(f"ALTER ROLE {ROLE} IN DATABASE {DATABASE} SET idle_session_timeout = '{SERVER_IDLE}'")


async def _incident(server: LocalPostgres, password: str) -> Text:
    """The app's own query through a naive engine and a NAT-like proxy, then the same with the fix."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.ext.asyncio import create_async_engine

    from pool_doctor.faults import FaultProxy
    from pool_doctor.path.model import Layer, Limit, Provenance, Shape
    from pool_doctor.probe.engines import app_error
    from pool_doctor.recommend import recommended_recycle

    nat_idle = NAT_IDLE * SCALE
    lines = Text()
    async with FaultProxy(server.host, server.port, idle_timeout=nat_idle, mode="reset") as proxy:
        url = server.url(ROLE, password, DATABASE, driver="asyncpg").replace(f":{server.port}/", f":{proxy.port}/")
        nat = Limit(
            "idle_timeout",
            NAT_IDLE,
            Shape.RESET,
            Layer.NETWORK,
            "the NAT gateway",
            "the demo",
            Provenance.CONFIGURED,
            refreshed_by_keepalives=True,
        )
        recycle = recommended_recycle([nat])
        naive = {"pool_pre_ping": False, "pool_recycle": -1}
        fixed = {"pool_pre_ping": True, "pool_recycle": max(1, round(recycle * SCALE))}
        for label, pool in (("SQLAlchemy defaults", naive), ("recommended (scaled)", fixed)):
            engine = create_async_engine(url, **pool)
            query = text(APP_QUERY.replace("$1::UUID", "CAST(:user_id AS UUID)"))
            try:
                async with engine.connect() as conn:
                    await conn.execute(query, {"user_id": USER_ID})
                await asyncio.sleep(nat_idle + 0.5)
                started = time.monotonic()
                try:
                    async with engine.connect() as conn:
                        rows = (await asyncio.wait_for(conn.execute(query, {"user_id": USER_ID}), 10)).fetchall()
                    lines.append(f"{label}: ", style="bold")
                    lines.append(f"ok, {len(rows)} chats in {time.monotonic() - started:.2f}s\n", style="green")
                except DBAPIError as exc:
                    seen = app_error(exc)
                    lines.append(f"{label}: ", style="bold")
                    lines.append(f"{seen.module}.{seen}\n", style="red")
            finally:
                await asyncio.wait_for(engine.dispose(), 10)
    return lines


def _section(out: Console, title: str, what: str) -> None:
    out.print()
    out.rule(Text(title, style="bold"), align="left")
    out.print(Text(what, style="dim"))


def _keep(server: LocalPostgres, password: str, out: Console) -> None:
    """Leave it running: the URL carries no password; the password sits in a private pgpass file."""
    assert server.root is not None
    pgpass = server.root / "pgpass"
    pgpass.write_text(f"127.0.0.1:{server.port}:*:{ROLE}:{password}\n")
    pgpass.chmod(0o600)
    stop = server.detach()
    url = server.url(ROLE, None, DATABASE, driver="asyncpg")
    # Plain lines, not a panel: these are meant to be copied into a shell.
    out.print()
    out.rule(Text("--keep: the server keeps running", style="bold"), align="left")
    out.print("Try:", highlight=False)
    out.print(f"  export PGPASSFILE={pgpass}", highlight=False, soft_wrap=True)
    out.print(f"  pool-doctor check --url {url}", highlight=False, soft_wrap=True)
    out.print(  # the demo's own check: the same server, with the story's NAT gateway on the path
        f"  pool-doctor check --url {url} --network-idle-timeout {NAT_IDLE:g}", highlight=False, soft_wrap=True
    )
    out.print("Stop it and remove its files:", highlight=False)
    out.print(f"  {stop}", highlight=False, soft_wrap=True)
