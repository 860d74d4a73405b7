"""A loopback TCP proxy that forgets idle flows the way NAT gateways and load balancers do.

Toxiproxy has no idle-based fault, yet the incident this tool chases ("connection was closed in the
middle of operation" after a pool kept a connection idle too long) is exactly that. Each client
connection gets its own upstream connection (a *flow*); bytes in either direction refresh the flow.
Once a flow has been idle longer than ``idle_timeout``:

* ``"reset"``: the middlebox has forgotten it; the next bytes from either side are not forwarded,
  the client gets a TCP RST and the upstream connection is closed (AWS NAT gateway / NLB).
* ``"blackhole"``: every further byte is discarded and both sockets stay open, so the client hangs
  until its own timeout (Azure LB without "TCP reset").
* ``"pass"``: plain forwarding, for baselines.

Expiry is checked lazily at the next data event, like a real middlebox, so the client only finds
out when it next uses the connection. Times come from ``loop.time()`` (monotonic).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import logging
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Self, TypeVar, get_args

from pool_doctor.errors import UsageError

__all__ = ["MODES", "FaultProxy", "Mode", "ProxyStats", "ThreadedFaultProxy", "run_proxy"]

Mode = Literal["reset", "blackhole", "pass"]
MODES: tuple[Mode, ...] = get_args(Mode)

EventHandler = Callable[[str], None]

_log = logging.getLogger(__name__)
_T = TypeVar("_T")

# How long stop() waits for sockets to report closed; aborted sockets close within one loop turn.
_STOP_GRACE_SECONDS = 5.0
# How long ThreadedFaultProxy waits on its loop thread before declaring it stuck.
_THREAD_CALL_TIMEOUT_SECONDS = 30.0


@dataclass
class ProxyStats:
    """Counters for reporting; ``reset`` and ``blackholed`` count flows hit by a fault, not packets."""

    accepted: int = 0
    active: int = 0
    reset: int = 0  # flows RST because they idled past the timeout or by reset_now()
    blackholed: int = 0  # flows that started discarding (idle expiry or blackhole_now())
    connect_failed: int = 0  # flows RST because the upstream could not be reached
    lifetime_closed: int = 0  # flows RST because they reached max_flow_lifetime
    user_timeout: int = 0  # blackholed flows RST by the emulated client TCP_USER_TIMEOUT
    bytes_forwarded: int = 0
    bytes_dropped: int = 0


def _check_mode(mode: str) -> Mode:
    if mode not in MODES:
        raise UsageError(f"unknown fault mode {mode!r}; expected one of {', '.join(MODES)}")
    return mode


def _check_seconds(name: str, value: float | None) -> float | None:
    if value is not None and not value > 0:
        raise UsageError(f"{name} must be a positive number of seconds, got {value!r}")
    return value


def _fmt_secs(seconds: float) -> str:
    # Time-scaled scenarios use 1-3 s timeouts, where one decimal hides the difference that matters.
    return f"{seconds:.1f}" if seconds >= 10 else f"{seconds:.2f}"


def _fmt_addr(addr: object) -> str:
    if isinstance(addr, tuple) and len(addr) >= 2:
        host = str(addr[0])
        return f"[{host}]:{addr[1]}" if ":" in host else f"{host}:{addr[1]}"
    return str(addr)


def _send_rst(transport: asyncio.Transport) -> None:
    """Close with a TCP RST instead of a FIN, as a middlebox without state for the flow answers."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass  # already dead: there is nothing left to reset
    transport.abort()


