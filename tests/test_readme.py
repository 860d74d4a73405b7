"""The README cannot rot: its config reference is the model's, its commands parse, its examples run.

Conventions the README follows, so this file can find what to check:

* A fenced block right after `<!-- runs -->` is run against a throwaway server, in document order, in one
  scratch directory. Each `$ ` line is a shell command; `$ echo $?` and the number under it give the exit
  code the command before must return (0 when not shown). Output lines are an excerpt (`...` marks cuts):
  every finding row shown (`critical  finding-code  fact`), every `Summary:` line and every scenario row
  (`scenario  current-outcome  recommended-outcome`) shown must be in the real output. After `<!-- runs: exact -->` the output shown must be the real output, line for line.
* `<!-- runs: lab -->` before the SQL that builds the server the examples ran against; `<!-- runs: background -->`
  before the `pool-doctor proxy` command the `:15432` examples go through; `<!-- runs: pytest -->` before a test
  module for the reader's own suite; `<!-- proxy log -->` before lines that proxy writes (digits may differ).
* In examples 127.0.0.1:5432 is PostgreSQL, 127.0.0.1:6432 PgBouncer, 15432 the fault proxy; the passwords
  are the literal placeholders `PASSWORD` and `STATS_PASSWORD`, which the throwaway server really uses.

`python tests/test_readme.py` prints the configuration reference table to paste into the README.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import pytest
import typer
from harness import LocalPgBouncer, LocalPostgres
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from pool_doctor.cli import app
from pool_doctor.config import AppConfig, DeploymentConfig, NetworkConfig, PoolerConfig
from pool_doctor.stacks.sqlalchemy import SQLAlchemyPool

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
CLI: Any = typer.main.get_command(app)

# The README's stand-ins for the throwaway servers' random ports.
PG_PORT, BOUNCER_PORT, PROXY_PORT = 5432, 6432, 15432
COLUMNS = "80"  # the width the README's output was captured at: a CI log's


# -- reading the README ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    lang: str
    body: str
    marker: str  # "" when not marked
    line: int  # of the opening fence, 1-based
    heading: str

    @property
    def id(self) -> str:
        return f"line{self.line}-{re.sub(r'[^a-z0-9]+', '-', self.heading.lower()).strip('-')}"


@dataclass
class Step:
    """One `$ command` of a runnable block: the exit code and the output the README shows for it."""

    command: str
    code: int = 0
    shown: list[str] = field(default_factory=list)


FENCE = re.compile(r"^```([\w-]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
MARKER = re.compile(r"<!--\s*(.*?)\s*-->\s*$")


def blocks(text: str = README) -> list[Block]:
    found = []
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").splitlines()
        marker = MARKER.search(before[-1]) if before else None
        heading = next((line.lstrip("#").strip() for line in reversed(before) if line.startswith("#")), "")
        found.append(
            Block(
                match.group(1),
                match.group(2),
                marker.group(1) if marker else "",
                text.count("\n", 0, match.start()) + 1,
                heading,
            )
        )
    return found


def steps(block: Block) -> list[Step]:
    parsed: list[Step] = []
    lines = block.body.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line == "$ echo $?":
            parsed[-1].code = int(lines[i + 1])
            i += 2
            continue
        if line.startswith("$ "):
            parsed.append(Step(line[2:]))
        elif parsed:
            parsed[-1].shown.append(line)
        i += 1
    return parsed


def section(title: str, text: str = README) -> str:
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


# -- (a) the configuration reference is the model's ------------------------------------------------------

SECTIONS: dict[str, type[BaseModel]] = {
    "pool": SQLAlchemyPool,
    "deployment": DeploymentConfig,
    "network": NetworkConfig,
    "pooler": PoolerConfig,
}


def _toml(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "empty"
    if isinstance(value, str):
        return value
    return repr(value)


def _accepts(info: FieldInfo) -> str:
    kind = {int: "integer", float: "seconds", bool: "true or false", str: "text"}
    optional = type(None) in getattr(info.annotation, "__args__", ())
    base = next((t for t in getattr(info.annotation, "__args__", (info.annotation,)) if t is not type(None)), None)
    if get_origin(info.annotation) is Literal:  # its __args__ are the choices, not a union's members
        base = info.annotation
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    if extra.get("accepts") in ("middlebox", "platform"):  # a catalogue key
        from pool_doctor.platforms import EntryKind, keys

        names = keys(EntryKind.MIDDLEBOX if extra["accepts"] == "middlebox" else EntryKind.PLATFORM)
        text = ", ".join(names)
    elif get_origin(base) is Literal or extra.get("accepts") == "stack":
        from pool_doctor.stacks import NAMES

        choices = list(NAMES) if extra.get("accepts") == "stack" else [str(choice) for choice in get_args(base)]
        text = ", ".join(choices[:-1]) + " or " + choices[-1]
    else:
        text = kind.get(base, str(base)) if isinstance(base, type) else str(base)
    bounds = []
    for rule in info.metadata:
        for attr, word in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")):
            if getattr(rule, attr, None) is not None:
                bounds.append(f"{word} {getattr(rule, attr)}")
    if bounds:
        text += ", " + ", ".join(bounds)
    return text + (", or unset" if optional else "")


def _flags() -> dict[tuple[str, str], str]:
    """`[pool] pool_size` -> `--pool-size`, read from the option help of `check` (every key has one)."""
    flags = {}
    for param in CLI.commands["check"].params:
        match = re.match(r"\[(\w+)\] (\w+)\b", getattr(param, "help", None) or "")
        if match:
            shown = " / ".join(f"`{opt}`" for opt in [*param.opts, *param.secondary_opts] if opt.startswith("--"))
            flags[(match.group(1), match.group(2))] = shown
    return flags


def model_keys() -> dict[tuple[str, str], str]:
    """Every (section, key) a config file takes, with its default as the README shows it."""
    keys = {
        (name, key): _toml(info.get_default(call_default_factory=True))
        for name, model in SECTIONS.items()
        for key, info in model.model_fields.items()
    }
    keys[("connect_args", "*")] = _toml(AppConfig.model_fields["connect_args"].get_default(call_default_factory=True))
    return keys


def config_reference() -> str:
    """The README's table, generated from the pydantic models (descriptions, defaults, bounds) and the CLI."""
    flags = _flags()
    rows = ["| section | key | default | accepts | flag | meaning |", "|---|---|---|---|---|---|"]
    for name, model in SECTIONS.items():
        for key, info in model.model_fields.items():
            default = _toml(info.get_default(call_default_factory=True))
            rows.append(
                f"| `[{name}]` | `{key}` | `{default}` | {_accepts(info)} | {flags.get((name, key), '-')} "
                f"| {info.description} |"
            )
    args = AppConfig.model_fields["connect_args"]
    rows.append(
        f"| `[connect_args]` | any | `{_toml(args.get_default(call_default_factory=True))}` | "
        f"the driver's keyword arguments | - | {args.description} |"
    )
    return "\n".join(rows)


