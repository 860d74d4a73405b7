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
            [f"{code.call} made as a module is imported"],
        )
    ]


def worker_conn_max_age(facts: Facts) -> list[Finding]:
    """A stack whose connection age only a request's signals enforce, in a project that runs workers."""
    code = facts.code
    enforcer = stack_of(facts.settings.pool).age_enforced_by
    if code is None or not code.workers or enforcer is None or not facts.app_policy.reuses:
        return []
    return [
        Finding(
            codes.WORKER_CONN_MAX_AGE.code,
            Severity.INFO,
            f"Celery workers in this project: only {enforcer} retires these connections, and no request runs it",
            codes.WORKER_CONN_MAX_AGE.help,
            [
                *(
                    f"a Celery app is created in {where}, with no DJANGO_SETTINGS_MODULE set before it"
                    for where in code.workers
                ),
                f"{code.call}: a connection stays open between tasks until {enforcer} closes it",
                "fix: signals.task_prerun.connect(lambda **_: close_old_connections()) and the same for "
                "task_postrun (celery.signals, django.db.close_old_connections)",
            ],
        )
    ]
