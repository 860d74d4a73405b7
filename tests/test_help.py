"""Help is part of the product: every command explains itself with an example, and `--help` stays light."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

from pool_doctor.cli import app

HEAVY = ("sqlalchemy", "asyncpg", "psycopg", "psycopg2", "psycopg_pool")

# Runs in a fresh interpreter: render one help page, then report it and which heavy packages got imported.
PROBE = """
import contextlib, io, json, sys
from pool_doctor.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        main(sys.argv[1:])
    except SystemExit as exc:
        code = exc.code
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(HEAVY))
print(json.dumps({"code": code, "help": out.getvalue(), "heavy": heavy}))
"""


def command_paths(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and sub-command the app has right now (probe, proxy, demo appear as they land).

    Duck-typed: Typer >= 0.24 builds on its own vendored click, so isinstance(click.Group) is False.
    """
    paths = [prefix] if prefix else []
    if isinstance(getattr(group, "commands", None), dict):
        for name, command in sorted(group.commands.items()):
            if not command.hidden:
                paths += command_paths(command, (*prefix, name))
    return paths


COMMANDS = command_paths(typer.main.get_command(app))


def render_help(*args: str) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "FORCE_COLOR")}
    env.update(NO_COLOR="1", COLUMNS="80")
    done = subprocess.run(
        [sys.executable, "-c", f"HEAVY = {HEAVY!r}\n{PROBE}", *args, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_the_documented_commands_exist() -> None:
    assert {("check",), ("recommend",)} <= set(COMMANDS)


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_command_has_help_with_an_example(path: tuple[str, ...]) -> None:
    command: Any = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    assert command.help and command.help.strip(), f"{' '.join(path)} has no docstring"
    assert "Example" in command.help, f"{' '.join(path)}'s help shows no example"
    assert command.short_help or command.help.strip().splitlines()[0]

    page = render_help(*path)
    assert page["code"] == 0
    assert "Example" in str(page["help"])
    wide = [line for line in str(page["help"]).splitlines() if len(line) > 80]
    assert not wide, f"`pool-doctor {' '.join(path)} --help` at 80 columns: {wide}"
    assert page["heavy"] == [], f"`pool-doctor {' '.join(path)} --help` imported {page['heavy']}"


def test_root_help_lists_commands_and_exit_codes_without_heavy_imports() -> None:
    page = render_help()
    text = " ".join(str(page["help"]).split())
    assert page["code"] == 0
    for name, *_rest in COMMANDS:
        assert name in text
    assert "Exit codes: 0" in text and "3 cannot connect" in text
    assert page["heavy"] == [], f"`pool-doctor --help` imported {page['heavy']}"


def test_installed_entry_point_and_module_both_answer_help() -> None:
    script = Path(sys.executable).parent / "pool-doctor"
    for argv in ([str(script), "--help"], [sys.executable, "-m", "pool_doctor", "--help"]):
        if not Path(argv[0]).exists():
            continue
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0 and "check" in done.stdout, done.stderr


# -- the README's promises --------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent


def _section(markdown: str, title: str) -> str:
    start = markdown.index(f"\n## {title}\n")
    end = markdown.find("\n## ", start + 1)
    return markdown[start : end if end != -1 else len(markdown)]


def test_readme_quick_start_is_two_commands_and_ci_runs_the_second() -> None:
    quick = _section((ROOT / "README.md").read_text(), "Quick start")
    commands = re.findall(r"```sh\n(.*?)\n```", quick, flags=re.DOTALL)
    assert commands == [
        "python -m pip install -e '.[embedded]' && pool-doctor demo",
        "python -m pip install -e '.[test]' && python -m pytest",
    ]
    ci = (ROOT / ".ci" / "run").read_text()
    assert f'TEST_COMMAND="{commands[1]}"' in ci
    assert "export CI=true" in ci and "set -euo pipefail" in ci
    assert os.access(ROOT / ".ci" / "run", os.X_OK)


def test_readme_documents_every_exit_code() -> None:
    from pool_doctor.errors import ExitCode

    text = (ROOT / "README.md").read_text()
    for code in ExitCode:
        assert f"\n| {int(code)} |" in text, f"exit code {int(code)} is not in the README"
    assert "config.example.toml" in text and (ROOT / "config.example.toml").is_file()


def test_probe_help_names_every_scenario() -> None:
    """--help imports no probe code, so its list of scenarios is written out: it must name every one."""
    import pool_doctor.probe.runner  # noqa: F401  (registers every scenario)
    from pool_doctor.cli_options import Scenarios
    from pool_doctor.probe.scenarios import scenario_names

    help_text = next(arg for arg in Scenarios.__metadata__).help or ""
    named = [name.strip(" .") for name in help_text.split(":", 1)[1].split("Default")[0].split(",")]
    assert named == scenario_names()
