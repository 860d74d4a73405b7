"""Managed services and middleboxes, tried as a user would: each service's real host name and port, sent
through pool-doctor's name-resolution seam (`address.resolve_address`) to a local PostgreSQL or PgBouncer
standing in for it, then `check` and `recommend` through the CLI in process. No traffic reaches a service:
an unmapped name fails the test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from harness import LocalPostgres

from pool_doctor.connection import address
from pool_doctor.platforms import CATALOGUE, EntryKind, by_key, middlebox_preset
from tests.cli_runner import Run, run_pool_doctor

PASSWORD = "pl4tform-Secret"
REF = "abcdefghijklmnopqrst"  # a Supabase project ref: Supavisor routes by the user's ".<ref>"

SUPAVISOR = "aws-0-us-east-1.pooler.supabase.com"
NEON_POOLER = "ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech"
RDS_PROXY = "app-proxy.proxy-abcdefghijkl.us-east-1.rds.amazonaws.com"
AZURE = "myserver.postgres.database.azure.com"
FLY_POOLER = "pgbouncer.abc123xyz.flympg.net"
PLAIN = "db.internal.example"  # no platform: for the middlebox presets and the runtime

Route = Callable[[str, int, Any], None]


@pytest.fixture
def route(monkeypatch: pytest.MonkeyPatch) -> Iterator[Route]:
    """`route(host, port, stand_in)`: the drivers' connect for host:port goes to the stand-in on 127.0.0.1."""
    table: dict[tuple[str, int], tuple[str, int]] = {}

    def resolve(host: str, port: int) -> tuple[str, int]:
        assert (host, port) in table, f"no stand-in for {host}:{port}: this test would reach a real service"
        return table[(host, port)]

    monkeypatch.setattr(address, "resolve_address", resolve)

    def add(host: str, port: int, stand_in: Any) -> None:
        table[(host, port)] = (stand_in.host, stand_in.port)

    yield add


def url(user: str, host: str, port: int, driver: str = "psycopg") -> str:
    return f"postgresql+{driver}://{user}:{PASSWORD}@{host}:{port}/postgres"


def role(pg: LocalPostgres, name: str) -> str:
    pg.create_role(name, PASSWORD)
    return name


def check(*args: str, env: dict[str, str] | None = None) -> Run:
    run = run_pool_doctor("check", "--json", "--fail-on", "never", "--timeout", "5", *args, secret=PASSWORD, env=env)
    assert run.code == 0, run.stderr
    return run


def platform_hop(run: Run) -> dict[str, Any]:
    hops = [hop for hop in run.json()["path"]["hops"] if hop["kind"] == "platform"]
    assert len(hops) == 1, run.json()["path"]["hops"]
    return hops[0]


# -- the five services of the issue ----------------------------------------------------------------------


