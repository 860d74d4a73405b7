"""What each managed service and middlebox documents about ending idle connections. Plain data, no I/O.

Every number carries the public page it comes from. Where a vendor publishes no number the entry says
so (`seconds=None` and a note); a number is never guessed.

Provenance of the numbers (checked while writing this module, with the search tool over the vendors' own
pages unless said otherwise):
  verified against the vendor's page:
    AWS NLB 350 s (60-6000) and TLS listener fixed 350 s; AWS Network Firewall TcpIdleTimeoutSeconds 350 s
    (60-6000, packets dropped, keepalives reset the timer); RDS Proxy IdleClientTimeout 1800 s (1-28800);
    Aurora/RDS tcp_keepalives_idle 300; Azure Load Balancer 4 min (4-100) and silent drop unless TCP reset;
    Azure NAT gateway 4 min (4-120, from the AKS NAT gateway profile reference); Azure PgBouncer on 6432
    and max_prepared_statements 0; kube-proxy conntrack established 24h; Neon scale to zero 5 min and its
    -pooler PgBouncer in transaction mode with 10,000 client connections and protocol-level prepared
    statements; Supavisor 5432 session / 6543 transaction and no prepared statements in transaction mode;
    Fly's recommended lifetime 600 s / idle 300 s and the pgbouncer./direct. host names; DigitalOcean
    pools default to transaction mode; Aiven server keepalives 180/10/6.
  corroborated by third-party write-ups only (not the vendor's page):
    AWS NAT gateway 350 s with RST; GCP Cloud NAT established 1200 s / transitory 30 s (the RouterNat
    API field names are Google's) and its silent drop.
  from shared/FIELD_NOTES.md only:
    Azure PgBouncer pool_mode transaction and server_idle_timeout 600; Neon pooler query_wait_timeout 120;
    RDS tcp_keepalives_interval 30 / count 2; open-source Supavisor defaults; DigitalOcean ports
    25060/25061; Railway's PgBouncer template; Cloud SQL's pool_recycle=1800 samples.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType
from typing import Literal

from pool_doctor.path.model import Layer, Limit, Provenance, Shape


class EntryKind(str, Enum):
    MIDDLEBOX = "middlebox"  # sits on the network path: NAT, load balancer, firewall, conntrack
    PLATFORM = "platform"  # the database service itself, or its pooler


@dataclass(frozen=True)
class Number:
    """One documented limit, or the documented absence of one (`seconds is None`)."""

    name: str  # the vendor's own name for it: "IdleClientTimeout", "tcp.idle_timeout.seconds"
    seconds: float | None  # the default; None: the vendor publishes no number (see `note`)
    shape: Shape  # how the connection ends when it fires, as the client sees it
    label: str  # what the source calls it, for "documented by <vendor> (<label>)"
    reference: str  # the public page: document name and URL
    layer: Layer = Layer.NETWORK
    # True for kernel/NAT-style flow timers that any packet (a TCP keepalive too) refreshes; False for
    # proxies, poolers and servers that count application idleness.
    refreshed_by_keepalives: bool = False
    kind: Literal["idle", "lifetime"] = "idle"
    configurable: str | None = None  # the documented range, if the user can change it: "60-6000 s"
    note: str | None = None  # what else the source says; required when seconds is None
    verified: bool = False  # True: read on the vendor's own page while writing the catalogue


@dataclass(frozen=True)
class Pooler:
    """What a platform's pooler does to the sessions behind it."""

    software: str  # "PgBouncer", "Supavisor", "RDS Proxy"
    mode: Literal["session", "transaction"] | None  # None: the user chooses (say so in `note`)
    # Named (protocol-level) prepared statements survive? None: not published.
    prepared_statements: bool | None
    settings: tuple[tuple[str, str], ...] = ()  # documented settings as the vendor names them
    note: str | None = None


