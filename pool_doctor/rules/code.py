"""How the app's code creates its pool (code scope): what the scan reads, `scan` and `check --app` judge."""

from __future__ import annotations

from pool_doctor.model import Finding, Severity
from pool_doctor.rules import codes
from pool_doctor.rules.facts import Facts
from pool_doctor.stacks import stack_of


def at_import(facts: Facts) -> list[Finding]:
    code = facts.code
    if code is None or not code.at_import or not facts.app_policy.reuses:
        return []
    if not stack_of(facts.settings.pool).fork_unsafe_at_import:
        return []
    return [
        Finding(
            codes.ENGINE_AT_IMPORT.code,
            Severity.INFO,
            codes.ENGINE_AT_IMPORT.summary,
            "Created at import time: under a forking server that imports before forking (gunicorn "
            "--preload, Celery prefork) children inherit the parent's connections.",
            [f"{code.call} at module level"],
        )
    ]