def test_rds_proxy_idle_client_timeout_against_pool_recycle_3600_is_critical_citing_1800s(
    pg: LocalPostgres, route: Route, unique_name: str, tmp_path: Path
) -> None:
    user = role(pg, unique_name)
    route(RDS_PROXY, 5432, pg)
    # Client keepalives every 60 s do not help: RDS Proxy counts the app's idleness, not the flow's.
    config = tmp_path / "pool-doctor.toml"
    config.write_text("[connect_args]\nkeepalives_idle = 60\n")
    run = check(
        "--url", url(user, RDS_PROXY, 5432), "--pool-recycle", "3600", "--no-pool-pre-ping", "--config", str(config)
    )
    document = run.json()
    assert document["platform"]["key"] == "rds-proxy"
    assert document["platform"]["name"] == "Amazon RDS Proxy"
    assert document["platform"]["vendor"] == "AWS"
    assert any("RDS Proxy endpoint" in line for line in document["platform"]["evidence"])
    hop = platform_hop(run)
    assert hop["name"] == "Amazon RDS Proxy"
    idle, lifetime = hop["limits"]  # and the 24 h client lifetime (tests/test_failover_check.py)
    assert (lifetime["name"], lifetime["kind"]) == ("client connection max life", "lifetime")
    limit = idle
    assert (limit["name"], limit["seconds"], limit["provenance"]) == ("IdleClientTimeout", 1800, "documented")
    assert limit["source"].startswith("documented by AWS")
    finding = run.finding("pooler-idle-client-timeout")
    assert finding["severity"] == "critical"
    assert "Amazon RDS Proxy" in finding["title"] and "1800s" in finding["title"]
    assert "IdleClientTimeout = 1800s, documented by AWS" in finding["detail"]
    assert "pool_recycle" in finding["keys"]

    # Retired before it (the judge's margin) it survives; with pre-ping it is replaced at checkout.
    assert (
        "pooler-idle-client-timeout"
        not in check("--url", url(user, RDS_PROXY, 5432), "--pool-recycle", "1740").findings()
    )
    assert (
        check("--url", url(user, RDS_PROXY, 5432), "--pool-recycle", "3600", "--pool-pre-ping").findings()[
            "pooler-idle-client-timeout-replaced"
        ]
        == "info"
    )

    # recommend: a lifetime below the proxy's 1800 s, saying why.
    rec = run_pool_doctor(
        "recommend",
        "--format",
        "json",
        "--timeout",
        "5",
        "--url",
        url(user, RDS_PROXY, 5432),
        "--pool-recycle",
        "3600",
        secret=PASSWORD,
    ).json()
    assert rec["recommendation"]["pool_recycle"] == 1740
    recycle = next(r for r in rec["reasons"] if r["key"] == "pool_recycle")
    assert "1800s (Amazon RDS Proxy)" in recycle["why"]


def test_supavisor_transaction_mode_breaks_asyncpg_prepared_statements(
    pg: LocalPostgres, make_pgbouncer: Any, route: Route, unique_name: str
) -> None:
    user = role(pg, f"{unique_name}.{REF}")
    bouncer = make_pgbouncer(pg, pool_mode="transaction", users={user: PASSWORD})
    route(SUPAVISOR, 6543, bouncer)
    run = check("--url", url(user, SUPAVISOR, 6543, "asyncpg"))
    document = run.json()
    assert document["platform"]["key"] == "supavisor-transaction"
    assert any("port 6543: Supavisor transaction mode" in line for line in document["platform"]["evidence"])
    assert any(f"names the Supabase project {REF}" in line for line in document["platform"]["evidence"])
    assert platform_hop(run)["name"] == "Supabase Supavisor (transaction mode)"
    # Supabase publishes no idle timeout for it: said, not invented.
    assert platform_hop(run)["limits"] == []
    assert "unpublished" in document["platform"] and document["platform"]["unpublished"]
    finding = run.finding("pooler-prepared-statements")
    assert finding["severity"] == "critical"
    assert any("documented by Supabase" in line for line in finding["evidence"])
    assert "connect_args.statement_cache_size" in finding["keys"]
    assert run.finding("platform-recognised")["title"] == "The database runs on Supabase Supavisor (transaction mode)"

    table = run_pool_doctor(
        "check", "--timeout", "5", "--fail-on", "never", "--url", url(user, SUPAVISOR, 6543, "asyncpg"), secret=PASSWORD
    )
    assert "Supabase Supavisor (transaction mode)" in table.stdout

    # The same host on 5432 is session mode: no prepared-statement finding from the platform.
    session = make_pgbouncer(pg, pool_mode="session", users={user: PASSWORD})
    route(SUPAVISOR, 5432, session)
    run = check("--url", url(user, SUPAVISOR, 5432, "asyncpg"))
    assert run.json()["platform"]["key"] == "supavisor-session"
    assert "pooler-prepared-statements" not in run.findings()