class _Side(asyncio.Protocol):
    """One socket of a flow; it only relays events to the flow, which holds all the decisions."""

    def __init__(self, flow: _Flow, is_client: bool) -> None:
        self.flow = flow
        self.is_client = is_client
        self.transport: asyncio.Transport | None = None
        self.eof = False
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.flow.on_made(self)

    def data_received(self, data: bytes) -> None:
        self.flow.on_data(self, data)

    def eof_received(self) -> bool:
        return self.flow.on_eof(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.flow.on_lost(self, exc)

    def pause_writing(self) -> None:
        # Backpressure: stop reading the other socket while this one cannot keep up.
        self.flow.set_peer_reading(self, False)

    def resume_writing(self) -> None:
        self.flow.set_peer_reading(self, True)


class _Flow:
    """One client connection and the upstream connection made for it."""

    def __init__(self, proxy: FaultProxy, flow_id: int) -> None:
        self.proxy = proxy
        self.id = flow_id
        self.loop = proxy._loop_or_raise()
        self.client = _Side(self, is_client=True)
        self.upstream: _Side | None = None
        self.peer = "?"
        self.started = self.loop.time()
        self.last_activity = self.started
        self.blackholed = False
        self.closing = False
        self.connect_task: asyncio.Task[None] | None = None
        self.lifetime_timer: asyncio.TimerHandle | None = None
        self.user_timer: asyncio.TimerHandle | None = None
        self.finished: asyncio.Future[None] = self.loop.create_future()

    # -- socket events -------------------------------------------------------------------------

    def on_made(self, side: _Side) -> None:
        if not side.is_client:
            self.upstream = side
            assert side.transport is not None
            if self.closing:  # the client left while we were dialling
                side.transport.abort()
            # Some servers speak first; their greeting must not look like bytes after a long idle.
            self.last_activity = self.loop.time()
            return
        assert side.transport is not None
        self.peer = _fmt_addr(side.transport.get_extra_info("peername"))
        # Hold client bytes in the kernel until there is somewhere to send them.
        side.transport.pause_reading()
        self.proxy._register(self)
        if self.closing:  # accepted while the proxy was stopping
            return
        self.connect_task = self.loop.create_task(self._connect(), name=f"fault-proxy-connect-{self.id}")
        lifetime = self.proxy.max_flow_lifetime
        if lifetime is not None:
            self.lifetime_timer = self.loop.call_later(lifetime, self._lifetime_reached)

    def on_data(self, side: _Side, data: bytes) -> None:
        stats = self.proxy.stats
        if self.closing or self.blackholed:
            stats.bytes_dropped += len(data)
            if self.blackholed and side.is_client:
                self._arm_user_timeout()
            return
        now = self.loop.time()
        if self._expired_at(now):
            stats.bytes_dropped += len(data)
            self._expire(now, "client" if side.is_client else "upstream")
            if self.blackholed and side.is_client:
                self._arm_user_timeout()
            return
        peer = self._peer_of(side)
        if peer is None or peer.transport is None or peer.transport.is_closing():
            stats.bytes_dropped += len(data)
            return
        peer.transport.write(data)
        self.last_activity = now
        stats.bytes_forwarded += len(data)

    def on_eof(self, side: _Side) -> bool:
        side.eof = True
        now = self.loop.time()
        if not self.closing and not self.blackholed and self._expired_at(now):
            self._expire(now, "client" if side.is_client else "upstream")
        if self.closing:
            return False
        if self.blackholed:
            if side.is_client:
                self.close()  # the client hung up: nothing is left to keep the backend for
                return False
            return True  # the upstream's FIN is swallowed too; the client keeps waiting
        peer = self._peer_of(side)
        if peer is None or peer.transport is None or peer.transport.is_closing():
            self.close()
            return False
        if peer.eof:  # both directions are finished
            self.close()
            return False
        # Forward the half-close so protocols that shut down one direction keep working.
        if peer.transport.can_write_eof():
            peer.transport.write_eof()
        else:
            self.close()
            return False
        self.last_activity = now
        return True

    def on_lost(self, side: _Side, exc: Exception | None) -> None:
        if not self.closing:
            if side.is_client:
                self.close()
            elif self.blackholed:
                pass  # a blackholed client must not learn that the upstream went away
            elif exc is not None:
                self._reset_client()  # pass the upstream's RST on as one
            else:
                self.close()
        self._maybe_finished()

    def set_peer_reading(self, side: _Side, reading: bool) -> None:
        peer = self._peer_of(side)
        if peer is None or peer.transport is None or peer.transport.is_closing():
            return
        if reading:
            peer.transport.resume_reading()
        else:
            peer.transport.pause_reading()

    # -- faults ----------------------------------------------------------------------------------

    def _expired_at(self, now: float) -> bool:
        timeout = self.proxy.idle_timeout
        return timeout is not None and self.proxy.mode != "pass" and now - self.last_activity > timeout

    def _expire(self, now: float, trigger: str) -> None:
        timeout = self.proxy.idle_timeout
        assert timeout is not None
        idle = f"idle {_fmt_secs(now - self.last_activity)} s > {timeout:g} s"
        if self.proxy.mode == "reset":
            self.reset(f"{idle}: reset (next bytes came from the {trigger})")
        else:
            self.blackhole(f"{idle}: blackhole (discarding from now on)")

    def reset(self, why: str) -> None:
        if self.closing:
            return
        self.proxy.stats.reset += 1
        self.proxy._emit(f"flow {self.id} from {self.peer} {why}")
        self._reset_client()

    def blackhole(self, why: str) -> None:
        if self.closing or self.blackholed:
            return
        self.blackholed = True
        self.proxy.stats.blackholed += 1
        self.proxy._emit(f"flow {self.id} from {self.peer} {why}")
        # Keep draining both sockets so discarded bytes never pile up in kernel buffers.
        for side in (self.client, self.upstream):
            if side is not None and side.transport is not None and not side.transport.is_closing():
                side.transport.resume_reading()

    def _arm_user_timeout(self) -> None:
        # Loopback acknowledges every byte, so the client's kernel never sees the unacknowledged data
        # that makes it give up on a real path; stand in for it once the client has sent into the hole.
        timeout = self.proxy.client_user_timeout
        if timeout is None or self.user_timer is not None or self.closing:
            return
        self.user_timer = self.loop.call_later(timeout, self._user_timeout_reached)

    def _user_timeout_reached(self) -> None:
        if self.closing:
            return
        self.proxy.stats.user_timeout += 1
        timeout = self.proxy.client_user_timeout
        assert timeout is not None
        self.proxy._emit(
            f"flow {self.id} from {self.peer}: client data unacknowledged for {_fmt_secs(timeout)} s "
            "(emulated TCP_USER_TIMEOUT): reset"
        )
        self._reset_client()

    def _lifetime_reached(self) -> None:
        if self.closing:
            return
        self.proxy.stats.lifetime_closed += 1
        lifetime = self.proxy.max_flow_lifetime
        self.proxy._emit(f"flow {self.id} from {self.peer} reached max flow lifetime {lifetime:g} s: reset")
        self._reset_client()

    def _reset_client(self) -> None:
        self._begin_close()
        if self.client.transport is not None:
            _send_rst(self.client.transport)
        if self.upstream is not None and self.upstream.transport is not None:
            self.upstream.transport.abort()
        self._maybe_finished()

    def close(self) -> None:
        """Close both sockets politely (FIN after pending bytes are flushed)."""
        if self.closing:
            return
        self._begin_close()
        for side in (self.client, self.upstream):
            if side is not None and side.transport is not None:
                side.transport.close()
        self._maybe_finished()

    def abort(self) -> None:
        """Drop both sockets now; used by stop()."""
        self._begin_close()
        for side in (self.client, self.upstream):
            if side is not None and side.transport is not None:
                side.transport.abort()
        self._maybe_finished()

    # -- plumbing --------------------------------------------------------------------------------

    async def _connect(self) -> None:
        proxy = self.proxy
        try:
            await asyncio.wait_for(
                self.loop.create_connection(
                    lambda: _Side(self, is_client=False), proxy.upstream_host, proxy.upstream_port
                ),
                proxy.connect_timeout,
            )
        except (TimeoutError, OSError) as exc:
            if not self.closing:
                proxy.stats.connect_failed += 1
                reason = str(exc) or type(exc).__name__
                proxy._emit(
                    f"flow {self.id} from {self.peer}: cannot reach upstream "
                    f"{proxy.upstream_host}:{proxy.upstream_port} ({reason}): reset"
                )
                self._reset_client()
            return
        finally:
            self.connect_task = None
            self._maybe_finished()
        if self.closing:
            return  # on_made already aborted the fresh upstream socket
        proxy._emit(f"flow {self.id} from {self.peer}: connected to {proxy.upstream_host}:{proxy.upstream_port}")
        assert self.client.transport is not None
        if not self.client.transport.is_closing():
            self.client.transport.resume_reading()

    def _peer_of(self, side: _Side) -> _Side | None:
        return self.upstream if side.is_client else self.client

    def _begin_close(self) -> None:
        self.closing = True
        if self.lifetime_timer is not None:
            self.lifetime_timer.cancel()
            self.lifetime_timer = None
        if self.user_timer is not None:
            self.user_timer.cancel()
            self.user_timer = None
        if self.connect_task is not None and self.connect_task is not asyncio.current_task(self.loop):
            self.connect_task.cancel()

    def _maybe_finished(self) -> None:
        # Done only when no socket of the flow can still be open and no dial is in flight.
        if self.finished.done() or not self.client.lost or self.connect_task is not None:
            return
        if self.upstream is not None and not self.upstream.lost:
            return  # its connection_lost will call us again
        self.finished.set_result(None)
        self.proxy._unregister(self)
        self.proxy._emit(
            f"flow {self.id} from {self.peer}: closed after {_fmt_secs(self.loop.time() - self.started)} s"
        )


class FaultProxy:
    """A TCP proxy on one event loop whose flows expire after ``idle_timeout`` seconds of silence.

    ``idle_timeout=None`` never expires a flow (faults then come only from blackhole_now/reset_now).
    ``max_flow_lifetime`` RSTs any flow that old whatever its mode, so a blackholed client that never
    gives up cannot hold a backend forever. ``connect_timeout`` bounds the dial to the upstream; a
    failed dial RSTs the client. ``client_user_timeout`` emulates the client's TCP_USER_TIMEOUT on a
    blackholed flow: loopback acknowledges every byte, so a client kernel would never give up; with it
    set, a client that sends into the hole is RST that many seconds later, as its kernel would give up
    (ETIMEDOUT) on a path that really drops packets. ``on_event`` receives one-line messages (also logged at INFO).

    Example::

        async with FaultProxy("127.0.0.1", 5432, idle_timeout=2.0, mode="reset") as proxy:
            dsn = f"postgresql://app@127.0.0.1:{proxy.port}/app"
    """

    def __init__(
        self,
        upstream_host: str,
        upstream_port: int,
        *,
        idle_timeout: float | None,
        mode: Mode = "reset",
        listen_host: str = "127.0.0.1",
        listen_port: int = 0,
        connect_timeout: float = 5.0,
        max_flow_lifetime: float | None = None,
        on_event: EventHandler | None = None,
        client_user_timeout: float | None = None,
    ) -> None:
        self.upstream_host = upstream_host
        self.upstream_port = upstream_port
        self.idle_timeout = _check_seconds("idle_timeout", idle_timeout)
        self.mode: Mode = _check_mode(mode)
        self.listen_host = listen_host
        self.listen_port = listen_port
        _check_seconds("connect_timeout", connect_timeout)
        self.connect_timeout = connect_timeout
        self.max_flow_lifetime = _check_seconds("max_flow_lifetime", max_flow_lifetime)
        self.client_user_timeout = _check_seconds("client_user_timeout", client_user_timeout)
        self.on_event = on_event
        self.stats = ProxyStats()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._flows: dict[int, _Flow] = {}
        self._next_id = 1
        self._port: int | None = None
        self._stopped = False

    async def start(self) -> Self:
        """Bind the listener; with ``listen_port=0`` the OS picks a free port (see :attr:`port`)."""
        if self._server is not None:
            return self
        self._loop = asyncio.get_running_loop()
        self._stopped = False
        self._server = await self._loop.create_server(self._new_client, self.listen_host, self.listen_port)
        # "localhost" may bind several sockets; with port 0 they differ, so report the first one.
        self._port = int(self._server.sockets[0].getsockname()[1])
        return self

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FaultProxy.port is known only after start()")
        return self._port

    @property
    def active_flows(self) -> int:
        return len(self._flows)

    async def stop(self) -> None:
        """Close the listener and every flow; safe to call twice or before start()."""
        if self._stopped or self._server is None:
            return
        self._stopped = True
        server, self._server = self._server, None
        server.close()
        flows = list(self._flows.values())
        tasks = [f.connect_task for f in flows if f.connect_task is not None]
        for flow in flows:
            flow.abort()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        pending = [f.finished for f in flows if not f.finished.done()]
        if pending:
            # Aborted sockets are closed by callbacks on the next loop turns; wait so none leaks.
            await asyncio.wait(pending, timeout=_STOP_GRACE_SECONDS)
        await server.wait_closed()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def set_mode(self, mode: Mode) -> None:
        """Change what happens to flows that expire from now on; flows already hit stay hit."""
        self.mode = _check_mode(mode)

    def set_idle_timeout(self, idle_timeout: float | None) -> None:
        """Change the idle timeout; existing flows are judged against the new value at their next bytes."""
        self.idle_timeout = _check_seconds("idle_timeout", idle_timeout)

    def blackhole_now(self) -> None:
        """Start discarding on every existing flow, as a network partition mid-run."""
        for flow in list(self._flows.values()):
            flow.blackhole("blackhole_now: discarding from now on")

    def reset_now(self) -> None:
        """RST every existing client connection now and close its upstream."""
        for flow in list(self._flows.values()):
            flow.reset("reset_now: reset")

    def _new_client(self) -> asyncio.Protocol:
        flow = _Flow(self, self._next_id)
        self._next_id += 1
        return flow.client

    def _register(self, flow: _Flow) -> None:
        self._flows[flow.id] = flow
        self.stats.accepted += 1
        self.stats.active = len(self._flows)
        if self._stopped:  # accepted in the same loop turn as stop(): do not let it outlive us
            flow.abort()

    def _unregister(self, flow: _Flow) -> None:
        self._flows.pop(flow.id, None)
        self.stats.active = len(self._flows)

    def _loop_or_raise(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError("FaultProxy is not started")
        return self._loop

    def _emit(self, message: str) -> None:
        _log.info("%s", message)
        if self.on_event is not None:
            self.on_event(message)


class ThreadedFaultProxy:
    """A :class:`FaultProxy` on its own event loop in a daemon thread, for sync code and tests.

    Controls block until the proxy thread has applied them, so a test can act right after.
    ``on_event`` is called on the proxy thread.
    """

    def __init__(
        self,
        upstream_host: str,
        upstream_port: int,
        *,
        idle_timeout: float | None,
        mode: Mode = "reset",
        listen_host: str = "127.0.0.1",
        listen_port: int = 0,
        connect_timeout: float = 5.0,
        max_flow_lifetime: float | None = None,
        on_event: EventHandler | None = None,
        client_user_timeout: float | None = None,
    ) -> None:
        # Built here so argument errors surface in the caller's thread, before any thread starts.
        self._proxy = FaultProxy(
            upstream_host,
            upstream_port,
            idle_timeout=idle_timeout,
            mode=mode,
            listen_host=listen_host,
            listen_port=listen_port,
            connect_timeout=connect_timeout,
            max_flow_lifetime=max_flow_lifetime,
            on_event=on_event,
            client_user_timeout=client_user_timeout,
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        if self._thread is not None:
            return self
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=self._run, args=(loop,), name="pool-doctor-fault-proxy", daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread
        try:
            asyncio.run_coroutine_threadsafe(self._proxy.start(), loop).result(_THREAD_CALL_TIMEOUT_SECONDS)
        except BaseException:
            self._shutdown_thread()
            raise
        return self

    def stop(self) -> None:
        """Close every flow and the listener, then end the thread; safe to call twice."""
        if self._loop is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._proxy.stop(), self._loop).result(_THREAD_CALL_TIMEOUT_SECONDS)
        finally:
            self._shutdown_thread()

    @property
    def port(self) -> int:
        return self._proxy.port

    @property
    def stats(self) -> ProxyStats:
        """A snapshot, copied on the proxy thread so the counters agree with each other."""
        if self._loop is None:
            return dataclasses.replace(self._proxy.stats)
        return self._call(lambda: dataclasses.replace(self._proxy.stats))

    def set_mode(self, mode: Mode) -> None:
        _check_mode(mode)  # raise in the caller's thread, not on the loop
        self._call(lambda: self._proxy.set_mode(mode))

    def set_idle_timeout(self, idle_timeout: float | None) -> None:
        _check_seconds("idle_timeout", idle_timeout)
        self._call(lambda: self._proxy.set_idle_timeout(idle_timeout))

    def blackhole_now(self) -> None:
        self._call(self._proxy.blackhole_now)

    def reset_now(self) -> None:
        self._call(self._proxy.reset_now)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _call(self, fn: Callable[[], _T]) -> _T:
        loop = self._loop
        if loop is None:
            raise RuntimeError("ThreadedFaultProxy is not started")
        done: concurrent.futures.Future[_T] = concurrent.futures.Future()

        def run() -> None:
            try:
                done.set_result(fn())
            except BaseException as exc:  # hand every failure back to the calling thread
                done.set_exception(exc)

        loop.call_soon_threadsafe(run)
        return done.result(_THREAD_CALL_TIMEOUT_SECONDS)

    @staticmethod
    def _run(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def _shutdown_thread(self) -> None:
        loop, thread = self._loop, self._thread
        self._loop, self._thread = None, None
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(_THREAD_CALL_TIMEOUT_SECONDS)


async def run_proxy(
    upstream_host: str,
    upstream_port: int,
    *,
    listen_host: str,
    listen_port: int,
    idle_timeout: float | None,
    mode: Mode,
    on_event: EventHandler | None = None,
    connect_timeout: float = 5.0,
    max_flow_lifetime: float | None = None,
) -> None:
    """Serve until cancelled, reporting accepted flows and every fault as one-line messages."""
    proxy = FaultProxy(
        upstream_host,
        upstream_port,
        idle_timeout=idle_timeout,
        mode=mode,
        listen_host=listen_host,
        listen_port=listen_port,
        connect_timeout=connect_timeout,
        max_flow_lifetime=max_flow_lifetime,
        on_event=on_event,
    )
    try:
        await proxy.start()
    except OSError as exc:
        raise UsageError(f"cannot listen on {listen_host}:{listen_port}: {exc.strerror or exc}") from exc
    timeout = "none" if idle_timeout is None else f"{idle_timeout:g} s"
    proxy._emit(
        f"listening on {_fmt_addr((listen_host, proxy.port))} -> {_fmt_addr((upstream_host, upstream_port))} "
        f"(mode {mode}, idle timeout {timeout})"
    )
    try:
        await asyncio.Event().wait()  # until cancelled
    finally:
        await proxy.stop()
        s = proxy.stats
        proxy._emit(
            f"stopped: {s.accepted} flows accepted, {s.reset} reset, {s.blackholed} blackholed, "
            f"{s.connect_failed} upstream connect failures"
        )
