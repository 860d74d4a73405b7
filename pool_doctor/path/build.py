"""From what was read (server, pooler) and what the app said (network, platform) to the path: its hops, their
limits, and which pool meets each limit."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from pool_doctor.path.model import Hop, Layer, Limit, Path, Provenance, Shape

if TYPE_CHECKING:
    from pool_doctor.config import NetworkConfig
    from pool_doctor.inspect.pooler import PoolerFacts
    from pool_doctor.model import ServerFacts
    from pool_doctor.platforms import Recognised

APP = "app"
POOLER = "pooler"


def server_limits(server: ServerFacts | None) -> list[Limit]:
    """What the server does to a session idle outside a transaction, as the app's role sees it."""
    if server is None:
        return []
    idle = server.setting("idle_session_timeout")
    if not (idle.is_on and idle.seconds):
        return []
    return [
        Limit(
            "idle_session_timeout",
            idle.seconds,
            Shape.CLOSE,
            Layer.SERVER,
            "PostgreSQL",
            idle.source,
            Provenance.SERVER,
            value=idle.display,
        )
    ]


def network_limits(network: NetworkConfig) -> list[Limit]:
    """The middlebox's idle timeout: a named preset's documented one, or what the user gave (which wins)."""
    if not network.idle_timeout:
        return []
    preset = network.preset
    if preset is None:
        return [
            Limit(
                "idle_timeout",
                network.idle_timeout,
                Shape(network.shape),
                Layer.NETWORK,
                "a middlebox",
                "[network] idle_timeout",
                Provenance.CONFIGURED,
                refreshed_by_keepalives=True,
            )
        ]
    documented = preset.limits()[0]
    if not (network.given("idle_timeout") or network.given("shape")):
        return [replace(documented, source=f"{documented.source}, [network] middlebox = {preset.key!r}")]
    # The user's own number or shape for this middlebox: theirs, with the documented default for reference.
    given = " and ".join(key for key in ("idle_timeout", "shape") if network.given(key))
    return [
        replace(
            documented,
            seconds=network.idle_timeout,
            shape=Shape(network.shape),
            value=None,
            source=f"[network] {given}, over {preset.key!r}'s documented {documented.shown} {documented.shape.value}",
            provenance=Provenance.CONFIGURED,
        )
    ]


def platform_limits(platform: Recognised | None) -> list[Limit]:
    """What the platform's vendor documents about ending connections (the catalogue's published numbers)."""
    return platform.entry.limits() if platform is not None else []


def pooler_client_limits(pooler: PoolerFacts) -> list[Limit]:
    idle = pooler.seconds("client_idle_timeout")
    if not idle:
        return []
    source = pooler.source("client_idle_timeout")
    provenance = (
        Provenance.CONFIGURED
        if "client_idle_timeout" in pooler.configured
        else Provenance.POOLER
        if source == "SHOW CONFIG"
        else Provenance.DOCUMENTED
    )
    return [
        Limit(
            "client_idle_timeout",
            idle,
            Shape.CLOSE,
            Layer.POOLER,
            pooler.product or "PgBouncer",
            source,
            provenance,
        )
    ]


def build_path(
    pool_label: str,
    server_facts: ServerFacts | None,
    network_config: NetworkConfig,
    platform: Recognised | None,
    pooler: PoolerFacts | None,
) -> Path:
    """Hops from the app's pool (`pool_label`) to the server; each limit paired with the pool that meets it.

    Behind transaction pooling the server's idle killers end the pooler's server connections, not the
    app's; in session pooling the pooler closes the app's connection with its server's, so they reach it.
    Without the server's facts (the scan), the path holds what the configuration and the platform say.
    """
    server = server_limits(server_facts)
    network = network_limits(network_config)
    faced: list[tuple[str, Limit]] = [(APP, limit) for limit in network]
    hops = [Hop("app", pool_label)]
    if network:
        preset = network_config.preset
        hops.append(Hop("middlebox", preset.name if preset else "a middlebox", tuple(network), (network[0].source,)))
    if platform is not None:
        # The platform's documented limits face the app's connections: a proxy's idle client timeout, a
        # compute's suspend, a proxy restart all end the app's own sessions.
        documented = platform_limits(platform)
        faced += [(APP, limit) for limit in documented]
        entry = platform.entry
        unpublished = tuple(f"{number.name}: {number.note}" for number in entry.unpublished() if number.note)
        hops.append(Hop("platform", entry.name, tuple(documented), (*platform.evidence, *unpublished)))
    if pooler is not None and pooler.present:
        client = pooler_client_limits(pooler)
        faced += [(APP, limit) for limit in client]
        hops.append(Hop("pooler", pooler.label, tuple(client), tuple(pooler.evidence)))
        faced += [(POOLER if pooler.breaks_session_state else APP, limit) for limit in server]
    else:
        faced += [(APP, limit) for limit in server]
    if server_facts is not None:
        hops.append(
            Hop(
                "server",
                f"PostgreSQL {server_facts.version}",
                tuple(server),
                (f"role {server_facts.role}, database {server_facts.database}",),
            )
        )
    return Path(tuple(hops), tuple(faced))
