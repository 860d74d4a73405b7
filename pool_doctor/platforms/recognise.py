"""Which catalogue entry a connection's host name and port name, and the evidence for it. Pure functions.

Only the name the user wrote is read: no DNS, no traffic. A host that merely contains a vendor's name
("neon.example.com") is not that vendor: every rule anchors on the vendor's own domain suffix.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from pool_doctor.platforms.catalogue import by_key, middlebox_preset
from pool_doctor.platforms.entry import Entry

__all__ = ["Recognised", "by_key", "chosen", "middlebox_preset", "recognise"]

# Supabase project refs are 20 lower-case letters; Supavisor routes a pooled login by the user's ".<ref>".
_SUPABASE_REF = r"[a-z0-9]{20}"
_SUPABASE_DIRECT = re.compile(r"^db\.(?P<ref>[a-z0-9]+)\.supabase\.co$")
_SUPABASE_POOLER = re.compile(r"^aws-(?:\d+-)?(?P<region>[a-z]{2}-[a-z]+-\d+)\.pooler\.supabase\.com$")
_SUPABASE_USER = re.compile(rf"^[a-z0-9_]+\.(?P<ref>{_SUPABASE_REF})$")
_NEON = re.compile(r"^(?P<endpoint>ep-[a-z0-9-]+?)(?P<pooler>-pooler)?\.(?:[a-z0-9-]+\.)*neon\.tech$")
_RDS_PROXY = re.compile(r"\.proxy-[a-z0-9]+\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)\.rds\.amazonaws\.com(?:\.cn)?$")
_RDS = re.compile(r"^[a-z0-9.-]+\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)\.rds\.amazonaws\.com(?:\.cn)?$")
_AZURE = re.compile(r"^[a-z0-9-]+\.postgres\.database\.(?:azure\.com|chinacloudapi\.cn)$")
_FLY = re.compile(r"^(?P<which>pgbouncer|direct)\.(?P<cluster>[a-z0-9-]+)\.flympg\.net$")
_DIGITALOCEAN = re.compile(r"^[a-z0-9-]+(?:\.[a-z0-9-]+)*\.db\.ondigitalocean\.com$")
_RENDER = re.compile(r"^dpg-[a-z0-9]+-a(?:\.(?P<region>[a-z0-9]+)-postgres\.render\.com)?$")
_RAILWAY = re.compile(r"^[a-z0-9-]+\.(?:proxy\.rlwy\.net|railway\.internal)$")
_AIVEN = re.compile(r"^[a-z0-9-]+(?:\.[a-z0-9-]+)*\.aivencloud\.com$")
_CLOUD_SQL_SOCKET = re.compile(r"^/cloudsql/(?P<instance>[^/:]+:[^/:]+:[^/:]+)/?$")

SUPAVISOR_SESSION_PORT = 5432
SUPAVISOR_TRANSACTION_PORT = 6543
AZURE_PGBOUNCER_PORT = 6432
DIGITALOCEAN_PORT = 25060
DIGITALOCEAN_POOL_PORT = 25061


@dataclass(frozen=True)
class Recognised:
    """A catalogue entry the connection runs on, and the lines that say why."""

    entry: Entry
    evidence: tuple[str, ...]  # "host ends with .pooler.supabase.com and port 6543: Supavisor transaction mode"

    def to_json(self) -> dict[str, object]:
        return {"key": self.entry.key, "name": self.entry.name, "evidence": list(self.evidence)}


def chosen(key: str, origin: str) -> Recognised:
    """The platform the user named (`origin`: "--platform", "[network] platform"), as a recognition."""
    entry = by_key(key)
    return Recognised(entry, (f"{origin} = {entry.key!r}: {entry.name}",))


def _normalise(host: str) -> str:
    # DNS names are case-insensitive and may be written fully qualified ("db.x.supabase.co."); a socket
    # directory (/cloudsql/...) is a path and keeps its case.
    name = host.strip()
    return name if name.startswith("/") else name.lower().rstrip(".")


def _supabase(host: str, port: int, user: str | None) -> Recognised | None:
    direct = _SUPABASE_DIRECT.match(host)
    if direct:
        lines = [f"host db.{direct['ref']}.supabase.co is a Supabase direct connection (project {direct['ref']})"]
        if port != 5432:
            lines.append(
                f"port {port} is not the direct port 5432 (a dedicated pooler's port? its limits are not published)"
            )
        return Recognised(by_key("supabase"), tuple(lines))
    pooler = _SUPABASE_POOLER.match(host)
    if not pooler:
        return None
    if port == SUPAVISOR_TRANSACTION_PORT:
        entry, mode = by_key("supavisor-transaction"), "transaction"
    elif port == SUPAVISOR_SESSION_PORT:
        entry, mode = by_key("supavisor-session"), "session"
    else:
        return None  # Supavisor listens only on 5432 and 6543: another port is not a Supabase pooler
    lines = [f"host ends with .pooler.supabase.com and port {port}: Supavisor {mode} mode (region {pooler['region']})"]
    if user is not None:
        named = _SUPABASE_USER.match(user)
        if named:
            lines.append(f"user {user} names the Supabase project {named['ref']} (Supavisor routes by it)")
        else:
            lines.append(f"user {user} has no .<project-ref> suffix: Supavisor needs postgres.<project-ref>")
    return Recognised(entry, tuple(lines))


def _neon(host: str, port: int, user: str | None) -> Recognised | None:
    match = _NEON.match(host)
    if not match:
        return None
    if match["pooler"]:
        return Recognised(
            by_key("neon-pooler"),
            (f"host {host} is a Neon endpoint ({match['endpoint']}) with -pooler: Neon's PgBouncer, transaction mode",),
        )
    return Recognised(by_key("neon"), (f"host {host} is a Neon compute endpoint ({match['endpoint']}), direct",))


def _aws(host: str, port: int, user: str | None) -> Recognised | None:
    proxy = _RDS_PROXY.search(host)
    if proxy and _RDS.match(host):
        return Recognised(
            by_key("rds-proxy"),
            (f"host ends with .proxy-<id>.{proxy['region']}.rds.amazonaws.com: an RDS Proxy endpoint",),
        )
    rds = _RDS.match(host)
    if not rds:
        return None
    what = "an Aurora cluster endpoint" if ".cluster-" in host else "an RDS / Aurora endpoint"
    return Recognised(by_key("rds"), (f"host ends with .{rds['region']}.rds.amazonaws.com: {what}",))


def _azure(host: str, port: int, user: str | None) -> Recognised | None:
    if not _AZURE.match(host):
        return None
    if port == AZURE_PGBOUNCER_PORT:
        return Recognised(
            by_key("azure-pgbouncer"),
            (f"host ends with .postgres.database.azure.com and port {port}: the flexible server's built-in PgBouncer",),
        )
    return Recognised(
        by_key("azure-flexible"),
        (f"host ends with .postgres.database.azure.com and port {port}: Azure flexible server, direct",),
    )


FLY_POOLER = "pgbouncer"  # pgbouncer.<cluster>.flympg.net: Fly's pooler; direct.<cluster>: the server


def _fly(host: str, port: int, user: str | None) -> Recognised | None:
    match = _FLY.match(host)
    if not match:
        return None
    if match["which"] == FLY_POOLER:
        return Recognised(
            by_key("fly-mpg"),
            (f"host pgbouncer.{match['cluster']}.flympg.net: Fly Managed Postgres through its PgBouncer",),
        )
    return Recognised(
        by_key("fly-mpg-direct"),
        (f"host direct.{match['cluster']}.flympg.net: Fly Managed Postgres, direct (bypasses PgBouncer)",),
    )


def _digitalocean(host: str, port: int, user: str | None) -> Recognised | None:
    if not _DIGITALOCEAN.match(host):
        return None
    if port == DIGITALOCEAN_POOL_PORT:
        return Recognised(
            by_key("digitalocean-pool"),
            (f"host ends with .db.ondigitalocean.com and port {port}: a DigitalOcean connection pool (PgBouncer)",),
        )
    line = f"host ends with .db.ondigitalocean.com and port {port}: DigitalOcean Managed PostgreSQL"
    if port != DIGITALOCEAN_PORT:
        line += f" (not the usual direct port {DIGITALOCEAN_PORT})"
    return Recognised(by_key("digitalocean"), (line,))


def _host_rule(pattern: re.Pattern[str], key: str, says: str) -> Callable[[str, int, str | None], Recognised | None]:
    def rule(host: str, port: int, user: str | None) -> Recognised | None:
        return Recognised(by_key(key), (f"host {host} {says}",)) if pattern.match(host) else None

    return rule


def _cloud_sql(host: str, port: int, user: str | None) -> Recognised | None:
    match = _CLOUD_SQL_SOCKET.match(host)
    if not match:
        return None
    return Recognised(
        by_key("cloud-sql"), (f"host is the Cloud SQL connector socket for instance {match['instance']}",)
    )


# CloudNativePG's read-write Service, by its short name or within the cluster's DNS.
_CNPG_RW = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?-rw(\.[a-z0-9-]+(\.svc(\.cluster\.local)?)?)?$")


# Most specific first: an RDS Proxy host is also an rds.amazonaws.com host.
_RULES: tuple[Callable[[str, int, str | None], Recognised | None], ...] = (
    _supabase,
    _neon,
    _aws,
    _azure,
    _fly,
    _digitalocean,
    _host_rule(_RENDER, "render", "is a Render PostgreSQL host (dpg-<id>-a)"),
    _host_rule(_RAILWAY, "railway", "is a Railway host (TCP proxy or private network)"),
    _host_rule(_AIVEN, "aiven", "ends with .aivencloud.com: Aiven for PostgreSQL"),
    _cloud_sql,
    _host_rule(_CNPG_RW, "cloudnativepg", "is a CloudNativePG -rw Service (the cluster's primary)"),
)


def recognise(host: str, port: int, user: str | None = None) -> Recognised | None:
    """The platform the host name and port belong to, or None when they match no known shape."""
    name = _normalise(host)
    for rule in _RULES:
        found = rule(name, port, user)
        if found is not None:
            return found
    return None
