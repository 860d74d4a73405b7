"""`pool-doctor proxy`: the fault proxy in the foreground until cancelled, saying what happens as it happens."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any

from pool_doctor.errors import UsageError
from pool_doctor.faults.model import EventHandler, Mode, fmt_addr
from pool_doctor.faults.proxy import FaultProxy

__all__ = ["run_proxy", "serve_in_foreground"]


def serve_in_foreground(run: Callable[[Coroutine[Any, Any, None]], None], **proxy: Any) -> None:
    """`pool-doctor proxy`: run_proxy until Ctrl-C or kill (SIGTERM), events on stderr one line each.

    Stops cleanly also when started in the background by a script, whose shell hands it SIGINT ignored:
    both signals end up as asyncio's own Ctrl-C handling (the caller puts the handlers back).
    """

    def show(message: str) -> None:
        sys.stderr.write(f"{time.strftime('%H:%M:%S')} {message}\n")
        sys.stderr.flush()

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: os.kill(os.getpid(), signal.SIGINT))
    try:
        run(run_proxy(**proxy, on_event=show))
    except KeyboardInterrupt:
        pass  # Ctrl-C is how a foreground proxy ends; run_proxy has closed every flow and said so


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
        f"listening on {fmt_addr((listen_host, proxy.port))} -> {fmt_addr((upstream_host, upstream_port))} "
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