@dataclass(frozen=True)
class Entry:
    key: str  # "aws-nat", "supavisor-transaction": what --platform / [network] middlebox take
    vendor: str  # "AWS": reads as "documented by AWS"
    name: str  # "AWS NAT gateway": the holder of its limits
    kind: EntryKind
    numbers: tuple[Number, ...]
    recognised_by: str  # the host/port shapes `recognise` knows, or why there are none
    pooler: Pooler | None = None
    advice: tuple[str, ...] = ()

    def limits(self) -> list[Limit]:
        """The entry's documented limits as path limits (numbers the vendor does not publish are left out)."""
        return [
            Limit(
                name=number.name,
                seconds=number.seconds,
                shape=number.shape,
                layer=number.layer,
                holder=self.name,
                source=f"documented by {self.vendor} ({number.label})",
                provenance=Provenance.DOCUMENTED,
                kind=number.kind,
                refreshed_by_keepalives=number.refreshed_by_keepalives,
                value=f"{number.seconds:g}s",  # the vendor's number as documented: 1800s, not 30min
                advice=self.advice,
            )
            for number in self.numbers
            if number.seconds is not None
        ]

    def unpublished(self) -> list[Number]:
        """The limits this vendor is known not to publish a number for (each with its note)."""
        return [number for number in self.numbers if number.seconds is None]

    def to_json(self) -> dict[str, object]:
        return {
            "key": self.key,
            "vendor": self.vendor,
            "name": self.name,
            "kind": self.kind.value,
            "limits": [limit.to_json() for limit in self.limits()],
            "unpublished": [{"name": n.name, "note": n.note, "reference": n.reference} for n in self.unpublished()],
            "pooler": None
            if self.pooler is None
            else {
                "software": self.pooler.software,
                "mode": self.pooler.mode,
                "prepared_statements": self.pooler.prepared_statements,
                "settings": dict(self.pooler.settings),
                "note": self.pooler.note,
            },
            "advice": list(self.advice),
            "recognised_by": self.recognised_by,
        }


# Documents cited more than once.
_AWS_NLB = (
    "AWS Elastic Load Balancing, 'Update the TCP idle timeout for your Network Load Balancer "
    "listener': https://docs.aws.amazon.com/elasticloadbalancing/latest/network/update-idle-timeout.html"
)
_AWS_NAT = (
    "AWS VPC user guide, 'Troubleshoot NAT gateways' (internet connection drops after 350 seconds): "
    "https://docs.aws.amazon.com/vpc/latest/userguide/nat-gateway-troubleshooting.html"
)
_AWS_NFW = (
    "AWS Network Firewall API reference, FlowTimeouts.TcpIdleTimeoutSeconds: "
    "https://docs.aws.amazon.com/network-firewall/latest/APIReference/API_FlowTimeouts.html"
)
_RDS_PROXY = (
    "Amazon RDS user guide, 'RDS Proxy connection considerations' (IdleClientTimeout): "
    "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy-connections.html"
)
_RDS_DEAD = (
    "Amazon Aurora user guide, 'Dead connection handling in PostgreSQL': https://docs.aws.amazon.com/"
    "AmazonRDS/latest/AuroraUserGuide/Appendix.PostgreSQL.CommonDBATasks.DeadConnectionHandling.html"
)
_AZ_LB_IDLE = (
    "Microsoft Learn, 'Configure TCP reset and idle timeout for Azure Load Balancer': "
    "https://learn.microsoft.com/azure/load-balancer/load-balancer-tcp-idle-timeout"
)
_AZ_LB_RESET = (
    "Microsoft Learn, 'Load Balancer TCP Reset and Idle Timeout': "
    "https://learn.microsoft.com/azure/load-balancer/load-balancer-tcp-reset"
)
_AZ_NAT = (
    "Microsoft Learn, Azure NAT gateway idleTimeoutInMinutes (4-120, default 4; AKS "
    "ManagedClusterNATGatewayProfile reference): https://learn.microsoft.com/azure/nat-gateway/nat-gateway-resource"
)
_AZ_PGB = (
    "Microsoft Learn, 'PgBouncer in Azure Database for PostgreSQL' and its PgBouncer server parameters: "
    "https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-pgbouncer"
)
_GCP_NAT = (
    "Google Cloud, Cloud NAT 'Tune NAT configuration' (NAT timeouts) and Compute API RouterNat "
    "tcpEstablishedIdleTimeoutSec: https://cloud.google.com/nat/docs/tune-nat-configuration#nat-timeouts"
)
_KUBE_PROXY = (
    "Kubernetes reference, kube-proxy --conntrack-tcp-timeout-established: "
    "https://kubernetes.io/docs/reference/command-line-tools-reference/kube-proxy/"
)
_SUPABASE_CONNECT = (
    "Supabase docs, 'Connect to your database': https://supabase.com/docs/guides/database/connecting-to-postgres"
)
_SUPABASE_PREPARED = (
    "Supabase docs, troubleshooting 'Disabling prepared statements': "
    "https://supabase.com/docs/guides/troubleshooting/disabling-prepared-statements-qL8lEL"
)
_NEON_STZ = "Neon docs, 'Scale to Zero': https://neon.com/docs/introduction/scale-to-zero"
_NEON_POOL = "Neon docs, 'Connection pooling': https://neon.com/docs/connect/connection-pooling"
_FLY = "Fly.io docs, Managed Postgres 'Connect Your Client': https://fly.io/docs/mpg/client-configuration/"
_DO_POOLS = (
    "DigitalOcean docs, 'How to manage connection pools' (PgBouncer; API default mode transaction): "
    "https://docs.digitalocean.com/products/databases/postgresql/how-to/manage-connection-pools/"
)
_AIVEN = (
    "Aiven docs, 'Keep-alive connections parameters': "
    "https://aiven.io/docs/products/postgresql/reference/idle-connections"
)