def test_config_reference_is_generated_from_the_model() -> None:
    assert config_reference() in section("Configuration"), (
        "the README's configuration table is not the model's: paste the output of `python tests/test_readme.py`"
    )


def test_config_reference_lists_exactly_the_models_keys_and_defaults() -> None:
    rows = re.findall(r"^\| `\[(\w+)\]` \| (?:`(\w+)`|any) \| `([^`]*)` \|", section("Configuration"), re.MULTILINE)
    documented = {(name, key or "*"): default for name, key, default in rows}
    assert documented == model_keys()


def test_every_flag_of_the_reference_is_a_real_option() -> None:
    options = {opt for param in CLI.commands["check"].params for opt in [*param.opts, *param.secondary_opts]}
    for flag in re.findall(r"`(--[\w-]+)`", section("Configuration")):
        assert flag in options, f"{flag} is in the configuration reference but `check` has no such option"


# -- (b) every pool-doctor command shown parses ----------------------------------------------------------

CONTROL = {"&&", "||", ";", "|", "&", "(", ")"}
REDIRECT = {">", ">>", "<"}


def pool_doctor_commands(text: str = README) -> list[tuple[int, list[str]]]:
    """(line, argv after `pool-doctor`) for every pool-doctor call in sh/text/yaml blocks."""
    found = []
    for block in blocks(text):
        lines = block.body.replace("\\\n", " ").splitlines()
        for offset, line in enumerate(lines, start=1):
            if block.lang == "sh":
                shell = line
            elif block.lang == "text" and line.startswith("$ "):
                shell = line[2:]
            elif block.lang == "yaml" and re.match(r"\s*(- )?run: ", line):
                shell = line.split("run: ", 1)[1]
            else:
                continue
            lexer = shlex.shlex(shell, posix=True, punctuation_chars=True)
            lexer.whitespace_split = True
            segment: list[str] = []
            for token in [*lexer, ";"]:
                if token not in CONTROL:
                    segment.append(token)
                    continue
                while segment and re.match(r"^[A-Za-z_]\w*=", segment[0]):  # VAR=value before the command
                    segment.pop(0)
                if segment and segment[0] == "pool-doctor":
                    argv, rest = [], iter(segment[1:])
                    for word in rest:
                        if word in REDIRECT:
                            next(rest, None)
                        else:
                            argv.append(word)
                    found.append((block.line + offset, argv))
                segment = []
    return found


