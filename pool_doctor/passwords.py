"""The passwords one run must never print, gathered from what the user handed it: the command line, the
environment it runs with, ~/.pgpass. Defence in depth: every message is built from the parsed, masked
connection already; these are scrubbed (errors.scrub) from what pool-doctor did not render itself (a
driver's message, a traceback, a library's warning or log record).

cli.main makes one `Passwords` per run and passes it to what prints: the error funnel, the warning hook,
the driver-log handler. (Named passwords, not secrets: a module `secrets` here would shadow the standard
library's for anything run from this folder.)
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence


class Passwords:
    """The passwords to scrub for one run, read from `argv`, `env` and ~/.pgpass on first use: parsing a URL
    and reading ~/.pgpass import more than `--help` may cost, and most runs print nothing to scrub."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str]) -> None:
        self._argv = tuple(argv)
        self._env = env

    def __iter__(self) -> Iterator[str]:
        return iter(self._found)

    @functools.cached_property
    def _found(self) -> tuple[str, ...]:
        return tuple(passwords_in(self._argv, self._env))


def passwords_in(argv: Sequence[str], env: Mapping[str, str]) -> list[str]:
    """Passwords the user may have handed us (longest first): in URLs and `password=` keywords on the command
    line or in DATABASE_URL, PGPASSWORD, and ~/.pgpass's longer ones."""
    import re
    from urllib.parse import unquote

    from pool_doctor.connection.spec import parse_connection

    secrets = [env.get("PGPASSWORD", "")]
    for text in [*argv, env.get("DATABASE_URL", "")]:
        if "://" not in text and "password" not in text.lower():
            continue
        found: list[str] = []
        names: set[str | None] = set()
        try:
            spec = parse_connection(text, "argument")
        except Exception:
            pass
        else:
            found += spec.secrets()
            names = {spec.param("user"), spec.param("dbname")}
        if "://" in text and "@" in text:
            auth = text.split("://", 1)[1].split("?", 1)[0].rpartition("@")[0]
            if ":" in auth:
                raw = auth.split(":", 1)[1]
                found += [raw, unquote(raw)]
        for match in re.finditer(r"password\s*=\s*('(?:[^'\\]|\\.)*'|[^\s&]+)", text, flags=re.IGNORECASE):
            raw = match.group(1).strip("'")
            found += [raw, unquote(raw)]
        # A password that is also this URL's own user or database name (postgres:postgres) is masked where
        # pool-doctor prints it as the password; as the name it is shown, as the report names it anyway.
        secrets += [secret for secret in found if secret not in names]
    from pool_doctor.connection.pgpass import pgpass_entries

    # ~/.pgpass too, but not its very short passwords: they belong to other servers, and would mask plain words.
    secrets += [entry[4] for entry in pgpass_entries(env) if len(entry[4]) >= 4]
    return sorted({s for s in secrets if s}, key=len, reverse=True)
