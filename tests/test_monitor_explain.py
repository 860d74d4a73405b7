"""Attribution and `explain` without a database: table-driven over Limits and records, CLI in process."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from pool_doctor.cli import main
from pool_doctor.errors import UsageError
from pool_doctor.inspect.sources import describe_source
from pool_doctor.monitor.attribution import Measures, attribute, limits_from_report, limits_from_settings
from pool_doctor.monitor.explain import build_report, histogram
from pool_doctor.path.model import Layer, Limit, Provenance, Shape
from pool_doctor.render.explain import histogram_lines

SERVER = Limit(
    "idle_session_timeout", 2.0, Shape.CLOSE, Layer.SERVER, "PostgreSQL", "ALTER ROLE app SET", Provenance.SERVER
)
NAT = Limit("idle_timeout", 350.0, Shape.RESET, Layer.NETWORK, "AWS NAT gateway", "AWS docs", Provenance.DOCUMENTED)
IN_TX = Limit(
    "idle_in_transaction_session_timeout",
    5.0,
    Shape.CLOSE,
    Layer.SERVER,
    "PostgreSQL",
    "ALTER ROLE ALL SET",
    Provenance.SERVER,
)
LIFETIME = Limit(
    "server_lifetime", 60.0, Shape.CLOSE, Layer.POOLER, "PgBouncer", "SHOW CONFIG", Provenance.POOLER, kind="lifetime"
)


def measures(
    idle: float, age: float | None = None, held: float | None = None, mid: bool = False, sqlstate: str | None = None
) -> Measures:
    return Measures(
        idle_s=idle, age_s=age if age is not None else idle, held_s=held, mid_checkout=mid, sqlstate=sqlstate
    )


@pytest.mark.parametrize(
    ("m", "limits", "expected"),
    [
        (measures(3.0), [SERVER], "idle_session_timeout"),  # the case: noticed 1 s after it fired
        (measures(1.99), [SERVER], "idle_session_timeout"),  # within the tolerance of a timer
        (measures(1.5), [SERVER], "unexplained"),
        (measures(400.0), [NAT, SERVER], "idle_session_timeout"),  # both passed: the 2 s one fired first
        (measures(400.0), [NAT], "idle_timeout"),
        (measures(10.0, age=70.0), [LIFETIME, NAT], "server_lifetime"),  # age, not idle, for a lifetime limit
        (measures(6.0), [IN_TX], "unexplained"),  # in the pool nothing is inside a transaction
        (measures(6.0, held=8.0, mid=True), [IN_TX], "idle_in_transaction_session_timeout"),
        (measures(0.5, sqlstate="57P05"), [SERVER], "idle_session_timeout"),  # the server said so: timing aside
        (measures(0.5, sqlstate="57P01"), [SERVER], "terminated"),
        (measures(3.0), [], "unexplained"),
    ],
)
def test_attribution(m: Measures, limits: list[Limit], expected: str) -> None:
    assert attribute(m, limits)["name"] == expected


def test_unexplained_names_the_nearest_candidates() -> None:
    cause = attribute(measures(1.0), [NAT, SERVER])
    assert cause["explained"] is False
    assert [c["name"] for c in cause["candidates"]] == ["idle_session_timeout", "idle_timeout"]
    assert cause["candidates"][0]["short_by_s"] == 1.0


def test_limits_from_a_check_report(tmp_path: Path) -> None:
    report = {
        "path": {
            "limits": [
                {**SERVER.to_json(), "faces": "app"},
                {**NAT.to_json(), "faces": "app"},
                {**LIFETIME.to_json(), "faces": "pooler"},
            ]
        }
    }
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report))
    for source in (report, str(path)):
        limits = limits_from_report(source)
        assert [limit.to_json() for limit in limits] == [SERVER.to_json(), NAT.to_json()]  # not the pooler-facing one
    with pytest.raises(UsageError, match=r"path\.limits"):
        limits_from_report({"findings": []})
    with pytest.raises(UsageError, match="does not exist"):
        limits_from_report(tmp_path / "missing.json")


def test_limits_from_pg_settings_rows() -> None:
    rows = [
        ("idle_session_timeout", "2000", "ms", "user", None, None),
        ("idle_in_transaction_session_timeout", "0", "ms", "default", None, None),
        ("transaction_timeout", "60000", "ms", "configuration file", "/data/postgresql.conf", 12),
    ]
    limits = limits_from_settings(rows, role="app", database="appdb")
    assert [(limit.what, limit.kind) for limit in limits] == [
        (f"idle_session_timeout = 2s, set by {describe_source('user', role='app', database='appdb')}", "idle"),
        ("transaction_timeout = 1min, set by postgresql.conf:12", "lifetime"),
    ]


def record(idle: float, cause: dict[str, Any], failed: bool = True, stack: str = "sqlalchemy") -> dict[str, Any]:
    return {
        "schema_version": 1,
        "event": "death",
        "stack": stack,
        "idle_s": idle,
        "request_failed": failed,
        "target": "postgresql+asyncpg://app:***@db/app",
        "cause": cause,
        "error": {"type": "asyncpg.exceptions.InterfaceError", "message": "connection is closed"},
    }


def test_report_groups_causes_and_asks_the_judge() -> None:
    explained = attribute(measures(3.0), [SERVER])
    records = [record(3.0, explained), record(3.4, explained, failed=False), record(1.0, attribute(measures(1.0), []))]
    report = build_report(records)
    assert (report.deaths, report.failed, report.replaced) == (3, 2, 1)
    first = report.causes[0]
    assert first.name == "idle_session_timeout" and first.deaths == 2
    assert [(p.setting, p.outcome) for p in first.prevented_by] == [
        ("pool_pre_ping = true", "replaced"),
        ("pool_recycle = 1", "survives"),
    ]
    unexplained = report.causes[1]
    assert unexplained.name == "unexplained" and "limits_from" in unexplained.advice[0]
    asyncpg_report = build_report([record(3.0, explained, stack="asyncpg")])
    assert [p.setting for p in asyncpg_report.causes[0].prevented_by] == ["max_inactive_connection_lifetime = 1"]
    in_tx = build_report([record(6.0, attribute(measures(6.0, held=8.0, mid=True), [IN_TX]))])
    assert in_tx.causes[0].prevented_by == [] and "no pool setting prevents it" in in_tx.causes[0].advice[0]


@pytest.mark.parametrize(
    "values",
    [[3.0], [0.2, 1.0, 2.5], [299.0, 300.2, 301.0, 7200.0], [86400.0 * 3], [3.0, 86400.0 * 400], [0.0, 3.1e9]],
)
def test_histogram_counts_every_death_and_fits_80_columns(values: list[float]) -> None:
    bins = histogram(values, [SERVER, NAT])
    assert sum(b.count for b in bins) == len(values)
    assert len(bins) <= 8
    assert all(len(line) <= 80 for line in histogram_lines(bins))


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


def test_explain_reads_stdin(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    line = json.dumps(record(3.0, attribute(measures(3.0), [SERVER])))
    monkeypatch.setattr("sys.stdin", io.StringIO(line + "\n\n"))
    code, out, _ = run_cli(capsys, "explain", "-", "--format", "json")
    assert code == 0 and json.loads(out)["causes"][0]["name"] == "idle_session_timeout"


GOOD = '{"schema_version": 1, "event": "death", "idle_s": 3.0}\n'


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("not json\n", "line 1 is not JSON"),
        ('{"event": "death"}\n', "no schema_version"),
        ('{"schema_version": 9, "event": "death"}\n', "schema_version 9"),
        (b"\xff\xfe\x00", "not text"),
        ('{"schema_version": "one", "event": "death"}\n', "schema_version 'one'"),
        # A record of the wrong shape is a bad line, named by its number (was AttributeError / ValueError).
        ('{"schema_version": 1, "event": "death", "cause": 5}\n', "line 1 is not a death record as the monitor"),
        (GOOD + '{"schema_version": 1, "event": "death", "idle_s": NaN}\n', "line 2 is not a death record"),
        ('{"schema_version": 1, "event": "death", "idle_s": "3s"}\n', "idle_s is '3s', not a number of seconds"),
        ('{"schema_version": 1, "event": "death", "idle_s": 1e308}\n', "idle_s is 1e+308"),
        ('{"schema_version": 1, "event": "death", "error": "boom"}\n', "error is a string"),
        ('{"schema_version": 1, "event": "death", "cause": {"limit": 2}}\n', "cause.limit is a number"),
        ('{"schema_version": 1, "event": "death", "cause": {"limit": {"name": "x"}}}\n', "cause.limit: not a limit"),
        (
            '{"schema_version": 1, "event": "death", "cause": {"limit": {"name": "x", "seconds": Infinity}}}\n',
            "cause.limit.seconds is inf",
        ),
        ('{"schema_version": 1, "event": "death", "cause": {"candidates": 3}}\n', "cause.candidates is a number"),
    ],
)
def test_explain_unreadable_log_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str | bytes | None, message: str
) -> None:
    path = tmp_path / "deaths.jsonl"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    code, out, err = run_cli(capsys, "explain", str(path))
    assert code == 2 and out == ""
    assert err.startswith("pool-doctor: error: ") and message in err and len(err.splitlines()) == 1


def test_explain_empty_log(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "deaths.jsonl"
    path.write_text("")
    code, out, _ = run_cli(capsys, "explain", str(path))
    assert code == 0 and "No connection deaths recorded" in out
