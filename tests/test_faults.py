"""The fault proxy over real loopback sockets: an echo server upstream, no mocks."""

from __future__ import annotations

import asyncio
import gc
import socket
import socketserver
import threading
import time
import warnings
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import asyncpg
import pytest
from harness import LocalPostgres

from pool_doctor.errors import UsageError
from pool_doctor.faults import FaultProxy, ThreadedFaultProxy, run_proxy

# Short enough to keep each test near a second, long enough that loop scheduling noise (~ms) never decides.
IDLE = 0.3
PAST_IDLE = 0.45
READ_TIMEOUT = 1.0


class EchoServer:
    """Echoes every byte and records, per connection, what it received and whether it was closed."""

    def __init__(self) -> None:
        self.server: asyncio.Server | None = None
        self.received: list[bytearray] = []
        self.closed: list[asyncio.Event] = []
        self.writers: list[asyncio.StreamWriter] = []

    async def start(self) -> EchoServer:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received, closed = bytearray(), asyncio.Event()
        self.received.append(received)
        self.closed.append(closed)
        self.writers.append(writer)
        try:
            while data := await reader.read(65536):
                received += data
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            closed.set()
            writer.close()

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.close()
        # Each socket is closed a loop turn after close(); wait for it, or one may outlive the loop and be
        # reported, as an unclosed transport, in whichever test runs when it is collected.
        await asyncio.gather(*(writer.wait_closed() for writer in self.writers), return_exceptions=True)
        await self.server.wait_closed()


@asynccontextmanager
async def echo_and_proxy(**kwargs: object) -> AsyncIterator[tuple[EchoServer, FaultProxy]]:
    echo = await EchoServer().start()
    proxy = FaultProxy("127.0.0.1", echo.port, **kwargs)  # type: ignore[arg-type]
    try:
        async with proxy:
            yield echo, proxy
    finally:
        await echo.stop()


async def connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port)


async def roundtrip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, payload: bytes) -> bytes:
    writer.write(payload)
    await writer.drain()
    return await asyncio.wait_for(reader.readexactly(len(payload)), READ_TIMEOUT)


