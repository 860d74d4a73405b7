"""Where the database is: `--url`, else `DATABASE_URL`, else libpq's PG* variables and ~/.pgpass.

SQLAlchemy's `make_url` is the reference parser, but importing SQLAlchemy costs more than the whole
`check` budget (bench/), so `check` parses with the standard library and tests hold both parsers
to the same answers. Passwords live in SecretStr and are only ever shown masked.
"""

from __future__ import annotations

import getpass
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from pydantic import SecretStr

from pool_doctor.errors import UsageError

SCHEMES = {"postgresql", "postgres"}
DRIVERS = {"asyncpg", "psycopg", "psycopg2", "psycopg_async"}
MASK = "***"


@dataclass(frozen=True)
class Target:
    """A resolved connection target; `driver` is the URL's SQLAlchemy driver ('' for plain postgresql://)."""

    host: str
    port: int
    user: str
    database: str
    password: SecretStr | None = field(default=None, repr=False)
    driver: str = ""
    query: tuple[tuple[str, str], ...] = ()
    source: str = "url"

    @property
    def is_unix_socket(self) -> bool:
        return self.host.startswith("/")

    @property
    def sslmode(self) -> str | None:
        return dict(self.query).get("sslmode") or dict(self.query).get("ssl")

    @property
    def dialect_driver(self) -> str:
        """The driver an engine built for this target uses: psycopg unless the URL names asyncpg."""
        return "asyncpg" if self.driver == "asyncpg" else "psycopg"

    def display(self) -> str:
        """The URL with the password masked: safe for any output."""
        return self.render(hide_password=True)

    def render(self, *, hide_password: bool = True, driver: str | None = None) -> str:
        chosen = self.driver if driver is None else driver
        scheme = "postgresql" + (f"+{chosen}" if chosen else "")
        auth = quote(self.user, safe="")
        if self.password is not None:
            auth += ":" + (MASK if hide_password else quote(self.password.get_secret_value(), safe=""))
        netloc = f"{auth}@" if auth else ""
        if self.is_unix_socket:
            query = (("host", self.host), *self.query)
            return f"{scheme}://{netloc}/{quote(self.database, safe='')}?{urlencode(query)}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        tail = f"?{urlencode(self.query)}" if self.query else ""
        return f"{scheme}://{netloc}{host}:{self.port}/{quote(self.database, safe='')}{tail}"

    def with_password(self, password: str | None) -> Target:
        return replace(self, password=SecretStr(password) if password is not None else None)

    def secrets(self) -> list[str]:
        """Strings that must never reach the screen."""
        if self.password is None or not self.password.get_secret_value():
            return []
        raw = self.password.get_secret_value()
        return sorted({raw, quote(raw, safe=""), quote(raw)}, key=len, reverse=True)


def parse_url(url: str, env: Mapping[str, str] | None = None, source: str = "url") -> Target:
    """Parse a postgresql[+driver]:// URL; parts it leaves out come from libpq's environment variables."""
    env = os.environ if env is None else env
    try:
        parts = urlsplit(url.strip())
        scheme, _, driver = parts.scheme.lower().partition("+")
        port_text = parts.netloc.rpartition("@")[2]
        if "," in port_text:  # before the port check, which would call "h1:5432,h2" a bad port
            raise UsageError(f"multi-host URLs are not supported: {_shown(url)}")
        parts.port  # noqa: B018  - urlsplit validates the port lazily; touch it to raise here
    except ValueError as exc:
        # Not urlsplit's own words: they quote the text it took for a port, which may be half a password.
        what = "the port is not a number from 0 to 65535" if "port" in str(exc).lower() else "the host part is invalid"
        raise UsageError(
            f"malformed database URL {_shown(url)}: {what} (a password with / @ : # ? must be percent-encoded)"
        ) from None
    if not parts.scheme or "://" not in url:
        raise UsageError(f"malformed database URL {_shown(url)}: expected postgresql://user@host:port/database")
    if scheme not in SCHEMES:
        raise UsageError(
            f"unsupported URL scheme {parts.scheme!r} in {_shown(url)}: pool-doctor speaks PostgreSQL "
            "(postgresql://, postgresql+asyncpg://, postgresql+psycopg://)"
        )
    if driver and driver not in DRIVERS:
        raise UsageError(f"unknown PostgreSQL driver {driver!r} in {_shown(url)} (use asyncpg or psycopg)")
    query = tuple(parse_qsl(parts.query, keep_blank_values=True))
    host = parts.hostname or dict(query).get("host")
    query = _with_env_sslmode(tuple((k, v) for k, v in query if k != "host"), env)
    password = unquote(parts.password) if parts.password is not None else None
    target = _with_env_defaults(
        host=host,
        port=parts.port,
        user=unquote(parts.username) if parts.username else None,
        database=unquote(parts.path.lstrip("/")) or None,
        password=password,
        env=env,
    )
    return replace(target, driver="psycopg" if driver == "psycopg_async" else driver, query=query, source=source)


