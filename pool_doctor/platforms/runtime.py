"""Where the app itself runs, read from its environment, and what that does to a connection pool. Pure.

A serverless runtime freezes the process between invocations; inside Kubernetes, Service traffic crosses
kube-proxy's conntrack. Both change which pool settings can work, whatever the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# Why a frozen process defeats a pool, in the words the report uses (field notes section 7; polar PR #13859).
NO_POOL_ADVICE = (
    "Use NullPool (a new connection per invocation, closed at its end) and put an external pooler in front "
    "of the server (RDS Proxy, Supavisor transaction mode on 6543, Neon's -pooler host, PgBouncer) so "
    "connecting stays cheap."
)
SERVERLESS_ADVICE = (
    "The runtime freezes the process between invocations, so no pool timer fires while it is frozen: "
    "idle eviction (max_idle, max_inactive_connection_lifetime) never runs, and pool_recycle and pre-ping "
    "are only looked at on the next checkout.",
    "A connection kept across a freeze can sit idle longer than any limit on the path while it is still "
    "younger than pool_recycle, so the next invocation gets a dead connection (polar PR #13859: "
    "pool_recycle = 600 was not enough).",
    NO_POOL_ADVICE,
)

KUBERNETES_ADVICE = (
    "Traffic to a Service (ClusterIP) is NAT'd by kube-proxy's conntrack, which forgets an established flow "
    "idle for 24 h by default (--conntrack-tcp-timeout-established); node-level NAT and cloud NAT gateways "
    "on the egress path forget much sooner.",
    "TCP keepalives refresh conntrack and NAT entries: set the driver's keepalives below the shortest NAT "
    "timeout on the path, or retire idle connections before it.",
)

# For `scan`, when it sees an engine created at import time in a forking server (gunicorn --preload,
# Celery prefork): the workers inherit the parent's sockets.
FORKING_SERVER_ADVICE = (
    "An engine created before the server forks shares its pooled sockets with every worker: two processes "
    "read one TLS stream (`SSL error: decryption failed or bad record mac`) or one protocol stream.",
    "Create the engine in each worker after the fork, or in the child call engine.dispose(close=False) "
    "before first use (SQLAlchemy's 'Using Connection Pools with Multiprocessing or os.fork()'), or use "
    "NullPool in the parent.",
)


@dataclass(frozen=True)
class Runtime:
    key: str  # "aws-lambda", "vercel", "azure-functions", "cloud-functions", "cloud-run", "kubernetes"
    name: str  # "AWS Lambda"
    freezes: bool  # True: the process is frozen between invocations, so pool timers do not run
    evidence: tuple[str, ...]  # "AWS_LAMBDA_FUNCTION_NAME is set"
    advice: tuple[str, ...]
    middlebox: str | None = None  # the catalogue middlebox preset this runtime implies ("kube-conntrack")

    def to_json(self) -> dict[str, object]:
        return {
            "key": self.key,
            "name": self.name,
            "freezes": self.freezes,
            "evidence": list(self.evidence),
            "advice": list(self.advice),
            "middlebox": self.middlebox,
        }


@dataclass(frozen=True)
class _Serverless:
    key: str
    name: str
    variables: tuple[str, ...]  # all must be set
    caveat: str | None = None  # when the freeze depends on a plan or setting


# Order matters: Cloud Functions (2nd gen) runs on Cloud Run and sets K_SERVICE too, so it is tried first.
_SERVERLESS: tuple[_Serverless, ...] = (
    _Serverless("aws-lambda", "AWS Lambda", ("AWS_LAMBDA_FUNCTION_NAME",)),
    _Serverless("vercel", "Vercel Functions", ("VERCEL",)),
    _Serverless(
        "azure-functions",
        "Azure Functions",
        ("FUNCTIONS_WORKER_RUNTIME",),
        caveat="Consumption and Flex Consumption plans freeze idle instances; a dedicated (App Service) "
        "plan keeps them running",
    ),
    _Serverless("cloud-functions", "Google Cloud Functions", ("K_SERVICE", "FUNCTION_TARGET")),
    _Serverless("cloud-functions", "Google Cloud Functions (1st gen)", ("FUNCTION_NAME", "GCP_PROJECT")),
    _Serverless(
        "cloud-run",
        "Google Cloud Run",
        ("K_SERVICE",),
        caveat="with the default request-based billing the CPU is throttled outside requests; "
        "'CPU always allocated' (instance-based billing) keeps timers running",
    ),
)


def _set(env: Mapping[str, str], name: str) -> bool:
    return bool(env.get(name, "").strip())


def detect_runtime(env: Mapping[str, str]) -> Runtime | None:
    """The runtime the environment names (a serverless one before Kubernetes), or None."""
    in_kubernetes = _set(env, "KUBERNETES_SERVICE_HOST")
    for candidate in _SERVERLESS:
        if all(_set(env, name) for name in candidate.variables):
            evidence = [f"{name} is set" for name in candidate.variables]
            advice = list(SERVERLESS_ADVICE)
            if candidate.caveat:
                advice.append(f"{candidate.name}: {candidate.caveat}.")
            if in_kubernetes:  # Knative and friends: both apply
                evidence.append("KUBERNETES_SERVICE_HOST is set")
                advice.extend(KUBERNETES_ADVICE)
            return Runtime(
                candidate.key,
                candidate.name,
                True,
                tuple(evidence),
                tuple(advice),
                "kube-conntrack" if in_kubernetes else None,
            )
    if in_kubernetes:
        return Runtime(
            "kubernetes", "Kubernetes", False, ("KUBERNETES_SERVICE_HOST is set",), KUBERNETES_ADVICE, "kube-conntrack"
        )
    return None


RUNTIMES = ("aws-lambda", "vercel", "azure-functions", "cloud-functions", "cloud-run", "kubernetes")


def named_runtime(key: str) -> Runtime:
    """The runtime `--runtime KEY` names, as if its environment had been read; ValueError lists the known."""
    key = key.strip().lower()
    for candidate in _SERVERLESS:
        if candidate.key == key:
            advice = [*SERVERLESS_ADVICE, *([f"{candidate.name}: {candidate.caveat}."] if candidate.caveat else [])]
            return Runtime(candidate.key, candidate.name, True, (f"--runtime {key}",), tuple(advice))
    if key == "kubernetes":
        return Runtime(
            "kubernetes", "Kubernetes", False, ("--runtime kubernetes",), KUBERNETES_ADVICE, "kube-conntrack"
        )
    raise ValueError(f"unknown runtime {key!r}; known: {', '.join(RUNTIMES)}")
