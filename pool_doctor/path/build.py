"""From what was read (server, pooler) and what the app said (pool, network) to the path and its pools."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from pool_doctor.path.model import Hop, Layer, Limit, Path, Provenance, Shape
from pool_doctor.path.policy import PoolPolicy

if TYPE_CHECKING:
    from pool_doctor.inspect.pooler import PoolerFacts
    from pool_doctor.rules.facts import Facts

APP = "app"
POOLER = "pooler"


def server_limits(facts: Facts) -> list[Limit]:
    """What the server does to a session idle outside a transaction, as the app's role sees it."""
    idle = facts.server.setting("idle_session_timeout")
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


def network_limits(facts: Facts) -> list[Limit]:
    """The middlebox's idle timeout: a named preset's documented one, or what the user gave (which wins)."""
    network = facts.settings.network
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


def platform_limits(facts: Facts) -> list[Limit]:
    """What the platform's vendor documents about ending connections (the catalogue's published numbers)."""
    return facts.platform.entry.limits() if facts.platform is not None else []


def pooler_client_limits(pooler: PoolerFacts) -> list[Limit]:
    idle = pooler.seconds("client_idle_timeout")
    if not idle:
        return []
    return [
        Limit(
            "client_idle_timeout",
            idle,
            Shape.CLOSE,
            Layer.POOLER,
            pooler.product or "PgBouncer",
            "SHOW CONFIG",
            Provenance.POOLER,
        )
    ]


def pgbouncer_server_pool(pooler: PoolerFacts) -> PoolPolicy:
    """PgBouncer's own pool of server connections, from SHOW CONFIG when it was read (else its defaults)."""
    from pool_doctor.stacks import pgbouncer

    version = (pooler.product or "").removeprefix("PgBouncer ").strip() or None
    values = {key: value for key, value in pooler.config.items() if key in pgbouncer.DEFAULTS}
    return pgbouncer.policy(values, version=version)


def build_path(facts: Facts) -> Path:
    """Hops from the app to the server; each limit paired with the pool that meets it.

    Behind transaction pooling the server's idle killers end the pooler's server connections, not the
    app's; in session pooling the pooler closes the app's connection with its server's, so they reach it.
    """
    server = server_limits(facts)
    network = network_limits(facts)
    faced: list[tuple[str, Limit]] = [(APP, limit) for limit in network]
    hops = [Hop("app", facts.app_policy.label)]
    if network:
        preset = facts.settings.network.preset
        hops.append(Hop("middlebox", preset.name if preset else "a middlebox", tuple(network), (network[0].source,)))
    if facts.platform is not None:
        # The platform's documented limits face the app's connections: a proxy's idle client timeout, a
        # compute's suspend, a proxy restart all end the app's own sessions.
        documented = platform_limits(facts)
        faced += [(APP, limit) for limit in documented]
        entry = facts.platform.entry
        unpublished = tuple(f"{number.name}: {number.note}" for number in entry.unpublished() if number.note)
        hops.append(Hop("platform", entry.name, tuple(documented), (*facts.platform.evidence, *unpublished)))
    pooler = facts.pooler
    if pooler is not None and pooler.present:
        client = pooler_client_limits(pooler)
        faced += [(APP, limit) for limit in client]
        hops.append(Hop("pooler", pooler.label, tuple(client), tuple(pooler.evidence)))
        faced += [(POOLER if pooler.breaks_session_state else APP, limit) for limit in server]
    else:
        faced += [(APP, limit) for limit in server]
    hops.append(
        Hop(
            "server",
            f"PostgreSQL {facts.server.version}",
            tuple(server),
            (f"role {facts.server.role}, database {facts.server.database}",),
        )
    )
    return Path(tuple(hops), tuple(faced))