async def until(predicate: Callable[[], bool], timeout: float = READ_TIMEOUT) -> None:
    """Wait for a condition that a loop callback will make true shortly."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


async def expect_reset(reader: asyncio.StreamReader) -> None:
    # SO_LINGER (1, 0) turns the proxy's close into a RST, which the reader reports as a reset, not EOF.
    with pytest.raises(ConnectionResetError):
        await asyncio.wait_for(reader.read(100), READ_TIMEOUT)


def run(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(main())


def test_pass_forwards_both_ways_and_forwards_close() -> None:
    async def main() -> None:
        async with echo_and_proxy(idle_timeout=IDLE, mode="pass") as (echo, proxy):
            reader, writer = await connect(proxy.port)
            assert await roundtrip(reader, writer, b"hello") == b"hello"
            await asyncio.sleep(PAST_IDLE)  # "pass" ignores the idle timeout
            assert await roundtrip(reader, writer, b"again") == b"again"
            assert proxy.stats.accepted == 1 and proxy.stats.active == 1
            writer.close()
            await asyncio.wait_for(echo.closed[0].wait(), READ_TIMEOUT)
            await until(lambda: proxy.stats.active == 0)
            assert proxy.stats.reset == 0 and proxy.stats.bytes_forwarded == 20

    run(main)


def test_pass_carries_bulk_data_and_half_close() -> None:
    async def main() -> None:
        async with echo_and_proxy(idle_timeout=None, mode="pass") as (echo, proxy):
            reader, writer = await connect(proxy.port)
            # More than the loopback socket buffers hold, read late: the proxy must pause and resume.
            payload = bytes(range(256)) * 131072  # 32 MiB

            async def send() -> None:
                writer.write(payload)
                await writer.drain()
                writer.write_eof()  # half-close: the echo must still come back, then EOF

            sender = asyncio.create_task(send())
            await asyncio.sleep(0.2)
            echoed = await asyncio.wait_for(reader.read(-1), 10)
            await sender
            assert echoed == payload and bytes(echo.received[0]) == payload
            writer.close()
            await until(lambda: proxy.stats.active == 0)

    run(main)


def test_reset_keeps_forwarding_while_the_flow_is_used() -> None:
    async def main() -> None:
        async with echo_and_proxy(idle_timeout=IDLE, mode="reset") as (_, proxy):
            reader, writer = await connect(proxy.port)
            for i in range(4):  # 4 x 0.2 s is longer than the timeout, but no single gap is
                assert await roundtrip(reader, writer, b"%d" % i) == b"%d" % i
                await asyncio.sleep(IDLE * 2 / 3)
            assert await roundtrip(reader, writer, b"end") == b"end"
            assert proxy.stats.reset == 0
            writer.close()

    run(main)


def test_reset_after_idle_sends_rst_to_client_and_closes_upstream() -> None:
    events: list[str] = []

    async def main() -> None:
        async with echo_and_proxy(idle_timeout=IDLE, mode="reset", on_event=events.append) as (echo, proxy):
            reader, writer = await connect(proxy.port)
            assert await roundtrip(reader, writer, b"ping") == b"ping"
            await asyncio.sleep(PAST_IDLE)
            assert not echo.closed[0].is_set()  # lazy: nothing happens until the flow is used
            writer.write(b"query")
            await expect_reset(reader)
            await asyncio.wait_for(echo.closed[0].wait(), READ_TIMEOUT)
            assert bytes(echo.received[0]) == b"ping"  # the late bytes never reached the server
            assert proxy.stats.reset == 1
            await until(lambda: proxy.stats.active == 0)
            writer.close()

    run(main)
    assert any("idle 0.4" in e and "> 0.3 s: reset" in e for e in events), events


def test_reset_is_also_triggered_by_upstream_bytes_after_idle() -> None:
    async def main() -> None:
        async with echo_and_proxy(idle_timeout=IDLE, mode="reset") as (echo, proxy):
            reader, writer = await connect(proxy.port)
            assert await roundtrip(reader, writer, b"ping") == b"ping"
            await asyncio.sleep(PAST_IDLE)
            echo.writers[0].write(b"late notice")  # e.g. a server-side FATAL after a long idle
            await expect_reset(reader)
            await asyncio.wait_for(echo.closed[0].wait(), READ_TIMEOUT)
            assert proxy.stats.reset == 1 and proxy.stats.bytes_dropped == len(b"late notice")
            writer.close()

    run(main)


def test_idle_timeout_is_measured_to_within_ten_percent() -> None:
    async def main() -> None:
        timeout = 0.5
        async with echo_and_proxy(idle_timeout=timeout, mode="reset") as (_, proxy):
            reader, writer = await connect(proxy.port)
            assert await roundtrip(reader, writer, b"a") == b"a"
            await asyncio.sleep(timeout * 0.9)
            assert await roundtrip(reader, writer, b"b") == b"b"  # 90 % of the timeout: still alive
            await asyncio.sleep(timeout * 1.1)
            writer.write(b"c")  # 110 %: forgotten
            await expect_reset(reader)
            writer.close()

    run(main)


def test_blackhole_after_idle_discards_and_keeps_both_sockets_open() -> None:
    async def main() -> None:
        async with echo_and_proxy(idle_timeout=IDLE, mode="blackhole") as (echo, proxy):
            reader, writer = await connect(proxy.port)
            assert await roundtrip(reader, writer, b"ping") == b"ping"
            await asyncio.sleep(PAST_IDLE)
            writer.write(b"query")
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(reader.read(100), 0.5)
            echo.writers[0].write(b"from server")  # dropped the other way too
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(reader.read(100), 0.3)
            assert not writer.is_closing() and not reader.at_eof()
            assert not echo.closed[0].is_set() and bytes(echo.received[0]) == b"ping"
            assert proxy.stats.blackholed == 1 and proxy.stats.active == 1 and proxy.stats.reset == 0
            writer.close()  # the client gives up: the proxy must release the backend
            await asyncio.wait_for(echo.closed[0].wait(), READ_TIMEOUT)
            await until(lambda: proxy.stats.active == 0)

    run(main)


def test_close_ends_an_idle_flow_unasked_as_a_pooler_does() -> None:
    """close: at the idle timeout the proxy closes the client's socket (FIN) by itself, with no bytes sent; a flow
    that keeps talking stays open."""

    async def main() -> None:
        async with echo_and_proxy(idle_timeout=IDLE, mode="close") as (echo, proxy):
            reader, writer = await connect(proxy.port)
            busy_reader, busy_writer = await connect(proxy.port)
            assert await roundtrip(reader, writer, b"ping") == b"ping"
            for _ in range(4):  # the busy flow talks every IDLE/2 and is never closed
                assert await roundtrip(busy_reader, busy_writer, b"x") == b"x"
                await asyncio.sleep(IDLE / 2)
            assert await asyncio.wait_for(reader.read(100), READ_TIMEOUT) == b""  # EOF: closed while idle
            await asyncio.wait_for(echo.closed[0].wait(), READ_TIMEOUT)
            assert proxy.stats.closed == 1 and proxy.stats.reset == 0
            assert await roundtrip(busy_reader, busy_writer, b"still") == b"still"
            writer.close()
            busy_writer.close()

    run(main)


def test_blackhole_now_partitions_existing_flows_only() -> None:
    async def main() -> None:
        async with echo_and_proxy(idle_timeout=None, mode="pass") as (echo, proxy):
            reader, writer = await connect(proxy.port)
            assert await roundtrip(reader, writer, b"ping") == b"ping"
            proxy.blackhole_now()
            writer.write(b"query")
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(reader.read(100), 0.3)
            assert not echo.closed[0].is_set()
            reader2, writer2 = await connect(proxy.port)  # a new flow after the partition works
            assert await roundtrip(reader2, writer2, b"fresh") == b"fresh"
            assert proxy.stats.blackholed == 1
            writer.close()
            writer2.close()

    run(main)


def test_reset_now_resets_every_client_and_closes_every_upstream() -> None:
    async def main() -> None:
        async with echo_and_proxy(idle_timeout=None, mode="pass") as (echo, proxy):
            flows = [await connect(proxy.port) for _ in range(2)]
            for reader, writer in flows:
                assert await roundtrip(reader, writer, b"ping") == b"ping"
            proxy.reset_now()
            for reader, writer in flows:
                await expect_reset(reader)  # at once, without the client sending anything
                writer.close()
            await asyncio.wait_for(asyncio.gather(*(e.wait() for e in echo.closed)), READ_TIMEOUT)
            assert proxy.stats.reset == 2
            await until(lambda: proxy.stats.active == 0)

    run(main)


def test_set_mode_changes_what_expiry_does() -> None:
    async def main() -> None:
        async with echo_and_proxy(idle_timeout=IDLE, mode="pass") as (_, proxy):
            reader, writer = await connect(proxy.port)
            await asyncio.sleep(PAST_IDLE)
            assert await roundtrip(reader, writer, b"ping") == b"ping"
            proxy.set_mode("reset")
            await asyncio.sleep(PAST_IDLE)
            writer.write(b"query")
            await expect_reset(reader)
            writer.close()
            with pytest.raises(UsageError):
                proxy.set_mode("drop")  # type: ignore[arg-type]

    run(main)


def test_max_flow_lifetime_ends_a_busy_flow() -> None:
    async def main() -> None:
        async with echo_and_proxy(idle_timeout=None, mode="blackhole", max_flow_lifetime=0.4) as (echo, proxy):
            reader, writer = await connect(proxy.port)
            assert await roundtrip(reader, writer, b"ping") == b"ping"
            await expect_reset(reader)
            await asyncio.wait_for(echo.closed[0].wait(), READ_TIMEOUT)
            assert proxy.stats.lifetime_closed == 1
            writer.close()

    run(main)


def test_unreachable_upstream_resets_the_client_promptly() -> None:
    async def main() -> None:
        with socket.socket() as s:  # a port that was just free, so nothing listens on it
            s.bind(("127.0.0.1", 0))
            dead_port = s.getsockname()[1]
        async with FaultProxy("127.0.0.1", dead_port, idle_timeout=1.0) as proxy:
            reader, writer = await connect(proxy.port)
            started = time.monotonic()
            await expect_reset(reader)
            assert time.monotonic() - started < 0.5
            assert proxy.stats.connect_failed == 1
            await until(lambda: proxy.stats.active == 0)
            writer.close()

    run(main)


def test_stop_closes_every_socket_and_is_idempotent() -> None:
    async def main() -> None:
        echo = await EchoServer().start()
        proxy = await FaultProxy("127.0.0.1", echo.port, idle_timeout=None, mode="pass").start()
        flows = [await connect(proxy.port) for _ in range(3)]
        for reader, writer in flows:
            assert await roundtrip(reader, writer, b"ping") == b"ping"
        port = proxy.port
        await proxy.stop()
        assert proxy.stats.active == 0
        for reader, writer in flows:
            assert await asyncio.wait_for(reader.read(100), READ_TIMEOUT) == b""
            writer.close()
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in echo.closed)), READ_TIMEOUT)
        with pytest.raises(ConnectionRefusedError):
            await connect(port)
        await proxy.stop()
        await echo.stop()

    run(main)


def test_stop_right_after_an_accept_leaves_no_socket_behind() -> None:
    """A client whose connection the loop accepted in the turn before stop() (a Ctrl-C as it connects): asyncio
    gives it its transport a turn later, and a server closed by then asserts there and drops the socket unclosed
    (CPython 3.11's Server._attach). stop() lets those turns pass before it closes the listener."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        echo = await EchoServer().start()
        proxy = await FaultProxy("127.0.0.1", echo.port, idle_timeout=None).start()
        client = socket.create_connection(("127.0.0.1", proxy.port))  # the next select reports it
        woken = loop.create_future()
        loop.call_soon(woken.set_result, None)  # runs before that accept; this task goes on after it
        await woken
        await proxy.stop()
        client.close()
        await echo.stop()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        run(main)
        gc.collect()
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []


def test_run_proxy_serves_until_cancelled_and_reports_events() -> None:
    events: list[str] = []

    async def main() -> None:
        echo = await EchoServer().start()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        task = asyncio.create_task(
            run_proxy(
                "127.0.0.1",
                echo.port,
                listen_host="127.0.0.1",
                listen_port=port,
                idle_timeout=IDLE,
                mode="reset",
                on_event=events.append,
            )
        )
        await until(lambda: any(e.startswith("listening on") for e in events))
        reader, writer = await connect(port)
        assert await roundtrip(reader, writer, b"ping") == b"ping"
        await asyncio.sleep(PAST_IDLE)
        writer.write(b"query")
        await expect_reset(reader)
        writer.close()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await echo.stop()

    run(main)
    assert events[0].startswith("listening on 127.0.0.1:") and "(mode reset, idle timeout 0.3 s)" in events[0]
    assert any(" from 127.0.0.1:" in e and "> 0.3 s: reset" in e for e in events), events
    assert events[-1].startswith("stopped: 1 flows accepted, 1 reset")


def test_invalid_arguments_are_usage_errors() -> None:
    with pytest.raises(UsageError):
        FaultProxy("127.0.0.1", 5432, idle_timeout=1.0, mode="nat")  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        FaultProxy("127.0.0.1", 5432, idle_timeout=0)
    with pytest.raises(RuntimeError):
        _ = FaultProxy("127.0.0.1", 5432, idle_timeout=1.0).port


# -- the threaded proxy, driven from plain blocking sockets ---------------------------------------


class _EchoHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(65536):
            self.request.sendall(data)


@contextmanager
def threaded_echo() -> Iterator[int]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _EchoHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def test_threaded_proxy_from_sync_code() -> None:
    with threaded_echo() as echo_port, ThreadedFaultProxy("127.0.0.1", echo_port, idle_timeout=IDLE) as proxy:
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=READ_TIMEOUT) as client:
            client.sendall(b"ping")
            assert client.recv(100) == b"ping"
            time.sleep(PAST_IDLE)
            client.sendall(b"query")
            with pytest.raises(ConnectionResetError):
                client.recv(100)
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=READ_TIMEOUT) as client:
            client.sendall(b"ping")
            assert client.recv(100) == b"ping"
            proxy.reset_now()  # returns once applied, so the reset is already on its way
            with pytest.raises(ConnectionResetError):
                client.recv(100)
        proxy.set_mode("blackhole")
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=0.3) as client:
            client.sendall(b"ping")
            assert client.recv(100) == b"ping"
            proxy.blackhole_now()
            client.sendall(b"query")
            with pytest.raises(socket.timeout):
                client.recv(100)
        stats = proxy.stats
        assert (stats.accepted, stats.reset, stats.blackholed) == (3, 2, 1)
    proxy.stop()  # idempotent after the with block


