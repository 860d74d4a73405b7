"""The passwords one run must never print, gathered from what the user handed it: the command line, the
environment it runs with, ~/.pgpass, service files, and (added as the run reads them) the config file and the
driver's connect_args. Defence in depth: every message is built from the parsed, masked connection already;
these are scrubbed (redact.scrub) from every character the run writes (output.guarded), so also from what
pool-doctor did not render itself (a driver's message, a traceback, a library's warning or log record).

cli.main makes one `Passwords` per run and passes it to what prints: the output guard, the error funnel, the
warning hook, the driver-log handler. (Named passwords, not secrets: a module `secrets` here would shadow the standard
library's for anything run from this folder.)
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping, Sequence


class Passwords:
    """The passwords to scrub for one run. Read from `argv`, `env` (URLs, PGPASSWORD, POOL_DOCTOR_* values named
    like secrets, PGSERVICE's service file) and ~/.pgpass on first use: parsing a URL and reading ~/.pgpass
    import more than `--help` may cost, and a run that prints nothing needs none of it. What the run reads
    later (the config file, connect_args, a service a URL names) is `add`ed as soon as it is read, before
    anything built from it is printed."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str]) -> None:
        self._argv = tuple(argv)
        self._env = env
        self._added: dict[str, None] = {}  # insertion-ordered set

    def __iter__(self) -> Iterator[str]:
        return iter((*self._found, *self._added))

    def add(self, values: Iterable[str]) -> None:
        """More secrets, from what the run has just read."""
        for value in values:
            if value and len(value) >= MIN_LENGTH:
                self._added[value] = None

    @functools.cached_property
    def _found(self) -> tuple[str, ...]:
        return tuple(passwords_in(self._argv, self._env))


# A secret this short is a word (`x`, `on`, `5`) that would mask plain text; a config value named like a secret
# that short is not a password worth the noise. (A URL's own password is masked whatever its length.)
MIN_LENGTH = 3


def passwords_in(argv: Sequence[str], env: Mapping[str, str]) -> list[str]:
    """Passwords the user may have handed us (longest first): in URLs and `password=` keywords on the command
    line or in DATABASE_URL, PGPASSWORD, POOL_DOCTOR_* variables named like secrets (or holding URLs and
    JSON with such keys), the service file PGSERVICE names, and ~/.pgpass's longer ones."""
    from pool_doctor.redact import passwords_in_text

    secrets = [env.get("PGPASSWORD", "")]
    for text in [*argv, env.get("DATABASE_URL", "")]:
        if "://" not in text and "password" not in text.lower():
            continue
        from pool_doctor.connection.spec import parse_connection

        found: list[str] = []
        names: set[str | None] = set()
        try:
            spec = parse_connection(text, "argument")
        except Exception:
            pass
        else:
            found += spec.secrets()
            names = {spec.param("user"), spec.param("dbname")}
        found += passwords_in_text(text)
        # A password that is also this URL's own user or database name (postgres:postgres) is masked where
        # pool-doctor prints it as the password; as the name it is shown, as the report names it anyway.
        secrets += [secret for secret in found if secret not in names]
    secrets += [value for value in _pool_doctor_values(env) if len(value) >= MIN_LENGTH]
    if env.get("PGSERVICE"):
        secrets += _service_password(env["PGSERVICE"])
    from pool_doctor.connection.pgpass import pgpass_entries

    # ~/.pgpass too, but not its very short passwords: they belong to other servers, and would mask plain words.
    # (Not only a private file: asyncpg reads one others can read too, with a warning.)
    secrets += [entry[4] for entry in pgpass_entries(env, private_only=False) if len(entry[4]) >= 4]
    return sorted({s for s in secrets if s}, key=len, reverse=True)


def _pool_doctor_values(env: Mapping[str, str]) -> list[str]:
    """Secrets in POOL_DOCTOR_* variables: the value of one named like a secret (POOL_DOCTOR_POOL__PASSWORD),
    and what a JSON value or URL in any of them holds."""
    from pool_doctor.redact import secret_values

    found: list[str] = []
    for name, value in env.items():
        if not name.upper().startswith("POOL_DOCTOR_") or not value:
            continue
        data: object = value
        if value.lstrip()[:1] in ("{", "["):
            import json

            try:
                data = json.loads(value)
            except (ValueError, RecursionError):
                data = value
        found += secret_values({name: data})
    return found


def _service_password(service: str) -> list[str]:
    try:
        from pool_doctor.connection.spec import service_params

        password = service_params(service).get("password")
    except Exception:  # a missing or broken service file is the command's error to report, not ours
        return []
    return [password] if password else []
