"""The platform catalogue, recognition from host names and ports, overrides, and runtime detection. Pure."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from pool_doctor.path.model import Layer, Provenance, Shape
from pool_doctor.platforms import (
    CATALOGUE,
    Entry,
    EntryKind,
    by_key,
    chosen,
    detect_runtime,
    keys,
    middlebox_preset,
    recognise,
)
from pool_doctor.platforms.catalogue import CatalogueError, load_catalogue, parse_catalogue

REF = "abcdefghijklmnopqrst"  # a Supabase project ref: 20 lower-case letters

# (host, port, user, expected key, a phrase the evidence must contain): every entry's real shapes.
RECOGNISED = [
    (f"db.{REF}.supabase.co", 5432, "postgres", "supabase", f"db.{REF}.supabase.co"),
    (
        "aws-0-us-east-1.pooler.supabase.com",
        5432,
        f"postgres.{REF}",
        "supavisor-session",
        "port 5432: Supavisor session mode",
    ),
    (
        "aws-1-eu-central-1.pooler.supabase.com",
        6543,
        f"postgres.{REF}",
        "supavisor-transaction",
        "host ends with .pooler.supabase.com and port 6543: Supavisor transaction mode",
    ),
    ("aws-ap-southeast-2.pooler.supabase.com", 6543, None, "supavisor-transaction", "region ap-southeast-2"),
    ("ep-cool-darkness-123456.us-east-2.aws.neon.tech", 5432, "alex", "neon", "ep-cool-darkness-123456"),
    ("ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech", 5432, "alex", "neon-pooler", "-pooler"),
    ("ep-misty-sound-a1b2c3d4-pooler.eastus2.azure.neon.tech", 5432, None, "neon-pooler", "-pooler"),
    ("mydb.abcdefghijkl.us-east-1.rds.amazonaws.com", 5432, None, "rds", "us-east-1.rds.amazonaws.com"),
    ("app.cluster-abcdefghijkl.eu-west-2.rds.amazonaws.com", 5432, None, "rds", "Aurora cluster endpoint"),
    ("app.cluster-ro-abcdefghijkl.cn-north-1.rds.amazonaws.com.cn", 5432, None, "rds", "Aurora"),
    ("app-proxy.proxy-abcdefghijkl.us-east-1.rds.amazonaws.com", 5432, None, "rds-proxy", "RDS Proxy endpoint"),
    ("ro.endpoint.proxy-abcdefghijkl.us-west-2.rds.amazonaws.com", 5432, None, "rds-proxy", "RDS Proxy"),
    ("myserver.postgres.database.azure.com", 5432, "app", "azure-flexible", "flexible server, direct"),
    ("myserver.postgres.database.azure.com", 6432, "app", "azure-pgbouncer", "built-in PgBouncer"),
    ("pgbouncer.abc123xyz.flympg.net", 5432, "fly-user", "fly-mpg", "through its PgBouncer"),
    ("direct.abc123xyz.flympg.net", 5432, "fly-user", "fly-mpg-direct", "bypasses PgBouncer"),
    (
        "db-postgresql-nyc3-12345-do-user-678-0.b.db.ondigitalocean.com",
        25060,
        "doadmin",
        "digitalocean",
        "DigitalOcean Managed PostgreSQL",
    ),
    (
        "private-db-postgresql-nyc3-12345-do-user-678-0.b.db.ondigitalocean.com",
        25061,
        "doadmin",
        "digitalocean-pool",
        "connection pool",
    ),
    ("roundhouse.proxy.rlwy.net", 41234, "postgres", "railway", "Railway"),
    ("postgres.railway.internal", 5432, "postgres", "railway", "Railway"),
    ("dpg-cn1234abcd5678efgh90-a", 5432, "app", "render", "Render"),
    ("dpg-cn1234abcd5678efgh90-a.oregon-postgres.render.com", 5432, "app", "render", "Render"),
    ("pg-3b8d4ed6-myproject.aivencloud.com", 12691, "avnadmin", "aiven", "Aiven"),
    ("pg-abc.a.aivencloud.com", 12691, "avnadmin", "aiven", "Aiven"),
    ("app-rw", 5432, "app", "cloudnativepg", "CloudNativePG -rw Service"),
    ("app-rw.prod.svc.cluster.local", 5432, "app", "cloudnativepg", "the cluster's primary"),
    ("/cloudsql/my-project:us-central1:my-instance", 5432, "app", "cloud-sql", "my-project:us-central1:my-instance"),
]

# Near misses: names that merely contain a vendor's name, lookalike suffixes, the wrong port.
NOT_RECOGNISED = [
    ("neon.example.com", 5432),
    ("ep-cool-darkness-123456.neon.tech.evil.example", 5432),
    ("ep-cool-darkness-123456.notneon.tech", 5432),
    ("myneon.tech", 5432),
    ("supabase.co", 5432),
    ("db.supabase.co.example.com", 5432),
    ("pooler.supabase.com", 6543),
    ("aws-0-us-east-1.pooler.supabase.com", 6544),  # Supavisor listens on 5432 and 6543 only
    ("aws-0-us-east-1.pooler.supabase.com.example.org", 6543),
    ("rds.amazonaws.com", 5432),
    ("mydb.rds.amazonaws.com.example.org", 5432),
    ("ec2-54-1-2-3.compute-1.amazonaws.com", 5432),  # Heroku's hosts are indistinguishable from any EC2 host
    ("myserver.postgres.database.azure.com.evil.example", 6432),
    ("postgres.database.azure.com", 5432),
    ("pgbouncer.flympg.net", 5432),
    ("replica.abc123.flympg.net", 5432),
    ("x.notdb.ondigitalocean.com", 25060),
    ("dpg-abc123-b", 5432),
    ("dpg-abc123-a.oregon-postgres.render.com.evil.example", 5432),
    ("aivencloud.com", 5432),
    ("rlwy.net", 5432),
    ("/var/run/postgresql", 5432),
    ("localhost", 5432),
    ("127.0.0.1", 6543),
]


@pytest.mark.parametrize(("host", "port", "user", "key", "phrase"), RECOGNISED)
def test_recognises_each_platforms_real_host_and_port(
    host: str, port: int, user: str | None, key: str, phrase: str
) -> None:
    found = recognise(host, port, user)
    assert found is not None, host
    assert found.entry.key == key
    assert any(phrase in line for line in found.evidence), found.evidence


@pytest.mark.parametrize(("host", "port"), NOT_RECOGNISED)
def test_near_misses_are_not_recognised(host: str, port: int) -> None:
    assert recognise(host, port) is None


def test_every_recognisable_platform_has_a_real_shape_in_the_table() -> None:
    covered = {key for *_, key, _phrase in RECOGNISED}
    for entry in CATALOGUE:
        if entry.kind is EntryKind.PLATFORM and not entry.recognised_by.startswith("not recognisable"):
            assert entry.key in covered, f"{entry.key} has host shapes ({entry.recognised_by}) but no test row"


def test_host_names_are_case_insensitive_and_may_be_fully_qualified() -> None:
    found = recognise("AWS-0-US-EAST-1.Pooler.Supabase.com.", 6543)
    assert found is not None and found.entry.key == "supavisor-transaction"


def test_the_supavisor_user_is_read_for_its_project_ref() -> None:
    named = recognise("aws-0-us-east-1.pooler.supabase.com", 6543, f"postgres.{REF}")
    bare = recognise("aws-0-us-east-1.pooler.supabase.com", 6543, "postgres")
    assert named is not None and bare is not None
    assert any(f"names the Supabase project {REF}" in line for line in named.evidence)
    assert any("has no .<project-ref> suffix" in line for line in bare.evidence)


def test_supabase_direct_host_on_another_port_says_so() -> None:
    found = recognise(f"db.{REF}.supabase.co", 6543)
    assert found is not None and found.entry.key == "supabase"
    assert any("not the direct port 5432" in line for line in found.evidence)


# ---- overrides ----


def test_by_key_names_every_platform_and_ignores_case() -> None:
    for key in keys(EntryKind.PLATFORM):
        assert by_key(key.upper()).key == key


def test_chosen_platform_records_where_it_was_named() -> None:
    found = chosen("heroku", "--platform")
    assert found.entry.key == "heroku"
    assert found.evidence == ("--platform = 'heroku': Heroku Postgres",)


@pytest.mark.parametrize("lookup", [by_key, middlebox_preset])
def test_unknown_key_lists_the_known_ones(lookup: Callable[[str], Entry]) -> None:
    with pytest.raises(ValueError) as raised:
        lookup("aws-natt")
    message = str(raised.value)
    assert "'aws-natt'" in message
    wanted = EntryKind.PLATFORM if lookup is by_key else EntryKind.MIDDLEBOX
    for key in keys(wanted):
        assert key in message


def test_a_platform_is_not_a_middlebox_preset_and_back() -> None:
    with pytest.raises(ValueError):
        middlebox_preset("rds-proxy")
    with pytest.raises(ValueError):
        by_key("aws-nat")


# (preset, seconds, shape) as the vendors document them.
PRESETS = [
    ("aws-nat", 350, Shape.RESET),
    ("aws-nlb", 350, Shape.RESET),
    ("aws-network-firewall", 350, Shape.DROP),
    ("azure-lb", 240, Shape.DROP),
    ("azure-lb-tcp-reset", 240, Shape.RESET),
    ("azure-nat", 240, Shape.DROP),
    ("gcp-nat", 1200, Shape.DROP),
    ("kube-conntrack", 86400, Shape.DROP),
]


@pytest.mark.parametrize(("key", "seconds", "shape"), PRESETS)
def test_each_middlebox_preset_gives_its_documented_timeout_and_shape(key: str, seconds: float, shape: Shape) -> None:
    (limit,) = middlebox_preset(key).limits()
    assert (limit.seconds, limit.shape) == (seconds, shape)
    assert limit.refreshed_by_keepalives  # a flow timer: any packet, a keepalive too, refreshes it


def test_presets_cover_every_middlebox() -> None:
    assert {key for key, *_ in PRESETS} == set(keys(EntryKind.MIDDLEBOX))


# (platform, limit name, seconds, shape, refreshed by keepalives)
PLATFORM_LIMITS = [
    ("rds-proxy", "IdleClientTimeout", 1800, Shape.CLOSE, False),
    ("neon", "scale to zero", 300, Shape.CLOSE, False),
    ("neon-pooler", "scale to zero", 300, Shape.CLOSE, False),
    ("fly-mpg", "Fly proxy restart", 600, Shape.RESET, False),
]


@pytest.mark.parametrize(("key", "name", "seconds", "shape", "refreshed"), PLATFORM_LIMITS)
def test_platform_limits(key: str, name: str, seconds: float, shape: Shape, refreshed: bool) -> None:
    limit, *_ = by_key(key).limits()
    assert (limit.name, limit.seconds, limit.shape, limit.refreshed_by_keepalives) == (name, seconds, shape, refreshed)


def test_rds_proxy_limit_reads_as_documented_by_aws() -> None:
    limit, lifetime = by_key("rds-proxy").limits()
    assert limit.source == "documented by AWS (RDS Proxy IdleClientTimeout default)"
    assert limit.provenance is Provenance.DOCUMENTED
    assert limit.holder == "Amazon RDS Proxy"
    # Besides the idle timeout, a fixed 24 h end of every client connection: a lifetime, not an idle limit.
    assert (lifetime.name, lifetime.seconds, lifetime.kind) == ("client connection max life", 86400, "lifetime")
    assert lifetime.source == "documented by AWS (RDS Proxy client connection max life, not configurable)"


def test_platforms_that_fail_over_say_how() -> None:
    assert {entry.key for entry in CATALOGUE if entry.fails_over} == {"rds", "azure-flexible", "cloudnativepg"}
    rds = by_key("rds").fails_over
    assert rds is not None and "Concepts.MultiAZ.Failover.html" in rds


def test_pooler_facts() -> None:
    transaction = by_key("supavisor-transaction").pooler
    session = by_key("supavisor-session").pooler
    azure = by_key("azure-pgbouncer").pooler
    assert transaction is not None and (transaction.mode, transaction.prepared_statements) == ("transaction", False)
    assert session is not None and (session.mode, session.prepared_statements) == ("session", True)
    assert azure is not None and azure.mode == "transaction" and azure.prepared_statements is False
    assert dict(azure.settings)["pgbouncer.max_prepared_statements"] == "0"
    assert dict(azure.settings)["pgbouncer.server_idle_timeout"] == "600"
    assert by_key("supabase").pooler is None


def test_neon_advice_says_keeping_the_compute_awake_costs_money() -> None:
    for key in ("neon", "neon-pooler"):
        assert any("awake" in line and "costs money" in line for line in by_key(key).advice)


# ---- the catalogue's own guarantees ----


@pytest.mark.parametrize("entry", CATALOGUE, ids=lambda entry: entry.key)
def test_every_number_has_a_source_or_says_it_is_not_published(entry: Entry) -> None:
    assert entry.numbers, entry.key
    for number in entry.numbers:
        assert "http" in number.reference, f"{entry.key}: {number.name} names no public page"
        if number.seconds is None:
            assert number.note and "publish" in number.note, f"{entry.key}: an absent number must say so"


@pytest.mark.parametrize("entry", CATALOGUE, ids=lambda entry: entry.key)
def test_every_limit_is_positive_shaped_and_documented(entry: Entry) -> None:
    for limit in entry.limits():
        assert limit.seconds > 0
        assert isinstance(limit.shape, Shape)
        assert limit.provenance is Provenance.DOCUMENTED
        assert limit.source.startswith(f"documented by {entry.vendor} (")


def test_keys_are_unique_and_json_round_trips() -> None:
    assert len(keys()) == len(set(keys()))
    for entry in CATALOGUE:
        assert json.loads(json.dumps(entry.to_json()))["key"] == entry.key


def test_middleboxes_are_refreshed_by_keepalives_and_application_timers_are_not() -> None:
    for entry in CATALOGUE:
        for limit in entry.limits():
            assert limit.refreshed_by_keepalives is (entry.kind is EntryKind.MIDDLEBOX), entry.key


# ---- catalogue.toml: read once, checked strictly ----

# The smallest valid file; each case below breaks it in one way.
SMALL = """
[references]
docs = "Example docs, 'Limits': https://example.com/limits"
status = "Example status page: https://status.example.com"

