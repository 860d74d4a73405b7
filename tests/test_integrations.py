"""The entry points where users already work: the pre-commit hook (run for real by `pre-commit try-repo`) and
the GitHub composite action (its steps run here as a runner would run them), on a sample project.

`pre-commit try-repo` installs the hook's own virtualenv from this checkout, its dependencies from PyPI: it
needs the network (slow: about half a minute with pip's cache warm).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from harness import LocalPostgres

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "integr-pw-T5"
UNGUARDED = """\
import os

from sqlalchemy import create_engine

engine = create_engine(os.environ.get("DATABASE_URL", "postgresql+psycopg://app@localhost/appdb"))
"""
GUARDED = UNGUARDED.replace(
    '"postgresql+psycopg://app@localhost/appdb")',
    '"postgresql+psycopg://app@localhost/appdb"), pool_pre_ping=True, pool_recycle=240',
)


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=test@example.invalid", "-c", "user.name=test", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A git repository with an app whose engine has SQLAlchemy's defaults: no pre-ping, no recycle."""
    root = tmp_path / "project"
    (root / "app").mkdir(parents=True)
    (root / "app" / "db.py").write_text(UNGUARDED)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "the app")
    return root


# -- pre-commit ----------------------------------------------------------------------------------------------


def test_hook_definition() -> None:
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "pool-doctor-scan" and hook["language"] == "python"
    assert hook["entry"] == "pool-doctor scan" and hook["args"] == ["--fail-on", "warning"]
    assert hook["pass_filenames"] is False  # one scan of the project: scan takes one PATH