def resolve_target(url: str | None, env: Mapping[str, str] | None = None) -> Target:
    """--url, else DATABASE_URL, else libpq's PGHOST/PGPORT/PGUSER/PGDATABASE/PGPASSWORD (and ~/.pgpass)."""
    env = os.environ if env is None else env
    if url:
        return parse_url(url, env, source="--url")
    if env.get("DATABASE_URL"):
        return parse_url(env["DATABASE_URL"], env, source="DATABASE_URL")
    if not any(env.get(name) for name in ("PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGSERVICE")):
        raise UsageError("no database given: pass --url, or set DATABASE_URL or PGHOST/PGPORT/PGUSER/PGDATABASE")
    target = _with_env_defaults(host=None, port=None, user=None, database=None, password=None, env=env)
    return replace(target, source="PG* environment", query=_with_env_sslmode((), env))


def _with_env_sslmode(query: tuple[tuple[str, str], ...], env: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """libpq: PGSSLMODE applies when the URL names no sslmode; kept in the query so errors can name it."""
    if env.get("PGSSLMODE") and not any(key in ("sslmode", "ssl") for key, _ in query):
        return (*query, ("sslmode", env["PGSSLMODE"]))
    return query


def _with_env_defaults(
    *, host: str | None, port: int | None, user: str | None, database: str | None, password: str | None,
    env: Mapping[str, str],
) -> Target:
    host = host or env.get("PGHOST") or "localhost"
    if port is None:
        port_text = env.get("PGPORT", "5432")
        try:
            port = int(port_text)
        except ValueError:
            raise UsageError(f"PGPORT={port_text!r} is not a port number") from None
    if not 0 < port < 65536:
        raise UsageError(f"port {port} is out of range (1-65535)")
    user = user or env.get("PGUSER") or _os_user()
    database = database or env.get("PGDATABASE") or user
    if password is None:
        # libpq: an empty PGPASSWORD counts as unset, and ~/.pgpass is read only when no password was given.
        password = env.get("PGPASSWORD") or pgpass_password(host, port, database, user, env)
    return Target(
        host=host, port=port, user=user, database=database, password=SecretStr(password) if password is not None else None
    )


def pgpass_file(env: Mapping[str, str]) -> Path | None:
    """$PGPASSFILE, else ~/.pgpass; None when it is not a private regular file (libpq ignores those too)."""
    home = env.get("HOME") or os.path.expanduser("~")
    path = Path(env.get("PGPASSFILE") or os.path.join(home, ".pgpass"))
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    if not stat.S_ISREG(mode) or mode & (stat.S_IRWXG | stat.S_IRWXO):
        return None  # libpq: "password file has group or world access; permissions should be u=rw (0600)"
    return path


def pgpass_entries(env: Mapping[str, str]) -> list[tuple[str, str, str, str, str]]:
    """The (host, port, database, user, password) lines of the password file, escapes undone."""
    path = pgpass_file(env)
    if path is None:
        return []
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    entries = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = _pgpass_fields(line)
        if len(fields) == 5:
            entries.append((fields[0], fields[1], fields[2], fields[3], fields[4]))
    return entries


def _pgpass_fields(line: str) -> list[str]:
    """Split on ':' the way libpq does: a backslash escapes the next character; the password ends at the
    next unescaped ':' (libpq's passwordFromFile ignores anything after it)."""
    fields: list[str] = []
    current: list[str] = []
    chars = iter(line)
    for char in chars:
        if char == "\\":
            current.append(next(chars, "\\"))  # a trailing backslash stays itself
        elif char == ":":
            fields.append("".join(current))
            current = []
            if len(fields) == 5:
                return fields
        else:
            current.append(char)
    fields.append("".join(current))
    return fields


def pgpass_password(host: str, port: int, database: str, user: str, env: Mapping[str, str]) -> str | None:
    """The first matching password in ~/.pgpass (`*` matches anything; a socket directory is `localhost`).

    asyncpg reads the file itself but keeps `\\:` escaped inside passwords, so pool-doctor reads it here.
    """
    wanted = ("localhost" if host.startswith("/") else host, str(port), database, user)
    for *keys, password in pgpass_entries(env):
        if all(key == "*" or key == value for key, value in zip(keys, wanted)):
            return password or None
    return None


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, e.g. an arbitrary uid in a container
        return "postgres"


def _shown(url: str) -> str:
    """The URL as an error message may quote it: password masked, control characters escaped (one line, no
    terminal escape sequences from a pasted URL)."""
    masked = mask_url(url)
    return masked if masked.isprintable() else repr(masked)[1:-1]


def mask_url(url: str) -> str:
    """Mask the password of anything URL-shaped, even a URL too broken to parse."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    # The user info ends at the last "@" before the query: a pasted password may hold "/", "@" or ":".
    head, question, query = rest.partition("?")
    auth, at, after = head.rpartition("@")
    if at and ":" in auth:
        auth = auth.split(":", 1)[0] + ":" + MASK
    return f"{scheme}{sep}{auth}{at}{after}{question}{query}"


def scrub(text: str, secrets: list[str]) -> str:
    """Replace every known secret in `text` by the mask."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return text