_NO_PLATFORM_LIMIT = (
    "publishes no limit of its own that closes idle connections; the server's settings "
    "(idle_session_timeout and friends) are read from the server, and the path's middleboxes "
    "are the [network] middlebox presets"
)

_PREPARED_FIX = (
    "Transaction pooling: named prepared statements break (asyncpg `prepared statement "
    '"__asyncpg_stmt_N__" does not exist`). asyncpg: statement_cache_size=0, and with SQLAlchemy '
    "also prepared_statement_name_func giving unique names; psycopg: prepare_threshold=None."
)
# Neon's docs count queries ("no active queries for 5 minutes"); that TCP keepalives also keep it awake is
# the field notes' claim, not Neon's page.
_NEON_AWAKE = (
    "Whatever keeps connections alive against the suspend (a ping on a timer, health checks, and per "
    "the field notes TCP keepalives) keeps the compute awake, and an awake compute is billed. A "
    "checkout-time pre-ping does not keep it awake: it pays a reconnect and the compute's wake-up "
    "(a few hundred ms) after an idle spell instead. Keeping an idle pool alive on Neon costs money."
)
_SERVER_KEEPALIVE_NOTE = (
    "server TCP keepalives are PostgreSQL settings (tcp_keepalives_idle/interval/count), "
    "read from the server, not limits"
)