@pytest.mark.slow
def test_pre_commit_try_repo_flags_the_unguarded_engine_and_passes_once_fixed(project: Path, tmp_path: Path) -> None:
    if shutil.which("pre-commit") is None and not (Path(sys.executable).parent / "pre-commit").exists():
        pytest.fail("pre-commit is not installed (pip install 'pool-doctor[test]')")
    pre_commit = shutil.which("pre-commit") or str(Path(sys.executable).parent / "pre-commit")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "POOL_DOCTOR_", "PYTHONPATH"))}
    env["PRE_COMMIT_HOME"] = str(tmp_path / "pre-commit-home")  # a fresh hook environment, built from ROOT

    def try_repo() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [pre_commit, "try-repo", str(ROOT), "pool-doctor-scan", "--all-files"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    flagged = try_repo()
    assert flagged.returncode == 1, flagged.stdout + flagged.stderr
    assert re.search(r"pool-doctor scan\.+Failed", flagged.stdout), flagged.stdout
    assert "warning    no-liveness-check   app/db.py:5" in flagged.stdout

    (project / "app" / "db.py").write_text(GUARDED)
    git(project, "commit", "-qam", "pre-ping and recycle")
    passed = try_repo()
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert re.search(r"pool-doctor scan\.+Passed", passed.stdout), passed.stdout


# -- the GitHub action ---------------------------------------------------------------------------------------


ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


class Runner:
    """What GitHub's runner does with a composite action's steps, for the expressions action.yml uses: inputs
    (with their defaults), github.action_path, steps.<id>.outputs.<name>; `if:` as == / != against a literal;
    GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, GITHUB_PATH and RUNNER_TEMP files; bash as `bash -eo pipefail`.
    An expression it does not know fails the test, so the action cannot drift past what is tested."""

    def __init__(self, workspace: Path, temp: Path, inputs: dict[str, str], env: dict[str, str]) -> None:
        self.workspace, self.temp = workspace, temp
        self.inputs = {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
        unknown = set(inputs) - set(self.inputs)
        assert not unknown, f"action.yml has no input {unknown}"
        self.inputs.update(inputs)
        self.outputs: dict[str, dict[str, str]] = {}
        self.summary = temp / "summary.md"
        self.env = {**env, "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(workspace), "RUNNER_TEMP": str(temp)}
        self.env["GITHUB_STEP_SUMMARY"] = str(self.summary)
        self.ran: list[tuple[str, subprocess.CompletedProcess[str]]] = []

    def value(self, expression: str) -> str:
        if expression.startswith("inputs."):
            return self.inputs[expression.removeprefix("inputs.")]
        if expression == "github.action_path":
            return str(ROOT)
        match = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expression)
        if match:
            return self.outputs.get(match.group(1), {}).get(match.group(2), "")
        raise AssertionError(f"the test runner does not know the expression {expression!r}")

    def substitute(self, text: str) -> str:
        return EXPRESSION.sub(lambda m: self.value(m.group(1)), text)

    def condition(self, text: str) -> bool:
        match = re.fullmatch(r"(\S+)\s*(==|!=)\s*'([^']*)'", text.strip())
        assert match, f"the test runner does not know the condition {text!r}"
        equal = self.value(match.group(1)) == match.group(3)
        return equal if match.group(2) == "==" else not equal

    def run(self, skip: set[str]) -> None:
        for number, step in enumerate(ACTION["runs"]["steps"]):
            name = step.get("id") or step.get("name")
            if "if" in step and not self.condition(step["if"]):
                continue
            if "uses" in step:  # another action (the SARIF upload): its inputs are resolved, not run
                self.ran.append(
                    (
                        name,
                        subprocess.CompletedProcess(
                            [step["uses"]],
                            0,
                            json.dumps(
                                {key: self.substitute(str(value)) for key, value in step.get("with", {}).items()}
                            ),
                            "",
                        ),
                    )
                )
                continue
            if name in skip:
                continue
            assert step["shell"] == "bash"
            output = self.temp / f"output-{number}"
            output.touch()
            env = {**self.env, "GITHUB_OUTPUT": str(output), "GITHUB_PATH": str(self.temp / "path")}
            env.update({key: self.substitute(str(value)) for key, value in step.get("env", {}).items()})
            done = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", self.substitute(step["run"])],
                cwd=self.workspace,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            self.ran.append((name, done))
            if "id" in step:
                self.outputs[step["id"]] = dict(
                    line.split("=", 1) for line in output.read_text().splitlines() if "=" in line
                )
            if done.returncode != 0:
                return

    def step(self, name: str) -> subprocess.CompletedProcess[str]:
        return dict(self.ran)[name]


@pytest.fixture(scope="module")
def server(pg_bindirs: list[Path]) -> Iterator[LocalPostgres]:
    with LocalPostgres(pg_bindirs[0]) as pg:
        pg.create_role("app", PASSWORD, settings={"idle_session_timeout": "5min"})
        pg.create_database("appdb", owner="app")
        yield pg


def shim(bindir: Path) -> dict[str, str]:
    """`pool-doctor` on PATH from this checkout, as the install step puts the installed one there."""
    bindir.mkdir()
    script = bindir / "pool-doctor"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m pool_doctor "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "POOL_DOCTOR_", "GITHUB_"))}
    env["PATH"] = f"{bindir}{os.pathsep}{env['PATH']}"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    env.update(NO_COLOR="1", COLUMNS="120")
    return env


def test_the_action_installs_its_own_checkout_into_a_virtualenv() -> None:
    install = next(step for step in ACTION["runs"]["steps"] if step.get("id") == "install")
    assert ACTION["runs"]["using"] == "composite"
    assert install["env"] == {"SPEC": "${{ inputs.version }}", "ACTION_PATH": "${{ github.action_path }}"}
    assert 'pip install --quiet --disable-pip-version-check "${SPEC:-$ACTION_PATH}"' in install["run"]
    assert '>> "$GITHUB_PATH"' in install["run"]
    # tests/test_packaging.py installs the built wheel into a fresh virtualenv the same way.


def test_the_action_scans_annotates_uploads_sarif_checks_and_fails(
    server: LocalPostgres, project: Path, tmp_path: Path
) -> None:
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    url = server.url("app", PASSWORD, "appdb", driver="psycopg")
    runner = Runner(project, temp, {"path": "app", "sarif": "true", "database-url": url}, shim(tmp_path / "bin"))
    runner.run(skip={"install"})

    scan = runner.step("scan")
    assert scan.returncode == 0 and runner.outputs["scan"] == {"code": "1"}  # a warning at the default fail-on
    assert "::error file=app/db.py,line=5,endLine=5,title=no-liveness-check::" in scan.stderr

    sarif = json.loads(Path(runner.outputs["sarif"]["file"]).read_text())
    assert {r["ruleId"] for r in sarif["runs"][0]["results"]} >= {"no-liveness-check"}
    assert "::" not in runner.step("sarif").stderr  # annotated once, by the scan step
    upload = json.loads(runner.step("Upload SARIF to code scanning").stdout)
    assert upload == {"sarif_file": runner.outputs["sarif"]["file"], "category": "pool-doctor"}

    check = runner.step("check")
    assert runner.outputs["check"] == {"code": "1"}
    assert "::error file=app/db.py,line=5,endLine=5,title=idle-session-timeout::" in check.stderr
    assert PASSWORD not in check.stdout + check.stderr  # the URL came through the environment

    summary = runner.summary.read_text()
    assert "## pool-doctor scan: 1 pool, 3 findings" in summary and "## pool-doctor check: 1 critical" in summary
    verdict = runner.step("Verdict")
    assert verdict.returncode == 1  # the step fails, after every other step has run


def test_the_action_passes_a_guarded_app_without_a_database(project: Path, tmp_path: Path) -> None:
    (project / "app" / "db.py").write_text(GUARDED)
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    runner = Runner(project, temp, {}, shim(tmp_path / "bin"))
    runner.run(skip={"install"})
    assert [name for name, _ in runner.ran] == ["scan", "Verdict"]
    assert runner.outputs["scan"] == {"code": "0"} and runner.step("Verdict").returncode == 0


def test_every_input_is_used_and_described() -> None:
    text = (ROOT / "action.yml").read_text()
    for name, spec in ACTION["inputs"].items():
        assert spec["description"].strip()
        assert f"inputs.{name}" in text, f"input {name} is never used"