def test_azure_pgbouncer_raises_the_prepared_statement_finding_even_when_live_detection_cannot_tell(
    pg: LocalPostgres, route: Route, unique_name: str
) -> None:
    user = role(pg, unique_name)
    route(AZURE, 6432, pg)  # a plain PostgreSQL: the client's clues see no pooler at all
    run = check("--url", url(user, AZURE, 6432))
    document = run.json()
    assert document["platform"]["key"] == "azure-pgbouncer"
    assert document["platform"]["name"] == "Azure flexible server built-in PgBouncer"
    assert document["pooler"]["documented_by"] == "documented by Microsoft Azure"
    assert document["pooler"]["config"]["max_prepared_statements"] == "0"
    finding = run.finding("pooler-prepared-statements")
    assert finding["severity"] == "critical"
    assert "prepare_threshold" in finding["detail"]
    assert any("max_prepared_statements = 0" in line for line in finding["evidence"])
    # The direct port is the flexible server itself: no pooler documented there.
    route(AZURE, 5432, pg)
    direct = check("--url", url(user, AZURE, 5432))
    assert direct.json()["platform"]["key"] == "azure-flexible"
    assert "pooler-prepared-statements" not in direct.findings()


def test_neon_pooled_endpoint_suspend_and_what_keeping_it_awake_costs(
    pg: LocalPostgres, make_pgbouncer: Any, route: Route, unique_name: str
) -> None:
    user = role(pg, unique_name)
    bouncer = make_pgbouncer(pg, pool_mode="transaction", users={user: PASSWORD})
    route(NEON_POOLER, 5432, bouncer)
    run = check("--url", url(user, NEON_POOLER, 5432, "asyncpg"))
    document = run.json()
    assert document["platform"]["key"] == "neon-pooler"
    assert platform_hop(run)["name"] == "Neon pooled endpoint (PgBouncer)"
    [limit] = platform_hop(run)["limits"]
    assert (limit["name"], limit["seconds"], limit["shape"]) == ("scale to zero", 300, "close")
    finding = run.finding("platform-scale-to-zero")
    assert finding["severity"] == "critical"
    assert "Neon pooled endpoint (PgBouncer) ends connections idle for 300s" in finding["title"]
    # Neon documents protocol-level prepared statements through its PgBouncer: the finding says so.
    assert run.finding("pooler-prepared-statements-tracked")["severity"] == "info"
    assert "documented by Neon" in run.finding("pooler-prepared-statements-tracked")["title"]

    # With pre-ping the pool replaces what the suspend closed, and the report says what that costs.
    pinged = check("--url", url(user, NEON_POOLER, 5432, "asyncpg"), "--pool-pre-ping")
    replaced = pinged.finding("platform-scale-to-zero-replaced")
    assert replaced["severity"] == "info"
    assert "A checkout-time pre-ping does not keep it awake" in replaced["detail"]
    assert "TCP keepalives" in replaced["detail"] and "billed" in replaced["detail"]


def test_fly_pooler_proxy_restarts_are_a_lifetime_only_pool_recycle_meets(
    pg: LocalPostgres, make_pgbouncer: Any, route: Route, unique_name: str
) -> None:
    user = role(pg, unique_name)
    bouncer = make_pgbouncer(pg, pool_mode="session", users={user: PASSWORD})
    route(FLY_POOLER, 5432, bouncer)
    run = check("--url", url(user, FLY_POOLER, 5432), "--pool-recycle", "3600")
    document = run.json()
    assert document["platform"]["key"] == "fly-mpg"
    assert document["platform"]["name"] == "Fly.io Managed Postgres (PgBouncer)"
    [limit] = platform_hop(run)["limits"]
    assert (limit["seconds"], limit["kind"], limit["shape"]) == (600, "lifetime", "reset")
    finding = run.finding("platform-fly-proxy-restart")
    assert finding["severity"] == "critical"
    assert "older than 600s" in finding["title"]
    assert "lifetime to 600 s" in finding["detail"]  # Fly's own advice
    assert (
        "platform-fly-proxy-restart"
        not in check("--url", url(user, FLY_POOLER, 5432), "--pool-recycle", "540").findings()
    )