[phrases]
no-limit = "publishes no idle limit"

[[entry]]
key = "example"
vendor = "Example"
name = "Example DB"
kind = "platform"
recognised_by = "*.example.com"
advice = ["Ask {docs}."]

[[entry.number]]
name = "idle limit"
shape = "close"
layer = "platform"
label = "Example DB"
reference = ["docs", "status"]
note = "Example {no-limit}"

[[entry]]
key = "example-nat"
vendor = "Example"
name = "Example NAT"
kind = "middlebox"
recognised_by = "not from the database URL"

[[entry.number]]
name = "idle timeout"
seconds = 350
shape = "reset"
label = "NAT idle timeout"
reference = "docs"
refreshed_by_keepalives = true

[entry.pooler]
software = "PgBouncer"
note = "the user picks the mode"

[entry.pooler.settings]
"pgbouncer.pool_mode" = "transaction"
max_client_conn = "100"
"""


def test_the_shipped_catalogue_is_read_once() -> None:
    assert load_catalogue() is CATALOGUE
    assert len(CATALOGUE) == len(keys()) > 20


def test_a_small_catalogue_builds_the_same_objects_python_would() -> None:
    platform, nat = parse_catalogue(SMALL)
    assert platform.kind is EntryKind.PLATFORM and platform.limits() == []
    (absent,) = platform.unpublished()
    assert absent.seconds is None and absent.layer is Layer.PLATFORM and absent.shape is Shape.CLOSE
    assert absent.note == "Example publishes no idle limit"  # a phrase, by name
    # Several references are one string, joined as the Python catalogue joined them.
    assert (
        absent.reference
        == "Example docs, 'Limits': https://example.com/limits; Example status page: https://status.example.com"
    )
    assert platform.advice == ("Ask Example docs, 'Limits': https://example.com/limits.",)
    (number,) = nat.numbers
    assert number.seconds == 350 and type(number.seconds) is int  # the JSON shows 350, not 350.0
    assert number.refreshed_by_keepalives is True and number.kind == "idle" and number.layer is Layer.NETWORK
    assert nat.pooler is not None and nat.pooler.mode is None and nat.pooler.prepared_statements is None
    assert nat.pooler.settings == (("pgbouncer.pool_mode", "transaction"), ("max_client_conn", "100"))


BROKEN = [
    pytest.param(
        ("seconds = 350", "seconds = 350\nsecnds = 1"),
        r"entry 'example-nat', number 1: unknown key 'secnds'",
        id="unknown key in a number",
    ),
    pytest.param(
        ('vendor = "Example"\nname = "Example NAT"', 'vendor = "Example"\nname = "Example NAT"\nowner = "me"'),
        r"entry 'example-nat': unknown key 'owner'",
        id="unknown key in an entry",
    ),
    pytest.param(("[phrases]", "[phrase]"), r"unknown key 'phrase'", id="unknown top-level table"),
    pytest.param(
        ("seconds = 350", 'seconds = "350"'),
        r"entry 'example-nat', number 1: seconds: expected a positive number of seconds, got '350'",
        id="seconds as a string",
    ),
    pytest.param(
        ("seconds = 350", "seconds = true"),
        r"entry 'example-nat', number 1: seconds: expected a positive number",
        id="seconds as a boolean",
    ),
    pytest.param(
        ("refreshed_by_keepalives = true", 'refreshed_by_keepalives = "yes"'),
        r"entry 'example-nat', number 1: refreshed_by_keepalives: expected true or false",
        id="a flag as a string",
    ),
    pytest.param(
        ('shape = "reset"', 'shape = "rst"'),
        r"entry 'example-nat', number 1: shape: expected one of 'close', 'reset', 'drop', got a string 'rst'",
        id="unknown shape",
    ),
    pytest.param(
        ('note = "Example {no-limit}"\n', ""),
        r"entry 'example', number 1: no 'seconds' says the vendor publishes no number, and then a 'note' must say so",
        id="no seconds and no note",
    ),
    pytest.param(
        ('key = "example-nat"', 'key = "example"'),
        r"entries 1 and 2 both have key 'example'",
        id="an entry key twice",
    ),
    pytest.param(
        ('max_client_conn = "100"', 'max_client_conn = "100"\nmax_client_conn = "200"'),
        r"not valid TOML",
        id="a TOML key twice",
    ),
    pytest.param(
        ('reference = "docs"', 'reference = "doc"'),
        r"entry 'example-nat', number 1: reference: 'doc' is not in \[references\]",
        id="unknown reference",
    ),
    pytest.param(
        ("{no-limit}", "{no-limits}"),
        r"entry 'example', number 1: note: \{no-limits\} is not in \[phrases\] or \[references\]",
        id="unknown phrase",
    ),
    pytest.param(
        ('status = "', 'unused = "x"\nstatus = "'),
        r"\[references\] 'unused' is used by no entry",
        id="unused reference",
    ),
    pytest.param(
        ('software = "PgBouncer"\nnote = "the user picks the mode"', 'software = "PgBouncer"'),
        r"entry 'example-nat', pooler: no 'mode' says the user chooses it, and then a 'note' must say so",
        id="pooler without a mode or a note",
    ),
    pytest.param(
        ("seconds = 350\n", ""),
        r"entry 'example-nat', number 1: no 'seconds'",
        id="middlebox without seconds or note",
    ),
    pytest.param(
        ('seconds = 350\nshape = "reset"', 'shape = "reset"\nnote = "not published"'),
        r"entry 'example-nat': a middlebox needs a number with 'seconds'",
        id="middlebox with nothing published",
    ),
    pytest.param(
        ('key = "example"', 'key = "Example"'),
        r"entry 1: key: expected lower-case words joined by '-', got 'Example'",
        id="key not lower case",
    ),
]


@pytest.mark.parametrize(("edit", "message"), BROKEN)
def test_a_broken_catalogue_is_an_error_naming_the_entry_and_the_key(edit: tuple[str, str], message: str) -> None:
    old, new = edit
    assert SMALL.count(old) == 1, old  # each case breaks one place
    with pytest.raises(CatalogueError, match=message):
        parse_catalogue(SMALL.replace(old, new))


# ---- runtime ----

SERVERLESS_ENVS = [
    ({"AWS_LAMBDA_FUNCTION_NAME": "checkout"}, "aws-lambda", "AWS_LAMBDA_FUNCTION_NAME is set"),
    ({"VERCEL": "1"}, "vercel", "VERCEL is set"),
    ({"FUNCTIONS_WORKER_RUNTIME": "python"}, "azure-functions", "FUNCTIONS_WORKER_RUNTIME is set"),
    ({"K_SERVICE": "fn", "FUNCTION_TARGET": "handler"}, "cloud-functions", "FUNCTION_TARGET is set"),
    ({"FUNCTION_NAME": "fn", "GCP_PROJECT": "p"}, "cloud-functions", "GCP_PROJECT is set"),
    ({"K_SERVICE": "api"}, "cloud-run", "K_SERVICE is set"),
]


@pytest.mark.parametrize(("env", "key", "evidence"), SERVERLESS_ENVS)
def test_serverless_runtimes_recommend_nullpool_and_say_why(env: dict[str, str], key: str, evidence: str) -> None:
    runtime = detect_runtime(env)
    assert runtime is not None and runtime.key == key and runtime.freezes
    assert evidence in runtime.evidence
    text = " ".join(runtime.advice)
    assert "NullPool" in text and "external pooler" in text
    assert "freezes" in text and "#13859" in text


def test_kubernetes_notes_conntrack() -> None:
    runtime = detect_runtime({"KUBERNETES_SERVICE_HOST": "10.96.0.1", "PATH": "/usr/bin"})
    assert runtime is not None and runtime.key == "kubernetes" and not runtime.freezes
    assert runtime.middlebox == "kube-conntrack"
    assert middlebox_preset(runtime.middlebox).key == "kube-conntrack"
    assert any("conntrack" in line for line in runtime.advice)


def test_serverless_inside_kubernetes_carries_both() -> None:
    runtime = detect_runtime({"K_SERVICE": "api", "KUBERNETES_SERVICE_HOST": "10.96.0.1"})
    assert runtime is not None and runtime.key == "cloud-run"
    assert runtime.middlebox == "kube-conntrack"
    assert any("conntrack" in line for line in runtime.advice)


@pytest.mark.parametrize(
    "env", [{}, {"HOME": "/root", "PATH": "/usr/bin"}, {"VERCEL": ""}, {"VERCEL": "  "}, {"FUNCTION_TARGET": "handler"}]
)
def test_no_runtime_when_nothing_names_one(env: dict[str, str]) -> None:
    assert detect_runtime(env) is None
