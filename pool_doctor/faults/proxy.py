"""The fault proxy on one event loop: listens, accepts, dials the upstream for each client, and lets each
flow (faults/flow.py) decide what its bytes meet."""

from __future__ import annotations

import asyncio
import logging
from typing import Self

from pool_doctor.faults.flow import Flow
from pool_doctor.faults.model import EventHandler, Mode, ProxyStats, check_mode, check_seconds

__all__ = ["FaultProxy"]

_log = logging.getLogger(__name__)

# How long stop() waits for sockets to report closed; aborted sockets close within one loop turn.
_STOP_GRACE_SECONDS = 5.0
# Loop turns an accepted connection takes to get its transport: the accept's task runs on the next turn.
_ACCEPT_TURNS = 2


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
        self.idle_timeout = check_seconds("idle_timeout", idle_timeout)
        self.mode: Mode = check_mode(mode)
        self.listen_host = listen_host
        self.listen_port = listen_port
        check_seconds("connect_timeout", connect_timeout)
        self.connect_timeout = connect_timeout
        self.max_flow_lifetime = check_seconds("max_flow_lifetime", max_flow_lifetime)
        self.client_user_timeout = check_seconds("client_user_timeout", client_user_timeout)
        self.on_event = on_event
        self.stats = ProxyStats()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._flows: dict[int, Flow] = {}
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
        await _stop_accepting(server)
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
        self.mode = check_mode(mode)

    def set_idle_timeout(self, idle_timeout: float | None) -> None:
        """Change the idle timeout; existing flows are judged against the new value at their next bytes."""
        self.idle_timeout = check_seconds("idle_timeout", idle_timeout)

    def blackhole_now(self) -> None:
        """Start discarding on every existing flow, as a network partition mid-run."""
        for flow in list(self._flows.values()):
            flow.blackhole("blackhole_now: discarding from now on")

    def reset_now(self) -> None:
        """RST every existing client connection now and close its upstream."""
        for flow in list(self._flows.values()):
            flow.reset("reset_now: reset")

    def _new_client(self) -> asyncio.Protocol:
        flow = Flow(self, self._next_id)
        self._next_id += 1
        return flow.client

    def _register(self, flow: Flow) -> None:
        self._flows[flow.id] = flow
        self.stats.accepted += 1
        self.stats.active = len(self._flows)
        if self._stopped:  # accepted in the same loop turn as stop(): do not let it outlive us
            flow.abort()

    def _unregister(self, flow: Flow) -> None:
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


async def _stop_accepting(server: asyncio.Server) -> None:
    """No new accepts, then the loop turns that give connections accepted before it their transports (they
    register and, the proxy stopping, are aborted). asyncio makes an accepted socket's transport a turn after
    the accept, and on a server closed by then Server._attach asserts and the socket is left open, owned by
    nobody (CPython 3.11: a Ctrl-C as a client connects). Loops without remove_reader just close."""
    loop = asyncio.get_running_loop()
    for sock in server.sockets:
        try:
            loop.remove_reader(sock.fileno())
        except (NotImplementedError, RuntimeError, ValueError, OSError):
            return
    for _ in range(_ACCEPT_TURNS):
        await asyncio.sleep(0)