def test_the_readme_shows_commands() -> None:
    shown = {argv[0] for _line, argv in pool_doctor_commands() if argv}
    assert {"check", "recommend", "probe", "proxy", "demo"} <= shown


@pytest.mark.parametrize("line, argv", pool_doctor_commands(), ids=lambda v: str(v) if isinstance(v, int) else None)
def test_every_pool_doctor_command_in_the_readme_parses(line: int, argv: list[str]) -> None:
    assert argv, f"README line {line}: `pool-doctor` without a command"
    name, args = argv[0], argv[1:]
    assert name in CLI.commands, f"README line {line}: no command {name!r} (have {sorted(CLI.commands)})"
    command = CLI.commands[name]
    options = {opt for param in command.params for opt in [*param.opts, *param.secondary_opts]}
    for arg in args:
        if arg.startswith("-") and arg != "-":
            flag = arg.split("=", 1)[0]
            assert flag in options, f"README line {line}: `pool-doctor {name}` has no option {flag}"
    try:
        command.make_context(f"pool-doctor {name}", list(args))  # parses and converts, runs nothing
    except Exception as exc:
        pytest.fail(f"README line {line}: `pool-doctor {' '.join(argv)}` does not parse: {exc}")


# -- (c) the examples run against a throwaway server -----------------------------------------------------

RUNNABLE = [b for b in blocks() if b.marker in ("runs", "runs: exact")]


