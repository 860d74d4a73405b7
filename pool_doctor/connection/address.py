"""Where a connection goes: the name-resolution seam. Tests replace `resolve_address` to send a real
service's host name and port to a local stand-in, so no traffic reaches the service."""

from __future__ import annotations

from typing import Any


def resolve_address(host: str, port: int) -> tuple[str, int]:
    """Where a connection to host:port goes: itself. The name-resolution seam: tests replace this function
    to send a real service's host name and port to a local stand-in, so no traffic reaches the service."""
    return host, port


def resolved(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The connect call's host and port through `resolve_address` (one TCP host; sockets and lists as given)."""
    host, port = kwargs.get("host"), kwargs.get("port")
    if not isinstance(host, str) or not host or "," in host or host.startswith(("/", "@")):
        return kwargs
    try:
        number = int(port) if port is not None and str(port).strip() else 5432
    except ValueError:
        return kwargs
    new_host, new_port = resolve_address(host, number)
    if (new_host, new_port) == (host, number):
        return kwargs
    return {**kwargs, "host": new_host, "port": new_port if isinstance(port, int) else str(new_port)}
