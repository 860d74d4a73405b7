"""The fault proxy on its own event loop in a daemon thread, for sync code and test suites."""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import threading
from collections.abc import Callable
from typing import Self, TypeVar

from pool_doctor.faults.model import EventHandler, Mode, ProxyStats, check_mode, check_seconds
from pool_doctor.faults.proxy import FaultProxy

__all__ = ["ThreadedFaultProxy"]

_T = TypeVar("_T")

# How long ThreadedFaultProxy waits on its loop thread before declaring it stuck.
_THREAD_CALL_TIMEOUT_SECONDS = 30.0


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
        check_mode(mode)  # raise in the caller's thread, not on the loop
        self._call(lambda: self._proxy.set_mode(mode))

    def set_idle_timeout(self, idle_timeout: float | None) -> None:
        check_seconds("idle_timeout", idle_timeout)
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