CATALOGUE: tuple[Entry, ...] = (
    # ---- middleboxes: each is also a [network] middlebox preset ----
    Entry(
        key="aws-nat",
        vendor="AWS",
        name="AWS NAT gateway",
        kind=EntryKind.MIDDLEBOX,
        numbers=(
            Number(
                name="NAT gateway idle timeout",
                seconds=350,
                shape=Shape.RESET,
                label="NAT gateway idle timeout",
                reference=_AWS_NAT,
                refreshed_by_keepalives=True,
                note="fixed, not configurable; after it the gateway answers the next packet with RST "
                "(CloudWatch IdleTimeoutCount counts them)",
            ),
        ),
        recognised_by='not from the database URL: name it with [network] middlebox = "aws-nat"',
        advice=(
            "TCP keepalives below 350 s (libpq keepalives_idle; asyncpg has no keepalive option) keep "
            "flows alive through it; otherwise retire connections before 350 s.",
        ),
    ),
    Entry(
        key="aws-nlb",
        vendor="AWS",
        name="AWS Network Load Balancer",
        kind=EntryKind.MIDDLEBOX,
        numbers=(
            Number(
                name="tcp.idle_timeout.seconds",
                seconds=350,
                shape=Shape.RESET,
                label="NLB TCP listener idle timeout default",
                reference=_AWS_NLB,
                refreshed_by_keepalives=True,
                configurable="60-6000 s on TCP listeners",
                verified=True,
                note="TLS listeners: fixed at 350 s, cannot be changed",
            ),
        ),
        recognised_by='not from the database URL: name it with [network] middlebox = "aws-nlb"',
    ),
    Entry(
        key="aws-network-firewall",
        vendor="AWS",
        name="AWS Network Firewall",
        kind=EntryKind.MIDDLEBOX,
        numbers=(
            Number(
                name="TcpIdleTimeoutSeconds",
                seconds=350,
                shape=Shape.DROP,
                label="Network Firewall TcpIdleTimeoutSeconds default",
                reference=_AWS_NFW,
                refreshed_by_keepalives=True,
                configurable="60-6000 s",
                verified=True,
                note="after it data packets are dropped silently; TCP keepalives reset the timer",
            ),
        ),
        recognised_by='not from the database URL: name it with [network] middlebox = "aws-network-firewall"',
    ),
    Entry(
        key="azure-lb",
        vendor="Microsoft Azure",
        name="Azure Load Balancer",
        kind=EntryKind.MIDDLEBOX,
        numbers=(
            Number(
                name="idleTimeoutInMinutes",
                seconds=240,
                shape=Shape.DROP,
                label="Load Balancer idle timeout default, TCP reset off",
                reference=f"{_AZ_LB_IDLE}; {_AZ_LB_RESET}",
                refreshed_by_keepalives=True,
                configurable="4-100 min",
                verified=True,
                note="the default drops the flow silently; with 'TCP reset' enabled on the rule it sends RST both "
                "ways instead (preset azure-lb-tcp-reset)",
            ),
        ),
        recognised_by='not from the database URL: name it with [network] middlebox = "azure-lb"',
    ),
    Entry(
        key="azure-lb-tcp-reset",
        vendor="Microsoft Azure",
        name="Azure Load Balancer (TCP reset on)",
        kind=EntryKind.MIDDLEBOX,
        numbers=(
            Number(
                name="idleTimeoutInMinutes",
                seconds=240,
                shape=Shape.RESET,
                label="Load Balancer idle timeout default, TCP reset enabled",
                reference=_AZ_LB_RESET,
                refreshed_by_keepalives=True,
                configurable="4-100 min",
                verified=True,
                note="EnableTcpReset sends bidirectional RST at the idle timeout",
            ),
        ),
        recognised_by='not from the database URL: name it with [network] middlebox = "azure-lb-tcp-reset"',
    ),
    Entry(
        key="azure-nat",
        vendor="Microsoft Azure",
        name="Azure NAT gateway",
        kind=EntryKind.MIDDLEBOX,
        numbers=(
            Number(
                name="idleTimeoutInMinutes",
                seconds=240,
                shape=Shape.DROP,
                label="NAT gateway TCP idle timeout default",
                reference=_AZ_NAT,
                refreshed_by_keepalives=True,
                configurable="4-120 min",
                verified=True,
                note="Microsoft does not say what an expired flow's next packet gets; assumed dropped (the worse case)",
            ),
        ),
        recognised_by='not from the database URL: name it with [network] middlebox = "azure-nat"',
    ),
    Entry(
        key="gcp-nat",
        vendor="Google Cloud",
        name="GCP Cloud NAT",
        kind=EntryKind.MIDDLEBOX,
        numbers=(
            Number(
                name="tcpEstablishedIdleTimeoutSec",
                seconds=1200,
                shape=Shape.DROP,
                label="Cloud NAT TCP established idle timeout default",
                reference=_GCP_NAT,
                refreshed_by_keepalives=True,
                configurable="gcloud compute routers nats update --tcp-established-idle-timeout",
                note="transitory (half-open) TCP: tcpTransitoryIdleTimeoutSec 30 s; an expired mapping drops packets "
                "silently (third-party write-ups; Google does not spell out the shape)",
            ),
        ),
        recognised_by='not from the database URL: name it with [network] middlebox = "gcp-nat"',
    ),
    Entry(
        key="kube-conntrack",
        vendor="Kubernetes",
        name="kube-proxy conntrack",
        kind=EntryKind.MIDDLEBOX,
        numbers=(
            Number(
                name="conntrack-tcp-timeout-established",
                seconds=86400,
                shape=Shape.DROP,
                label="kube-proxy --conntrack-tcp-timeout-established default",
                reference=_KUBE_PROXY,
                refreshed_by_keepalives=True,
                verified=True,
                note="Service (ClusterIP) traffic is NAT'd by conntrack; once the entry expires the next packet is "
                "INVALID and dropped. Linux's own nf_conntrack_tcp_timeout_established is 432000 s",
            ),
        ),
        recognised_by="not from the database URL: inside Kubernetes the runtime check notes it",
    ),
    # ---- platforms ----
    Entry(
        key="supabase",
        vendor="Supabase",
        name="Supabase (direct connection)",
        kind=EntryKind.PLATFORM,
        numbers=(
            Number(
                name="idle limit",
                seconds=None,
                shape=Shape.CLOSE,
                label="direct connection",
                reference=_SUPABASE_CONNECT,
                layer=Layer.PLATFORM,
                note=f"Supabase {_NO_PLATFORM_LIMIT}",
            ),
        ),
        recognised_by="db.<project-ref>.supabase.co, port 5432",
        advice=(
            "The direct host resolves to IPv6 only unless the project has the IPv4 add-on; from IPv4-only "
            "networks use Supavisor session mode (port 5432 on the pooler host).",
        ),
    ),
    Entry(
        key="supavisor-session",
        vendor="Supabase",
        name="Supabase Supavisor (session mode)",
        kind=EntryKind.PLATFORM,
        numbers=(
            Number(
                name="client idle timeout",
                seconds=None,
                shape=Shape.CLOSE,
                label="Supavisor session mode",
                reference=_SUPABASE_CONNECT,
                layer=Layer.POOLER,
                note="Supabase publishes no client idle timeout for its hosted Supavisor (open-source defaults: "
                "client idle timeout 0 = off, heartbeat 60 s, backend idle 5 min)",
            ),
        ),
        recognised_by="aws-N-<region>.pooler.supabase.com, port 5432; user postgres.<project-ref>",
        pooler=Pooler(
            software="Supavisor",
            mode="session",
            prepared_statements=True,
            note="session mode supports prepared statements (Supabase docs)",
        ),
    ),
    Entry(
        key="supavisor-transaction",
        vendor="Supabase",
        name="Supabase Supavisor (transaction mode)",
        kind=EntryKind.PLATFORM,
        numbers=(
            Number(
                name="client idle timeout",
                seconds=None,
                shape=Shape.CLOSE,
                label="Supavisor transaction mode",
                reference=_SUPABASE_CONNECT,
                layer=Layer.POOLER,
                note="Supabase publishes no client idle timeout for its hosted Supavisor",
            ),
        ),
        recognised_by="aws-N-<region>.pooler.supabase.com, port 6543; user postgres.<project-ref>",
        pooler=Pooler(
            software="Supavisor",
            mode="transaction",
            prepared_statements=False,
            note=f"'Supavisor in transaction mode does not' support prepared statements ({_SUPABASE_PREPARED})",
        ),
        advice=(_PREPARED_FIX, "Session state (SET, LISTEN/NOTIFY, advisory locks) does not survive a transaction."),
    ),
    Entry(
        key="neon",
        vendor="Neon",
        name="Neon (direct compute endpoint)",
        kind=EntryKind.PLATFORM,
        numbers=(
            Number(
                name="scale to zero",
                seconds=300,
                shape=Shape.CLOSE,
                label="scale to zero after 5 minutes inactive",
                reference=_NEON_STZ,
                layer=Layer.PLATFORM,
                verified=True,
                note="default; fixed on the Free plan, can be disabled on paid plans, threshold configurable on "
                "Scale; suspending closes the compute's connections",
            ),
        ),
        recognised_by="ep-<name>-<id>.<region>.aws.neon.tech (any *.neon.tech host whose first label starts ep-)",
        advice=(_NEON_AWAKE,),
    ),
    Entry(
        key="neon-pooler",
        vendor="Neon",
        name="Neon pooled endpoint (PgBouncer)",
        kind=EntryKind.PLATFORM,
        numbers=(
            Number(
                name="scale to zero",
                seconds=300,
                shape=Shape.CLOSE,
                label="scale to zero after 5 minutes inactive",
                reference=_NEON_STZ,
                layer=Layer.PLATFORM,
                verified=True,
                note="the compute behind the pooler suspends after 5 minutes without activity",
            ),
        ),
        recognised_by="ep-<name>-<id>-pooler.<region>.aws.neon.tech",
        pooler=Pooler(
            software="PgBouncer",
            mode="transaction",
            prepared_statements=True,
            settings=(("pool_mode", "transaction"), ("max_client_conn", "10000"), ("query_wait_timeout", "120")),
            note=f"protocol-level prepared statements are supported, SQL PREPARE and SET are not ({_NEON_POOL})",
        ),
        advice=(
            _NEON_AWAKE,
            "Session state (SET, LISTEN/NOTIFY, temp tables) does not survive a transaction on the pooled host.",
        ),
    ),
    Entry(
        key="rds",
        vendor="AWS",
        name="Amazon RDS / Aurora PostgreSQL",
        kind=EntryKind.PLATFORM,
        numbers=(
            Number(
                name="idle limit",
                seconds=None,
                shape=Shape.CLOSE,
                label="RDS / Aurora",
                reference=_RDS_DEAD,
                layer=Layer.PLATFORM,
                note=f"AWS {_NO_PLATFORM_LIMIT}; {_SERVER_KEEPALIVE_NOTE} (documented defaults: idle 300, "
                "interval 30, count 2; tcp_user_timeout 0)",
            ),
        ),
        recognised_by="*.rds.amazonaws.com (Aurora cluster endpoints *.cluster-<id>.<region>.rds.amazonaws.com)",
    ),
    Entry(
        key="rds-proxy",
        vendor="AWS",
        name="Amazon RDS Proxy",
        kind=EntryKind.PLATFORM,
        numbers=(
            Number(
                name="IdleClientTimeout",
                seconds=1800,
                shape=Shape.CLOSE,
                label="RDS Proxy IdleClientTimeout default",
                reference=_RDS_PROXY,
                layer=Layer.POOLER,
                configurable="1-28800 s",
                verified=True,
                note="the proxy closes a client connection idle this long; its database connection returns to the pool",
            ),
        ),
        recognised_by="*.proxy-<id>.<region>.rds.amazonaws.com",
        pooler=Pooler(
            software="RDS Proxy",
            mode="transaction",
            prepared_statements=True,
            note="multiplexes per transaction, but pins a client to one database connection when it sees session "
            "state; asyncpg's reset query pins nearly always (asyncpg #1153)",
        ),
        advice=(
            "Retire pooled connections before 1800 s idle (e.g. pool_recycle below 1800, or pre-ping), or "
            "raise IdleClientTimeout.",
        ),
    ),
    Entry(
        key="azure-flexible",
        vendor="Microsoft Azure",
        name="Azure Database for PostgreSQL flexible server",
        kind=EntryKind.PLATFORM,
        numbers=(
            Number(
                name="idle limit",
                seconds=None,
                shape=Shape.CLOSE,
                label="flexible server",
                reference="Microsoft Learn, 'Connectivity and networking concepts for Azure Database for PostgreSQL': "
                "https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-networking",
                layer=Layer.PLATFORM,
                note=f"Microsoft {_NO_PLATFORM_LIMIT}; paths through an Azure load balancer or NAT gateway forget "
                "idle flows after 4 min by default (presets azure-lb, azure-nat)",
            ),
        ),
        recognised_by="<server>.postgres.database.azure.com, port 5432",
    ),
    Entry(
        key="azure-pgbouncer",
        vendor="Microsoft Azure",
        name="Azure flexible server built-in PgBouncer",
        kind=EntryKind.PLATFORM,
        numbers=(
            Number(
                name="client_idle_timeout",
                seconds=None,
                shape=Shape.CLOSE,
                label="built-in PgBouncer",
                reference=_AZ_PGB,
                layer=Layer.POOLER,
                note="Microsoft publishes no client idle timeout among its PgBouncer parameters (PgBouncer's own "
                "default is 0 = off); SHOW CONFIG on the pgbouncer database shows the live value",
            ),
        ),
        recognised_by="<server>.postgres.database.azure.com, port 6432",
        pooler=Pooler(
            software="PgBouncer",
            mode="transaction",
            prepared_statements=False,
            settings=(
                ("pgbouncer.pool_mode", "transaction"),
                ("pgbouncer.max_prepared_statements", "0"),
                ("pgbouncer.server_idle_timeout", "600"),
                ("pgbouncer.max_client_conn", "5000"),
                ("pgbouncer.default_pool_size", "50"),
            ),
            note="max_prepared_statements 0 means named prepared statements break in transaction mode; raise it "
            "(0-5000) or disable them in the driver",
        ),
        advice=(_PREPARED_FIX,),
    ),
    Entry(
        key="cloud-sql",
        vendor="Google Cloud",
        name="Google Cloud SQL for PostgreSQL",
        kind=EntryKind.PLATFORM,
        numbers=(
            Number(
                name="idle limit",
                seconds=None,
                shape=Shape.CLOSE,
                label="Cloud SQL",
                reference="Google Cloud, 'Manage database connections' (Cloud SQL for PostgreSQL): "
                "https://cloud.google.com/sql/docs/postgres/manage-connections",
                layer=Layer.PLATFORM,
                note=f"Google {_NO_PLATFORM_LIMIT}; on a Cloud NAT path the NAT forgets idle flows after 1200 s "
                "(preset gcp-nat). Managed connection pooling exists on Enterprise Plus only",
            ),
        ),
        recognised_by="a Cloud SQL connector socket, host /cloudsql/<project>:<region>:<instance>; a plain IP "
        "cannot be told apart: pass --platform cloud-sql",
        advice=("Google's connection samples set pool_recycle=1800 (30 min).",),
    ),
    Entry(
        key="fly-mpg",
        vendor="Fly.io",
        name="Fly.io Managed Postgres (PgBouncer)",
        kind=EntryKind.PLATFORM,
        numbers=(
            Number(
                name="Fly proxy restart",
                seconds=600,
                shape=Shape.RESET,
                label="recommended max connection lifetime",
                reference=_FLY,
                layer=Layer.PLATFORM,
                kind="lifetime",
                verified=True,
                note="Fly's proxy restarts (deploys) and closes connections it could not drain within its shutdown "
                "timeout (ECONNRESET, 'tcp recv (idle): closed'); Fly recommends lifetime 600 s and idle "
                "timeout 300 s in the client pool",
            ),
        ),
        recognised_by="pgbouncer.<cluster>.flympg.net",
        pooler=Pooler(
            software="PgBouncer",
            mode=None,
            prepared_statements=None,
            note="pool mode is chosen per cluster (session or transaction); in transaction mode disable named "
            "prepared statements",
        ),
        advice=("Set the pool's lifetime to 600 s and idle timeout to 300 s, as Fly recommends.",),
    ),
    Entry(
        key="fly-mpg-direct",
        vendor="Fly.io",
        name="Fly.io Managed Postgres (direct)",
        kind=EntryKind.PLATFORM,
        numbers=(
            Number(
                name="Fly proxy restart",
                seconds=600,
                shape=Shape.RESET,
                label="recommended max connection lifetime",
                reference=_FLY,
                layer=Layer.PLATFORM,
                kind="lifetime",
                verified=True,
                note="the direct host also goes through Fly's proxy",
            ),
        ),
        recognised_by="direct.<cluster>.flympg.net",
        advice=("Use the direct host for migrations, advisory locks and LISTEN/NOTIFY; the pooled host for the app.",),
    ),
    Entry(
        key="digitalocean",
        vendor="DigitalOcean",
        name="DigitalOcean Managed PostgreSQL",
        kind=EntryKind.PLATFORM,
        numbers=(
            Number(
                name="idle limit",
                seconds=None,
                shape=Shape.CLOSE,
                label="managed PostgreSQL",
                reference=_DO_POOLS,
                layer=Layer.PLATFORM,
                note=f"DigitalOcean {_NO_PLATFORM_LIMIT}",
            ),
        ),
        recognised_by="*.db.ondigitalocean.com, port 25060",
    ),
    Entry(
        key="digitalocean-pool",
        vendor="DigitalOcean",
        name="DigitalOcean connection pool (PgBouncer)",
        kind=EntryKind.PLATFORM,
        numbers=(
            Number(
                name="client idle timeout",
                seconds=None,
                shape=Shape.CLOSE,
                label="connection pool",
                reference=_DO_POOLS,
                layer=Layer.POOLER,
                note="DigitalOcean publishes no idle timeout for its pools",
            ),
        ),
        recognised_by="*.db.ondigitalocean.com, port 25061",
        pooler=Pooler(
            software="PgBouncer",
            mode="transaction",
            prepared_statements=None,
            note="each pool has its own mode (session, transaction, statement); transaction is the default",
        ),
        advice=(_PREPARED_FIX,),
    ),
    Entry(
        key="railway",
        vendor="Railway",
        name="Railway PostgreSQL",
        kind=EntryKind.PLATFORM,
        numbers=(
            Number(
                name="idle limit",
                seconds=None,
                shape=Shape.CLOSE,
                label="Railway PostgreSQL",
                reference="Railway docs, 'PostgreSQL': https://docs.railway.com/guides/postgresql",
                layer=Layer.PLATFORM,
                note="Railway publishes no idle limit for the database or its TCP proxy; its PgBouncer template runs "
                "transaction mode with DEFAULT_POOL_SIZE 20",
            ),
        ),
        recognised_by="*.proxy.rlwy.net (public TCP proxy) or *.railway.internal (private network)",
    ),
    Entry(
        key="heroku",
        vendor="Heroku",
        name="Heroku Postgres",
        kind=EntryKind.PLATFORM,
        numbers=(
            Number(
                name="idle limit",
                seconds=None,
                shape=Shape.CLOSE,
                label="Heroku Postgres",
                reference="Heroku Dev Center, 'Heroku Postgres': https://devcenter.heroku.com/articles/heroku-postgresql",
                layer=Layer.PLATFORM,
                note="Heroku publishes no idle limit",
            ),
        ),
        recognised_by="not recognisable: its hosts are plain EC2 names (ec2-*.compute-1.amazonaws.com) that any "
        "EC2 server has; pass --platform heroku",
    ),
    Entry(
        key="render",
        vendor="Render",
        name="Render PostgreSQL",
        kind=EntryKind.PLATFORM,
        numbers=(
            Number(
                name="idle limit",
                seconds=None,
                shape=Shape.CLOSE,
                label="Render PostgreSQL",
                reference="Render docs, 'Render Postgres': https://render.com/docs/databases",
                layer=Layer.PLATFORM,
                note="Render publishes no idle limit; Render runs no pooler",
            ),
        ),
        recognised_by="dpg-<id>-a (internal) or dpg-<id>-a.<region>-postgres.render.com (external)",
    ),
    Entry(
        key="aiven",
        vendor="Aiven",
        name="Aiven for PostgreSQL",
        kind=EntryKind.PLATFORM,
        numbers=(
            Number(
                name="idle limit",
                seconds=None,
                shape=Shape.CLOSE,
                label="Aiven for PostgreSQL",
                reference=_AIVEN,
                layer=Layer.PLATFORM,
                note=f"Aiven {_NO_PLATFORM_LIMIT}; {_SERVER_KEEPALIVE_NOTE} (documented defaults: idle 180, "
                "interval 10, count 6)",
            ),
        ),
        recognised_by="*.aivencloud.com",
    ),
)

_BY_KEY: Mapping[str, Entry] = MappingProxyType({entry.key: entry for entry in CATALOGUE})


def keys(kind: EntryKind | None = None) -> list[str]:
    """The known keys, in catalogue order (of one kind, if given)."""
    return [entry.key for entry in CATALOGUE if kind is None or entry.kind is kind]


def _lookup(key: str, kind: EntryKind, what: str) -> Entry:
    entry = _BY_KEY.get(key.strip().lower())
    if entry is None or entry.kind is not kind:
        raise ValueError(f"unknown {what} {key!r}; known: {', '.join(keys(kind))}")
    return entry


def by_key(key: str) -> Entry:
    """The platform `--platform KEY` / `[network] platform = "KEY"` names; ValueError lists the known keys."""
    return _lookup(key, EntryKind.PLATFORM, "platform")


def middlebox_preset(key: str) -> Entry:
    """The middlebox `[network] middlebox = "KEY"` names; ValueError lists the known keys."""
    return _lookup(key, EntryKind.MIDDLEBOX, "middlebox")
