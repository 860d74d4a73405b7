"""check --inventory and observe --inventory: many targets, concurrently, one rollup worst first; a target that
fails is its own row; services on one server summed into one budget; no password ever in the file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from cli_runner import run_pool_doctor
from harness import LocalPostgres

PASSWORD = "inv3ntory-Pw!"
ENV = {"APP_DB_PASSWORD": PASSWORD}


def schema(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(files("pool_doctor").joinpath(f"schemas/{name}.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(document)
    return document


def target(name: str, url: str, **extra: str) -> str:
    lines = [f'name = "{name}"', f'url = "{url}"', 'password_env = "APP_DB_PASSWORD"']
    lines += [f'{key} = "{value}"' for key, value in extra.items()]
    return "[[target]]\n" + "\n".join(lines) + "\n"


def write(tmp_path: Path, *targets: str) -> Path:
    path = tmp_path / "inventory.toml"
    path.write_text("\n".join(targets))
    return path


@pytest.fixture(scope="module")
def two_servers(pg_bindirs: list[Path]) -> Iterator[tuple[str, str]]:
    """Two servers (the first and the last major available): the first with room for 20 connections (17
    usable), databases a and b on it; c on the other. Shared by the module: its tests only read."""
    with (
        LocalPostgres(pg_bindirs[0], settings={"max_connections": "20"}) as small,
        LocalPostgres(pg_bindirs[-1]) as other,
    ):
        for server, names in ((small, "ab"), (other, "c")):
            server.create_role("app", PASSWORD)
            for name in names:
                server.create_database(name, owner="app")
        yield f"postgresql+asyncpg://app@127.0.0.1:{small.port}", f"postgresql+asyncpg://app@127.0.0.1:{other.port}"


def test_rollup_sums_the_shared_server_and_a_down_target_is_one_row(
    two_servers: tuple[str, str], tmp_path: Path
) -> None:
    small, other = two_servers
    path = write(
        tmp_path,
        target("svc-a", f"{small}/a"),
        target("svc-b", f"{small}/b"),
        target("svc-c", f"{other}/c"),
        target("svc-down", "postgresql+asyncpg://app@127.0.0.1:1/down"),
    )
    run = run_pool_doctor("check", "--inventory", str(path), "--json", secret=PASSWORD, env=ENV)
    assert run.code == 3, run.stderr  # the worst: the down target cannot connect
    report = run.json()
    jsonschema.validate(report, schema("inventory"))
    rows = {row["name"]: row for row in report["targets"]}
    assert report["targets"][0]["name"] == "svc-down"  # worst first
    down = rows["svc-down"]
    assert down["exit_code"] == 3 and "\n" not in down["error"] and "ConnectionRefusedError" in down["error"]
    assert {rows[n]["exit_code"] for n in ("svc-a", "svc-b", "svc-c")} <= {0, 1}
    # a and b each fit alone (15 of 17), together they do not: one budget, each service's share named.
    (shared,) = [s for s in report["servers"] if s["server"] == small.split("@")[1]]
    assert (shared["max_connections"], shared["reserved"], shared["usable"], shared["demand"]) == (20, 3, 17, 30)
    assert shared["over"] is True
    assert [(s["name"], s["demand"]) for s in shared["services"]] == [("svc-a", 15), ("svc-b", 15)]
    assert report["summary"] == {"targets": 4, "errors": 1, "findings": report["summary"]["findings"]}


def test_over_budget_alone_exits_1_and_the_table_names_the_shares(two_servers: tuple[str, str], tmp_path: Path) -> None:
    small, _ = two_servers
    path = write(tmp_path, target("svc-a", f"{small}/a"), target("svc-b", f"{small}/b", stack="sqlalchemy"))
    run = run_pool_doctor("check", "--inventory", str(path), "--fail-on", "critical", secret=PASSWORD, env=ENV)
    assert run.code == 1, run.stdout + run.stderr
    text = " ".join(run.stdout.split())
    assert "2 service(s) can open 30 connections of 17 usable" in text and "OVER BUDGET" in text
    assert "svc-a 15 (88%), svc-b 15 (88%)" in text


def test_observe_inventory(two_servers: tuple[str, str], tmp_path: Path) -> None:
    small, other = two_servers
    path = write(tmp_path, target("svc-a", f"{small}/a"), target("svc-c", f"{other}/c"))
    run = run_pool_doctor(
        "observe", "--inventory", str(path), "--for", "1s", "--every", "0.5s", "--json", secret=PASSWORD, env=ENV
    )
    assert run.code == 0, run.stderr
    report = run.json()
    jsonschema.validate(report, schema("inventory"))
    assert report["command"] == "observe" and {t["name"] for t in report["targets"]} == {"svc-a", "svc-c"}
    assert report["inventory"] == str(path)
    for row in report["targets"]:
        jsonschema.validate(row["observe"], schema("observe"))


@pytest.mark.parametrize(
    ("table", "says"),
    [
        (f'name = "x"\nurl = "postgresql://app:{PASSWORD}@db/x"\n', "the url holds a password"),
        (f'name = "x"\nurl = "postgresql://app@db/x?password={PASSWORD}"\n', "the url holds a password"),
        (f'name = "x"\nurl = "postgresql://app@db/x"\npassword = "{PASSWORD}"\n', "no password in the inventory"),
        ('name = "x"\nurl = "postgresql://app@db/x"\nhost = "y"\n', "unknown key(s) host"),
        ('url = "postgresql://app@db/x"\n', "needs a name"),
        ('name = "x"\n', "give one of url or service"),
    ],
)
def test_bad_inventories_are_refused_before_connecting(table: str, says: str, tmp_path: Path) -> None:
    path = write(tmp_path, "[[target]]\n" + table)
    run = run_pool_doctor("check", "--inventory", str(path), secret=PASSWORD)
    assert run.code == 2 and says in run.stderr and run.stdout == ""


def test_a_missing_password_variable_is_that_targets_row(two_servers: tuple[str, str], tmp_path: Path) -> None:
    small, _ = two_servers
    lonely = f'[[target]]\nname = "nopw"\nurl = "{small}/b"\npassword_env = "NOT_SET_ANYWHERE"\n'
    path = write(tmp_path, target("svc-a", f"{small}/a"), lonely)
    run = run_pool_doctor("check", "--inventory", str(path), "--json", secret=PASSWORD, env=ENV)
    rows = {row["name"]: row for row in run.json()["targets"]}
    assert rows["nopw"]["exit_code"] == 2 and "NOT_SET_ANYWHERE" in rows["nopw"]["error"]
    assert rows["svc-a"]["error"] is None
    assert run.code == 2


def test_the_example_inventory_is_valid() -> None:
    from pool_doctor.inventory import read_inventory

    targets = read_inventory(Path(__file__).resolve().parent.parent / "inventory.example.toml")
    assert [t.name for t in targets] == ["billing-api", "search-worker", "reports"]
    assert (
        targets[2].service == "reports-ro"
        and targets[1].timeout == 5.0
        and targets[0].app == str(Path(__file__).resolve().parent.parent / "services/billing")
    )


def test_a_targets_app_is_scanned_relative_to_the_inventory(two_servers: tuple[str, str], tmp_path: Path) -> None:
    import shutil

    shutil.copytree(Path(__file__).resolve().parent / "apps" / "two_engines", tmp_path / "svc")
    small, _ = two_servers
    path = write(tmp_path, target("two", f"{small}/a", app="svc"))
    run = run_pool_doctor("check", "--inventory", str(path), "--json", secret=PASSWORD, env=ENV, cwd=Path("/"))
    (row,) = run.json()["targets"]
    assert row["error"] is None and row["demand"] == 35  # both engines' pools summed, as check --app sums them
    assert run.code == 1  # 35 connections on 17 usable slots