def _only(marker: str) -> Block:
    found = [b for b in blocks() if b.marker == marker]
    assert len(found) == 1, f"the README should have exactly one block marked <!-- {marker} -->"
    return found[0]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Lab:
    """The README's servers, and how to turn its commands into commands against them and back."""

    pg: LocalPostgres
    workdir: Path
    bouncer: LocalPgBouncer | None = None
    proxy_port: int = field(default_factory=_free_port)

    def ports(self) -> list[tuple[int, int]]:
        """(README port, real port), the longest README port first so 15432 is not read as 5432."""
        pairs = [(PROXY_PORT, self.proxy_port), (PG_PORT, self.pg.port)]
        if self.bouncer is not None:
            pairs.append((BOUNCER_PORT, self.bouncer.port))
        return pairs

    def to_real(self, text: str) -> str:
        for shown, real in self.ports():
            text = re.sub(rf"(?<![\d.]){shown}\b", str(real), text)
        return text

    def to_shown(self, text: str) -> str:
        for shown, real in self.ports():
            text = re.sub(rf"(?<![\d.]){real}\b", str(shown), text)
        return text

    def env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PG", "POOL_DOCTOR_")) and k not in ("FORCE_COLOR", "DATABASE_URL")
        }
        env.update(
            NO_COLOR="1", COLUMNS=COLUMNS, PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        )
        # The walkthrough's `export DATABASE_URL=...`, as the reader runs it.
        exported = re.search(r"^export DATABASE_URL='([^']+)'$", README, re.MULTILINE)
        assert exported, "the README no longer exports DATABASE_URL for its examples"
        env["DATABASE_URL"] = self.to_real(exported.group(1))
        return env

    def run(self, command: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", self.to_real(command)],
            cwd=self.workdir,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


@pytest.fixture(scope="module")
def lab(pg_bindirs: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A dedicated server set up by the README's own SQL.

    Not the shared `pg` with unique names: the README's outputs name role app and database appdb, and the
    exact-output examples must come out the same.
    """
    with LocalPostgres(pg_bindirs[0]) as server:
        for statement in _only("runs: lab").body.split(";"):
            if statement.strip():
                server.sql(statement.strip())
        yield Lab(server, tmp_path_factory.mktemp("readme"))


@pytest.fixture(scope="module")
def bouncer(lab: Lab, pgbouncer_bin: str) -> Iterator[LocalPgBouncer]:
    """PgBouncer as the README describes it: transaction pooling, user stats in stats_users."""
    with LocalPgBouncer(
        lab.pg,
        pool_mode="transaction",
        users={"app": "PASSWORD", "stats": "STATS_PASSWORD"},
        settings={"stats_users": "postgres,stats"},
        binary=pgbouncer_bin,
    ) as started:
        lab.bouncer = started
        yield started


class BackgroundProxy:
    """The README's `pool-doctor proxy` command, running while the examples that go through it run."""

    def __init__(self, lab: Lab) -> None:
        command = _only("runs: background").body.strip()
        assert command.startswith("pool-doctor proxy "), command
        self.log = lab.workdir / "proxy.log"
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(
                shlex.split(lab.to_real(command)), stdout=subprocess.DEVNULL, stderr=log, env=lab.env(), cwd=lab.workdir
            )
        deadline = time.monotonic() + 30
        while "listening on" not in self.log.read_text():
            assert self.proc.poll() is None, f"the README's proxy command exited: {self.log.read_text()}"
            assert time.monotonic() < deadline, "the README's proxy command never listened"
            time.sleep(0.05)

    def stop(self) -> str:
        """Ctrl-C, as the README says; returns what it wrote."""
        self.proc.send_signal(signal.SIGINT)
        try:
            code = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        text = self.log.read_text()
        assert code == 0 and "stopped:" in text, f"the proxy did not stop cleanly on Ctrl-C ({code}): {text}"
        return text


FINDING_ROW = re.compile(r"^(critical|warning|info) +([a-z0-9]+(?:-[a-z0-9]+)+) ")
_OUTCOME = r"ok|skipped|hang \([\d.]+s\)|[A-Z]\w+"
SCENARIO_ROW = re.compile(rf"^([a-z_]+) +({_OUTCOME}) +({_OUTCOME})$")


def findings(lines: list[str]) -> set[tuple[str, str]]:
    """(severity, code) from check's findings table: one row each, the code whole."""
    return {(m.group(1), m.group(2)) for line in lines if (m := FINDING_ROW.match(line))}


def outcomes(lines: list[str]) -> set[tuple[str, str, str]]:
    """(scenario, config, outcome) from a probe table: one row per scenario, current then recommended
    (a hang's seconds may differ from run to run)."""
    found = set()
    for line in lines:
        match = SCENARIO_ROW.match(line.rstrip())
        if match:
            for config, outcome in (("current", match.group(2)), ("recommended", match.group(3))):
                found.add((match.group(1), config, outcome.split(" ", 1)[0]))
    return found


def check_step(lab: Lab, step: Step, exact: bool) -> None:
    done = lab.run(step.command)
    real = lab.to_shown(done.stdout + done.stderr)
    real_lines = [line.rstrip() for line in real.splitlines()]
    where = f"`{step.command}` gave exit {done.returncode}; its output:\n{real}"
    assert done.returncode == step.code, f"expected exit {step.code}: {where}"
    shown = [line.rstrip() for line in step.shown]
    if exact:
        assert shown == real_lines, f"the README shows other output: {where}"
        return
    gone = findings(shown) - findings(real_lines)
    assert not gone, f"the README shows findings {sorted(gone)} the tool no longer reports: {where}"
    for line in shown:
        if line.startswith("Summary:"):
            assert line in real_lines, f"the README shows {line!r}: {where}"
    missing = outcomes(shown) - outcomes(real_lines)
    assert not missing, f"the README shows scenario outcomes {sorted(missing)} that did not happen: {where}"


@pytest.mark.parametrize(
    "block",
    [  # a probe example waits on real, time-scaled idle limits: slow
        pytest.param(b, id=b.id, marks=[pytest.mark.slow] if "pool-doctor probe" in b.body else []) for b in RUNNABLE
    ],
)
def test_readme_example_runs(block: Block, lab: Lab, request: pytest.FixtureRequest) -> None:
    if f"127.0.0.1:{BOUNCER_PORT}" in block.body:
        request.getfixturevalue("bouncer")
    proxy = BackgroundProxy(lab) if f":{PROXY_PORT}" in block.body else None
    try:
        _files_it_reads(block, lab)
        parsed = steps(block)
        assert parsed, f"README line {block.line}: a runnable block without a `$ ` command"
        for step in parsed:
            check_step(lab, step, exact=block.marker == "runs: exact")
    finally:
        log = proxy.stop() if proxy is not None else None
    if log is not None:
        for line in _only("proxy log").body.splitlines():
            pattern = re.sub(r"\d+", r"\\d+", re.escape(line))
            assert any(re.fullmatch(pattern, real) for real in log.splitlines()), (
                f"the README's proxy log shows {line!r}; the proxy wrote:\n{log}"
            )


WRITES = re.compile(r"> (\S+)")


def _files_it_reads(block: Block, lab: Lab) -> None:
    """A file an earlier example writes (`recommend ... > recommended.toml`) and this one reads: written first
    in this lab when it is not there yet, as the suite's workers may run the two examples apart."""
    for writer in RUNNABLE:
        if writer is block:
            return
        for step in steps(writer):
            written = WRITES.search(step.command)
            if written and written.group(1) in block.body and not (lab.workdir / written.group(1)).exists():
                lab.run(step.command)


def test_readme_test_module_for_your_own_suite_passes(lab: Lab, tmp_path: Path) -> None:
    (tmp_path / "test_idle_connections.py").write_text(_only("runs: pytest").body)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            "test_idle_connections.py",
        ],
        cwd=tmp_path,
        env=lab.env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


# -- (d) the JSON the README documents is what the commands print ----------------------------------------

KEY_ROW = re.compile(r"^\| `([^`]+)` \| (.+?) \| (.+?) \|$", re.MULTILINE)


def documented_keys() -> list[tuple[str, str, list[str]]]:
    """(command, path, keys) rows of the README's JSON table; path "top level", `server`, `findings[]` ..."""
    rows = []
    for command, path, keys in KEY_ROW.findall(section("JSON output")):
        names = re.findall(r"`([\w]+)`", keys)
        path_name = re.match(r"`([^`]+)`", path)
        rows.append((command, path_name.group(1) if path_name else "", names))
    return rows


def _at(document: Any, path: str) -> Any:
    for part in [p for p in path.split(".") if p]:
        if part == "*":
            assert isinstance(document, dict) and document, f"nothing under {path}"
            document = next(iter(document.values()))
            continue
        name, is_list = part.removesuffix("[]"), part.endswith("[]")
        document = document[name]
        if is_list:
            assert document, f"{name} is empty: no element to check the keys of"
            document = document[0]
    return document


def test_the_json_keys_the_readme_documents_are_in_real_output(lab: Lab) -> None:
    rows = documented_keys()
    assert {command for command, _path, _keys in rows} == {"check --json", "recommend --format json", "probe --json"}
    outputs = {}
    for command in ("check --json", "recommend --format json"):
        done = lab.run(f"pool-doctor {command}")
        assert done.returncode in (0, 1), done.stderr
        outputs[command] = json.loads(done.stdout)
    # The probe through a fault proxy, so --discover-idle-timeout finds something and the JSON says so.
    from pool_doctor.faults import ThreadedFaultProxy

    with ThreadedFaultProxy("127.0.0.1", lab.pg.port, idle_timeout=1.0) as nat:
        url = f"postgresql+asyncpg://app:PASSWORD@127.0.0.1:{nat.port}/appdb"
        done = lab.run(
            f"pool-doctor probe --json --url {url} --scenario server_idle_timeout --connections 1 "
            "--load-seconds 0.2 --discover-idle-timeout 4 --discover-connections 4"
        )
    assert done.returncode in (0, 1), done.stderr
    outputs["probe --json"] = json.loads(done.stdout)
    # Every row lists exactly the keys the output has there: a key the README forgets is a defect too.
    wrong = []
    for command, path, keys in rows:
        found = set(_at(outputs[command], path))
        if set(keys) != found:
            where = f"`{command}` {path or 'top level'}"
            wrong.append(f"{where}: README lacks {sorted(found - set(keys))}, has extra {sorted(set(keys) - found)}")
    assert not wrong, "\n".join(wrong)


def test_on_error_stdout_stays_empty(lab: Lab) -> None:
    for command in ("check --json", "recommend --format json", "probe --json"):
        done = lab.run(f"pool-doctor {command} --url postgresql://app:PASSWORD@127.0.0.1:1/appdb --timeout 2")
        assert done.returncode == 3 and done.stdout == "", (command, done.returncode, done.stdout)
        *progress, error = done.stderr.splitlines()  # the probe says which step it was on first
        assert all(line.startswith("pool-doctor: probe [") for line in progress), done.stderr
        assert error.startswith("pool-doctor: error: ") and "PASSWORD" not in done.stderr


# -- (e) the CI step -------------------------------------------------------------------------------------


def ci_workflow() -> str:
    found = [b.body for b in blocks(section("In CI")) if b.lang == "yaml"]
    assert len(found) == 1, "the In CI section should show one GitHub Actions workflow"
    return found[0]


def test_ci_snippet_is_a_workflow_that_fails_on_critical_findings() -> None:
    text = ci_workflow()
    # Minimal reading that needs no YAML library: the step, its command and its secret.
    assert re.search(r"^\s+run: pool-doctor check .*--fail-on critical", text, re.MULTILINE), text
    assert "DATABASE_URL: ${{ secrets.DATABASE_URL }}" in text
    assert "\t" not in text, "YAML forbids tabs for indentation"
    try:
        import yaml
    except ImportError:
        return  # the checks above stand; PyYAML is not a test dependency
    workflow = yaml.safe_load(text)
    steps_ = [step for job in workflow["jobs"].values() for step in job["steps"]]
    runs = [step for step in steps_ if str(step.get("run", "")).startswith("pool-doctor check")]
    assert len(runs) == 1 and runs[0]["env"]["DATABASE_URL"] == "${{ secrets.DATABASE_URL }}"


def test_ci_command_fails_the_build_on_a_critical_finding_and_leaves_json(lab: Lab) -> None:
    command = re.search(r"run: (pool-doctor check .*)$", ci_workflow(), re.MULTILINE)
    assert command
    done = lab.run(command.group(1))
    assert done.returncode == 1, done.stderr  # the lab's idle_session_timeout is a critical finding
    written = re.search(r"> (\S+)", command.group(1))
    assert written, "the CI step should keep the JSON report as a file"
    report = json.loads((lab.workdir / written.group(1)).read_text())
    assert report["summary"]["critical"] >= 1


if __name__ == "__main__":
    print(config_reference())
