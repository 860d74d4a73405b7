"""Shell completion, as Typer provides it: `--install-completion` / `--show-completion`, and the completions a
shell asks for through the installed command (the same funnel as every command, main())."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from cli_runner import clean_environment, command


def complete(words: str, *, tmp_path: Path) -> list[str]:
    """What bash's completion function gets for the command line `words` (the cursor after its last word)."""
    env = clean_environment(
        {"_POOL_DOCTOR_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(len(words.split()) - 1)}
    )
    done = subprocess.run([*command()], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_commands_and_options_complete(tmp_path: Path) -> None:
    assert complete("pool-doctor sc", tmp_path=tmp_path) == ["scan"]
    assert complete("pool-doctor check --pool-re", tmp_path=tmp_path) == ["--pool-recycle"]
    assert complete("pool-doctor scan --fail-on cr", tmp_path=tmp_path) == ["critical"]


def test_root_help_offers_completion_without_heavy_imports(tmp_path: Path) -> None:
    done = subprocess.run(
        [*command(), "--help"], env=clean_environment(), capture_output=True, text=True, timeout=60, check=True
    )
    assert "--install-completion" in done.stdout and "--show-completion" in done.stdout


def test_install_completion_writes_the_shells_files(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = clean_environment({"HOME": str(home), "SHELL": "/bin/bash"})
    shown = subprocess.run(
        [*command(), "--show-completion", "bash"], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    assert "_pool_doctor_completion()" in shown.stdout and "_POOL_DOCTOR_COMPLETE=complete_bash" in shown.stdout
    installed = subprocess.run(
        [*command(), "--install-completion", "bash"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert installed.returncode == 0, installed.stderr
    script = home / ".bash_completions" / "pool-doctor.sh"
    assert script.read_text().strip() == shown.stdout.strip()
    assert f"source '{script}'" in (home / ".bashrc").read_text() or str(script) in (home / ".bashrc").read_text()
    assert not os.environ.get("_POOL_DOCTOR_COMPLETE")