def test_platform_flag_and_config_override_recognition(
    pg: LocalPostgres, route: Route, unique_name: str, tmp_path: Path
) -> None:
    user = role(pg, unique_name)
    route(PLAIN, 5432, pg)
    assert check("--url", url(user, PLAIN, 5432)).json()["platform"] is None
    named = check("--url", url(user, PLAIN, 5432), "--platform", "rds-proxy", "--pool-recycle", "3600")
    assert named.json()["platform"]["evidence"] == ["--platform = 'rds-proxy': Amazon RDS Proxy"]
    assert named.findings()["pooler-idle-client-timeout"] == "critical"
    config = tmp_path / "pool-doctor.toml"
    config.write_text('[network]\nplatform = "neon"\n')
    from_file = check("--url", url(user, PLAIN, 5432), "--config", str(config))
    assert from_file.json()["platform"]["evidence"] == ["[network] platform = 'neon': Neon (direct compute endpoint)"]


@pytest.mark.parametrize(("flag", "value"), [("--platform", "herokuu"), ("--middlebox", "aws-natt")])
def test_unknown_platform_or_middlebox_is_a_one_line_usage_error_listing_the_known(flag: str, value: str) -> None:
    run = run_pool_doctor("check", "--url", url("app", PLAIN, 5432), flag, value, secret=PASSWORD)
    assert run.code == 2 and run.stdout == ""
    [line] = run.stderr.splitlines()
    kind = EntryKind.PLATFORM if flag == "--platform" else EntryKind.MIDDLEBOX
    assert line.startswith(f"pool-doctor: error: {flag}: unknown")
    assert all(key in line for key in [entry.key for entry in CATALOGUE if entry.kind is kind])


def test_unknown_middlebox_in_the_config_file_is_a_one_line_error(tmp_path: Path) -> None:
    config = tmp_path / "pool-doctor.toml"
    config.write_text('[network]\nmiddlebox = "cisco"\n')
    run = run_pool_doctor("check", "--url", url("app", PLAIN, 5432), "--config", str(config), secret=PASSWORD)
    assert run.code == 2
    [line] = run.stderr.splitlines()
    assert "network.middlebox: unknown middlebox 'cisco'; known: aws-nat" in line


# -- middlebox presets -------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [entry.key for entry in CATALOGUE if entry.kind is EntryKind.MIDDLEBOX])
def test_each_middlebox_preset_gives_its_documented_timeout(
    pg: LocalPostgres, route: Route, unique_name: str, key: str
) -> None:
    user = role(pg, unique_name)
    route(PLAIN, 5432, pg)
    [documented] = middlebox_preset(key).limits()
    run = check("--url", url(user, PLAIN, 5432), "--middlebox", key)
    network = run.json()["network"]
    assert (network["idle_timeout"], network["shape"], network["middlebox"]) == (
        documented.seconds,
        documented.shape.value,
        key,
    )
    [hop] = [hop for hop in run.json()["path"]["hops"] if hop["kind"] == "middlebox"]
    assert hop["name"] == middlebox_preset(key).name
    [limit] = hop["limits"]
    assert (limit["seconds"], limit["shape"], limit["provenance"]) == (
        documented.seconds,
        documented.shape.value,
        "documented",
    )
    assert limit["source"].startswith(f"documented by {middlebox_preset(key).vendor}")