# -- the incident itself, against a real server -------------------------------------------------


def test_asyncpg_behind_reset_proxy_reproduces_the_incident(pg: LocalPostgres) -> None:
    async def main() -> None:
        async with FaultProxy(pg.host, pg.port, idle_timeout=1.0, mode="reset") as proxy:
            conn = await asyncpg.connect(
                host="127.0.0.1",
                port=proxy.port,
                user="postgres",
                password=pg.password,
                database="postgres",
                timeout=10,
            )
            try:
                assert await conn.fetchval("SELECT 1") == 1
                backend_pid = conn.get_server_pid()
                await asyncio.sleep(1.5)  # the pool keeps the connection idle past the middlebox timeout
                with pytest.raises(asyncpg.exceptions.ConnectionDoesNotExistError) as raised:
                    await conn.fetchval("SELECT 1")
                assert "connection was closed in the middle of operation" in str(raised.value)
            finally:
                conn.terminate()
            # The proxy also closed its upstream socket, so the backend goes away instead of lingering.
            direct = await asyncpg.connect(pg.url(), timeout=10)
            try:
                gone = "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $1"
                deadline = time.monotonic() + 5
                while not await direct.fetchval(gone, backend_pid):
                    assert time.monotonic() < deadline, "backend still alive after the reset"
                    await asyncio.sleep(0.05)
            finally:
                await direct.close()
            assert proxy.stats.reset == 1

    run(main)
