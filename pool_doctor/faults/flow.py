"""One proxied connection (a *flow*): the client's socket, the upstream socket dialled for it, and every
decision about its bytes: forward them, or reset or blackhole the flow once it has idled too long.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from typing import Protocol

from pool_doctor.faults.model import Mode, ProxyStats, fmt_addr, fmt_secs

__all__ = ["Flow", "FlowOwner", "Side"]


class FlowOwner(Protocol):
    """What a flow reads from, and reports to, the proxy that accepted it (`FaultProxy`)."""

    upstream_host: str
    upstream_port: int
    idle_timeout: float | None
    mode: Mode
    connect_timeout: float
    max_flow_lifetime: float | None
    client_user_timeout: float | None
    stats: ProxyStats

    def _loop_or_raise(self) -> asyncio.AbstractEventLoop: ...

    def _register(self, flow: Flow) -> None: ...

    def _unregister(self, flow: Flow) -> None: ...

    def _emit(self, message: str) -> None: ...


def _send_rst(transport: asyncio.Transport) -> None:
    """Close with a TCP RST instead of a FIN, as a middlebox without state for the flow answers."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass  # already dead: there is nothing left to reset
    transport.abort()


class Side(asyncio.Protocol):
    """One socket of a flow; it only relays events to the flow, which holds all the decisions."""

    def __init__(self, flow: Flow, is_client: bool) -> None:
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


class Flow:
    """One client connection and the upstream connection made for it."""

    def __init__(self, proxy: FlowOwner, flow_id: int) -> None:
        self.proxy = proxy
        self.id = flow_id
        self.loop = proxy._loop_or_raise()
        self.client = Side(self, is_client=True)
        self.upstream: Side | None = None
        self.peer = "?"
        self.started = self.loop.time()
        self.last_activity = self.started
        self.blackholed = False
        self.closing = False
        self.connect_task: asyncio.Task[None] | None = None
        self.lifetime_timer: asyncio.TimerHandle | None = None
        self.user_timer: asyncio.TimerHandle | None = None
        self.idle_timer: asyncio.TimerHandle | None = None
        self.finished: asyncio.Future[None] = self.loop.create_future()

    # -- socket events -------------------------------------------------------------------------

    def on_made(self, side: Side) -> None:
        if not side.is_client:
            self.upstream = side
            assert side.transport is not None
            if self.closing:  # the client left while we were dialling
                side.transport.abort()
            # Some servers speak first; their greeting must not look like bytes after a long idle.
            self.last_activity = self.loop.time()
            return
        assert side.transport is not None
        self.peer = fmt_addr(side.transport.get_extra_info("peername"))
        # Hold client bytes in the kernel until there is somewhere to send them.
        side.transport.pause_reading()
        self.proxy._register(self)
        if self.closing:  # accepted while the proxy was stopping
            return
        self.connect_task = self.loop.create_task(self._connect(), name=f"fault-proxy-connect-{self.id}")
        lifetime = self.proxy.max_flow_lifetime
        if lifetime is not None:
            self.lifetime_timer = self.loop.call_later(lifetime, self._lifetime_reached)

    def on_data(self, side: Side, data: bytes) -> None:
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
        self._arm_idle_close()

    def on_eof(self, side: Side) -> bool:
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

    def on_lost(self, side: Side, exc: Exception | None) -> None:
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

    def set_peer_reading(self, side: Side, reading: bool) -> None:
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
        idle = f"idle {fmt_secs(now - self.last_activity)} s > {timeout:g} s"
        if self.proxy.mode == "reset":
            self.reset(f"{idle}: reset (next bytes came from the {trigger})")
        elif self.proxy.mode == "close":
            self.close_idle(idle)
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

    def close_idle(self, idle: str) -> None:
        """What a pooler does at its client_idle_timeout: close the client's connection (FIN), unasked."""
        if self.closing:
            return
        self.proxy.stats.closed += 1
        self.proxy._emit(f"flow {self.id} from {self.peer} {idle}: closed")
        self.close()

    def _arm_idle_close(self) -> None:
        # "close" acts on its own clock, as a pooler's janitor does; reset and blackhole wait for the next bytes.
        timeout = self.proxy.idle_timeout
        if self.proxy.mode != "close" or timeout is None or self.closing:
            return
        if self.idle_timer is not None:
            self.idle_timer.cancel()
        self.idle_timer = self.loop.call_later(timeout + 0.01, self._idle_reached)

    def _idle_reached(self) -> None:
        self.idle_timer = None
        now = self.loop.time()
        if self.proxy.mode != "close" or self.closing:
            return
        if self._expired_at(now):
            self._expire(now, "clock")
        else:
            self._arm_idle_close()

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
            f"flow {self.id} from {self.peer}: client data unacknowledged for {fmt_secs(timeout)} s "
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
                    lambda: Side(self, is_client=False), proxy.upstream_host, proxy.upstream_port
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
        self._arm_idle_close()

    def _peer_of(self, side: Side) -> Side | None:
        return self.upstream if side.is_client else self.client

    def _begin_close(self) -> None:
        self.closing = True
        if self.lifetime_timer is not None:
            self.lifetime_timer.cancel()
            self.lifetime_timer = None
        if self.user_timer is not None:
            self.user_timer.cancel()
            self.user_timer = None
        if self.idle_timer is not None:
            self.idle_timer.cancel()
            self.idle_timer = None
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
        self.proxy._emit(f"flow {self.id} from {self.peer}: closed after {fmt_secs(self.loop.time() - self.started)} s")