def test_an_explicit_idle_timeout_or_shape_wins_over_the_preset(
    pg: LocalPostgres, route: Route, unique_name: str, tmp_path: Path
) -> None:
    user = role(pg, unique_name)
    route(PLAIN, 5432, pg)
    run = check("--url", url(user, PLAIN, 5432), "--middlebox", "azure-lb", "--network-idle-timeout", "1800")
    [limit] = next(hop for hop in run.json()["path"]["hops"] if hop["kind"] == "middlebox")["limits"]
    assert (limit["seconds"], limit["shape"], limit["provenance"]) == (1800, "drop", "configured")
    assert limit["source"] == "[network] idle_timeout, over 'azure-lb''s documented 4 min drop"
    config = tmp_path / "pool-doctor.toml"
    config.write_text('[network]\nmiddlebox = "aws-nat"\nshape = "drop"\n')
    run = check("--url", url(user, PLAIN, 5432), "--config", str(config))
    [limit] = next(hop for hop in run.json()["path"]["hops"] if hop["kind"] == "middlebox")["limits"]
    assert (limit["seconds"], limit["shape"]) == (350, "drop")
    # The naive pool hangs on the silently dropped flow: the finding names the AWS NAT gateway.
    assert "AWS NAT gateway drops flows idle for 350s" in run.finding("network-nat-gateway-idle-timeout")["title"]


# -- runtime -------------------------------------------------------------------------------------------------


def test_under_aws_lambda_recommend_says_nullpool_and_why(pg: LocalPostgres, route: Route, unique_name: str) -> None:
    user = role(pg, unique_name)
    route(PLAIN, 5432, pg)
    lambda_env = {"AWS_LAMBDA_FUNCTION_NAME": "orders-api"}
    finding = check("--url", url(user, PLAIN, 5432), env=lambda_env).finding("serverless-runtime")
    assert finding["severity"] == "warning" and finding["keys"] == ["poolclass"]
    assert "AWS_LAMBDA_FUNCTION_NAME is set" in finding["evidence"]

    rec = run_pool_doctor(
        "recommend",
        "--format",
        "json",
        "--timeout",
        "5",
        "--url",
        url(user, PLAIN, 5432),
        secret=PASSWORD,
        env=lambda_env,
    ).json()
    assert rec["recommendation"]["poolclass"] == "NullPool"
    why = next(r for r in rec["reasons"] if r["key"] == "poolclass")["why"]
    assert "no pool timer fires while it is frozen" in why and "external pooler" in why
    table = run_pool_doctor(
        "recommend", "--timeout", "5", "--url", url(user, PLAIN, 5432), secret=PASSWORD, env=lambda_env
    )
    assert "NullPool" in table.stdout and "AWS Lambda freezes the process" in table.stdout
    python = run_pool_doctor(
        "recommend",
        "--format",
        "python",
        "--timeout",
        "5",
        "--url",
        url(user, PLAIN, 5432),
        secret=PASSWORD,
        env=lambda_env,
    ).stdout
    assert "from sqlalchemy.pool import NullPool" in python and "poolclass=NullPool," in python
    assert "pool_size=" not in python  # create_engine refuses sizes with NullPool
    compile(python, "recommend.py", "exec")

    # Outside a serverless runtime: no such finding, no poolclass change.
    plain = run_pool_doctor(
        "recommend", "--format", "json", "--timeout", "5", "--url", url(user, PLAIN, 5432), secret=PASSWORD
    ).json()
    assert "poolclass" not in plain["recommendation"]


def test_inside_kubernetes_check_notes_conntrack(pg: LocalPostgres, route: Route, unique_name: str) -> None:
    user = role(pg, unique_name)
    route(PLAIN, 5432, pg)
    run = check("--url", url(user, PLAIN, 5432), env={"KUBERNETES_SERVICE_HOST": "10.0.0.1"})
    finding = run.finding("kubernetes-conntrack")
    assert finding["severity"] == "info" and "conntrack" in finding["detail"]
    assert run.json()["runtime"]["key"] == "kubernetes"


# -- pure: which limits keepalives can refresh -------------------------------------------------------------


@pytest.mark.parametrize(
    "key", ["rds-proxy", "neon", "neon-pooler", "supavisor-session", "supavisor-transaction", "fly-mpg"]
)
def test_limits_that_count_app_idleness_are_not_refreshed_by_keepalives(key: str) -> None:
    entry = by_key(key)
    assert all(not number.refreshed_by_keepalives for number in entry.numbers)
    assert all(not limit.refreshed_by_keepalives for limit in entry.limits())
