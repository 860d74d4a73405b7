"""Run the installed `pool-doctor` the way a user does: a subprocess with a clean environment."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Variables that would point the command elsewhere than the test says: never inherited.
ENV_NAMES = re.compile(r"^(PG[A-Z]+|DATABASE_URL|POOL_DOCTOR_.*)$")


def binary() -> str:
    """The pool-doctor installed with this interpreter (else the one on PATH)."""
    beside = Path(sys.executable).parent / "pool-doctor"
    found = str(beside) if beside.exists() else shutil.which("pool-doctor")
    assert found, "pool-doctor is not installed (python -m pip install -e '.[test]')"
    return found


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str
    seconds: float

    def json(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.stdout)
        return document

    def findings(self) -> dict[str, str]:
        return {f["code"]: f["severity"] for f in self.json()["findings"]}

    def finding(self, code: str) -> dict[str, Any]:
        return next(f for f in self.json()["findings"] if f["code"] == code)


def run_pool_doctor(
    *args: str, secret: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 60
) -> Run:
    """Run the command; fail if `secret` (the test's password) or a traceback shows anywhere."""
    clean = {k: v for k, v in os.environ.items() if not ENV_NAMES.match(k) and k not in ("COLUMNS", "FORCE_COLOR")}
    clean.update({"NO_COLOR": "1", "COLUMNS": "120", "PGPASSFILE": os.devnull, **(env or {})})
    started = time.monotonic()
    done = subprocess.run(
        [binary(), *args], capture_output=True, text=True, env=clean, cwd=cwd, timeout=timeout, check=False
    )
    run = Run(done.returncode, done.stdout, done.stderr, time.monotonic() - started)
    assert secret not in run.stdout + run.stderr, "a password was printed"
    assert "Traceback" not in run.stderr, run.stderr
    return run
