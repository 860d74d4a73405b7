"""What the app opens: one typed connection spec, parsed by the libraries that own the formats.

SQLAlchemy URLs (`postgresql[+driver]://`, `postgres://`) by SQLAlchemy's `make_url`; plain libpq URLs
that SQLAlchemy cannot read (several hosts in the authority) and `key=value` DSNs by libpq itself, through
psycopg's `conninfo_to_dict`. What the URL leaves out, the driver fills in the way the app's driver does
(PG* variables, service files, ~/.pgpass); `libpq_defaults` shows those values for the report.

The password lives only in `password`, a SecretStr, wherever it came from (user info, `?password=`,
DSN `password=`, PGPASSWORD, a prompt); rendering masks it, so no string surgery is needed elsewhere.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import SecretStr

from pool_doctor.errors import MASK, UsageError

SCHEMES = ("postgresql", "postgres")
# The URL's +driver, as SQLAlchemy names it, to the driver the app really loads.
DRIVERS = {
    "asyncpg": "asyncpg",
    "psycopg": "psycopg",
    "psycopg_async": "psycopg",
    "psycopg2": "psycopg2",
    "psycopg2cffi": "psycopg2",
    "pg8000": "pg8000",
}
DEFAULT_DRIVER = "psycopg2"  # SQLAlchemy's default for a plain postgresql:// URL
READS_PGPASS = frozenset({"asyncpg", "psycopg", "psycopg2"})  # drivers that find PGPASSWORD and ~/.pgpass themselves


@dataclass(frozen=True)
class ConnectionSpec:
    """A resolved connection: the driver, every libpq parameter given, and where each came from."""

    driver: str  # "asyncpg", "psycopg" or "psycopg2": the module the app's connections come from
    params: tuple[tuple[str, str], ...]  # libpq keywords as given (host, port, dbname, user, sslmode, options...)
    password: SecretStr | None = field(default=None, repr=False)
    # URL query items that are not libpq keywords: SQLAlchemy passes them to the driver (or its dialect).
    driver_args: tuple[tuple[str, str], ...] = ()
    connect_args: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)
    origin: str = "--url"  # where the connection string came from
    form: str = "url"  # "url" (SQLAlchemy), "libpq-url", "dsn", or "environment"
    driver_origin: str = "the URL"
    url_driver: str = ""  # the URL's own +driver text ("" for plain postgresql://)
    # "sqlalchemy": the app hands the URL to create_engine; "native": to the driver or its pool itself
    opener: str = "sqlalchemy"
    # The password of the service file a `service` names, which libpq reads itself: a secret all the same.
    service_password: SecretStr | None = field(default=None, repr=False)

    # -- what libpq will use ------------------------------------------------------------------------

    def param(self, key: str) -> str | None:
        return dict(self.params).get(key)

    @property
    def hosts(self) -> list[str]:
        given = self.param("host") or libpq_defaults().get("host") or "localhost"
        return given.split(",")

    @property
    def ports(self) -> list[int]:
        given = (self.param("port") or libpq_defaults().get("port") or "5432").split(",")
        ports = [int(p) if p.strip() else 5432 for p in given]
        return ports * len(self.hosts) if len(ports) == 1 else ports

    @property
    def host(self) -> str:
        return self.hosts[0]

    @property
    def port(self) -> int:
        return self.ports[0]

    @property
    def user(self) -> str:
        return self.param("user") or libpq_defaults().get("user") or _os_user()

    @property
    def database(self) -> str:
        return self.param("dbname") or libpq_defaults().get("dbname") or self.user

    @property
    def sslmode(self) -> str | None:
        return self.param("sslmode") or dict(self.driver_args).get("ssl") or libpq_defaults().get("sslmode")

    @property
    def is_unix_socket(self) -> bool:
        return self.host.startswith("/") or self.host.startswith("@")

    def session_settings(self, pgoptions: bool = True) -> dict[str, tuple[str, str]]:
        """Settings the app's session asks for at startup: name -> (value, where it is set). `pgoptions`: the
        driver reads libpq's PGOPTIONS (Driver.session_settings says whether it does)."""
        found: dict[str, tuple[str, str]] = {}
        options = self.param("options")
        where = "options in the connection string"
        if options is None and os.environ.get("PGOPTIONS") and pgoptions:
            options, where = os.environ["PGOPTIONS"], "PGOPTIONS"
        for name, value in parse_options(options or "").items():
            found[name] = (value, where)
        for name, value in parse_options(str(self.connect_args.get("options") or "")).items():
            found[name] = (value, "connect_args options")
        server_settings = self.connect_args.get("server_settings")
        if isinstance(server_settings, Mapping):
            for name, value in server_settings.items():
                found[str(name)] = (str(value), "connect_args server_settings")
        return found

    # -- rendering (always masked unless asked) ------------------------------------------------------

    def display(self) -> str:
        """The connection as a URL with the password masked: safe for any output."""
        return self.render(hide_password=True)

    def render(self, *, hide_password: bool = True, driver: str | None = None) -> str:
        """A SQLAlchemy URL that connects the way the input did (several hosts and a socket via ?host=)."""
        from urllib.parse import quote, urlencode

        chosen = self.url_driver if driver is None else driver
        scheme = "postgresql" + (f"+{chosen}" if chosen else "")
        defaults = libpq_defaults() if self.form == "environment" else {}
        user = self.param("user") or defaults.get("user")
        auth = quote(user, safe="") if user else ""
        if self.password is not None:
            secret = MASK if hide_password else quote(self.password.get_secret_value(), safe="")
            auth += ":" + secret
        query: list[tuple[str, str]] = []
        host_text = self.param("host") or defaults.get("host")
        port_text = self.param("port") or defaults.get("port")
        netloc_host = ""
        if host_text and ("," in host_text or host_text.startswith("/") or host_text.startswith("@")):
            ports = (port_text or "").split(",")
            for index, host in enumerate(host_text.split(",")):
                port = ports[index] if index < len(ports) else (ports[0] if len(ports) == 1 else "")
                multi = "," in host_text
                query.append(("host", f"{host}:{port}" if multi and port else host))
            if port_text and "," not in host_text:
                query.append(("port", port_text))
        elif host_text:
            netloc_host = f"[{host_text}]" if ":" in host_text else host_text
            if port_text:
                netloc_host += f":{port_text}"
        elif port_text:
            query.append(("port", port_text))
        skip = {"host", "port", "user", "dbname", "password"}
        query += [(k, v) for k, v in self.params if k not in skip]
        query += list(self.driver_args)
        netloc = f"{auth}@{netloc_host}" if auth else netloc_host
        dbname = self.param("dbname") or defaults.get("dbname")
        path = "/" + quote(dbname, safe="") if dbname else "/"
        tail = f"?{urlencode(query)}" if query else ""
        return f"{scheme}://{netloc}{path}{tail}"

    def secrets(self) -> list[str]:
        """Strings that must never reach the screen."""
        from urllib.parse import quote

        found: set[str] = set()
        for secret in (self.password, self.service_password):
            raw = secret.get_secret_value() if secret is not None else ""
            if raw:
                found |= {raw, quote(raw, safe=""), quote(raw), quote(raw).replace("%20", "+")}
        return sorted(found, key=len, reverse=True)

    # -- changes --------------------------------------------------------------------------------------

    def with_password(self, password: str | None) -> ConnectionSpec:
        return replace(self, password=SecretStr(password) if password is not None else None)

    def with_params(self, **changes: str | None) -> ConnectionSpec:
        params = dict(self.params)
        for key, value in changes.items():
            if value is None:
                params.pop(key, None)
            else:
                params[key] = value
        return replace(self, params=tuple(params.items()))

    def with_connect_args(self, connect_args: Mapping[str, Any]) -> ConnectionSpec:
        return replace(self, connect_args=dict(connect_args))

    def with_driver(self, driver: str, origin: str) -> ConnectionSpec:
        """The app opens connections with `driver` itself (asyncpg.create_pool, psycopg_pool, Django)."""
        return replace(self, driver=driver, driver_origin=origin, url_driver=_url_driver_for(driver), opener="native")


def _url_driver_for(driver: str) -> str:
    return {"psycopg2": "psycopg2"}.get(driver, driver)


# -- parsing ------------------------------------------------------------------------------------------


def parse_connection(text: str, origin: str = "--url") -> ConnectionSpec:
    """A SQLAlchemy URL, a libpq URL, or a libpq key=value DSN."""
    text = text.strip()
    if not text:
        raise UsageError(f"{origin} is empty")
    if "://" in text:
        return _checked(_parse_url(text, origin), text)
    if "=" in text:
        return _checked(_parse_dsn(text, origin), text)
    raise UsageError(
        f"malformed database URL {shown(text)}: expected postgresql://user@host:5432/db, or a key=value DSN "
        "(host=... dbname=...)"
    )


SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


def _checked(spec: ConnectionSpec, text: str) -> ConnectionSpec:
    """Ports are numbers from 1 to 65535, one per host or one for all (libpq's rule); sslmode is libpq's."""
    sslmode = spec.param("sslmode")
    if sslmode is not None and sslmode not in SSLMODES:
        raise UsageError(f"unknown sslmode {sslmode!r} in {shown(text)} (use {', '.join(SSLMODES)})")
    port_text = spec.param("port")
    if port_text:
        ports = port_text.split(",")
        if len(ports) not in (1, len(spec.hosts)) or not all(_is_port(p) for p in ports if p.strip()):
            # Quoted only when it is numbers: a URL whose password holds an unencoded "@" is refused before
            # parsing (_parse_url), but a stray ":" or "@" elsewhere could still put foreign text here.
            numbers = set(port_text) <= set("0123456789, ")
            problem = f"port {port_text} is out of range (1-65535)" if numbers else "the port is not a number"
            if numbers and len(ports) not in (1, len(spec.hosts)):
                problem = f"{len(ports)} ports ({port_text}) for {len(spec.hosts)} hosts: give one, or one per host"
            raise UsageError(f"malformed connection string {shown(text)}: {problem}")
    return spec


def _parse_url(text: str, origin: str) -> ConnectionSpec:
    scheme = text.split("://", 1)[0]
    base, _, url_driver = scheme.lower().partition("+")
    if base not in SCHEMES:
        raise UsageError(
            f"unsupported URL scheme {scheme!r} in {shown(text)}: pool-doctor speaks PostgreSQL "
            "(postgresql://, postgresql+asyncpg://, postgresql+psycopg://, postgresql+psycopg2://, postgresql+pg8000://)"
        )
    if url_driver and url_driver not in DRIVERS:
        raise UsageError(
            f"unknown PostgreSQL driver {url_driver!r} in {shown(text)} (pool-doctor knows {', '.join(sorted(DRIVERS))})"
        )
    auth = text.split("://", 1)[1].split("?", 1)[0].rpartition("@")[0]
    if "@" in auth.partition(":")[2]:
        # An unencoded "@" in the password: SQLAlchemy (and the app) would read part of it as the host, port or
        # database, and libpq another part as the port. Shown with everything before the last "@" masked.
        # (One in the user name, Azure Single Server's user@server, is SQLAlchemy's to read, and it does.)
        raise UsageError(
            f"malformed database URL {shown(text)}: the password holds an unencoded '@'; "
            "a password with @ : / # ? must be percent-encoded (@ is %40)"
        )
    query = text.partition("?")[2].partition("#")[0]
    if any("@" in value for value in re.findall(r"(?:^|&)password=([^&]*)", query, flags=re.IGNORECASE)):
        # The same in the query: SQLAlchemy would read `user@host:port/db?password=one` as user `user@host`,
        # password `port/db?password=one` and the password's tail as the host (and resolve it).
        raise UsageError(
            f"malformed database URL {shown(text)}: the ?password= value holds an unencoded '@'; "
            "a password with @ : / # ? & must be percent-encoded (@ is %40)"
        )
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(text)
        url.port  # noqa: B018 - make_url parses the port lazily for some forms
    except (ArgumentError, ValueError, TypeError, UnicodeError):
        if url_driver:
            raise UsageError(
                f"SQLAlchemy cannot parse {shown(text)} (several hosts go in the query: "
                "?host=h1:5432&host=h2:5432; a password with / @ : # ? must be percent-encoded)"
            ) from None
        return _parse_libpq(text, origin, form="libpq-url")
    params: dict[str, str] = {}
    if url.host:
        params["host"] = url.host
    if url.port is not None:
        params["port"] = str(url.port)
    if url.username:
        params["user"] = url.username
    if url.database:
        params["dbname"] = url.database
    password = url.password
    driver_args: list[tuple[str, str]] = []
    hosts: list[str] = []
    for key, value in url.query.items():
        values = list(value) if isinstance(value, tuple) else [value]
        if key == "host":
            hosts += values  # SQLAlchemy: the query's hosts replace the authority's
        elif key == "password":
            password = values[-1]
        elif key in libpq_keywords():
            params[key] = values[-1]
        else:
            driver_args += [(key, v) for v in values]
    if hosts:
        params.update(_hosts_from_query(hosts, params.get("port")))
    driver = DRIVERS.get(url_driver, DEFAULT_DRIVER)
    return ConnectionSpec(
        driver=driver,
        params=tuple(params.items()),
        password=SecretStr(str(password)) if password is not None else None,
        driver_args=tuple(driver_args),
        origin=origin,
        form="url",
        url_driver=url_driver,
        driver_origin="the URL" if url_driver else "SQLAlchemy's default for postgresql://",
        # libpq reads the service itself; read here too, so a missing one is refused before connecting
        service_password=_service_password(params["service"]) if params.get("service") else None,
    )


def _service_password(service: str) -> SecretStr | None:
    password = service_params(service).get("password")
    return SecretStr(password) if password else None


def _hosts_from_query(hosts: list[str], port: str | None) -> dict[str, str]:
    """?host=h1:5432&host=h2 (SQLAlchemy's multi-host form) or ?host=/socket/dir, as libpq's host/port."""
    if port and "," in port and not any(":" in item.strip("[]") or item.endswith("]") for item in hosts):
        # ?host=a&host=b&port=1,2: libpq's port list, one per host (or one for all), kept as given
        return {"host": ",".join(item.strip("[]") for item in hosts), "port": port}
    names, ports = [], []
    for item in hosts:
        if item.startswith("/") or item.startswith("@"):
            names.append(item)
            ports.append(port or "")
            continue
        name, sep, item_port = item.rpartition(":") if not item.endswith("]") else (item, "", "")
        if not sep:
            name, item_port = item, port or ""
        names.append(name.strip("[]"))
        ports.append(item_port)
    out = {"host": ",".join(names)}
    if any(ports):
        out["port"] = ",".join(p or "5432" for p in ports) if len(ports) > 1 else ports[0]
    return out


def _parse_dsn(text: str, origin: str) -> ConnectionSpec:
    return _parse_libpq(text, origin, form="dsn")


def _parse_libpq(text: str, origin: str, form: str) -> ConnectionSpec:
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict

    libpq_text = text
    if form == "libpq-url":
        scheme, rest = text.split("://", 1)
        libpq_text = scheme.split("+", 1)[0] + "://" + rest
    try:
        parsed = conninfo_to_dict(libpq_text)
    except ProgrammingError as exc:
        # libpq's message names the bad keyword or syntax, never the value: safe to quote.
        reason = " ".join(str(exc).split()).removeprefix("invalid connection option ")
        raise UsageError(f"malformed {_what(form)} {shown(text)}: {reason}") from None
    except (ValueError, TypeError, UnicodeError):  # a NUL byte, text libpq cannot take at all
        raise UsageError(f"malformed {_what(form)} {shown(text)}") from None
    password = parsed.pop("password", None)
    service = parsed.get("service")
    if service:
        for key, value in service_params(str(service)).items():
            if key == "password":
                password = password if password is not None else value
            else:
                parsed.setdefault(key, value)
    params = tuple((str(k), str(v)) for k, v in parsed.items() if v is not None and k != "service")
    return ConnectionSpec(
        driver=DEFAULT_DRIVER,
        params=params,
        password=SecretStr(str(password)) if password is not None else None,
        origin=origin,
        form=form,
        driver_origin="SQLAlchemy's default for a connection string without +driver",
    )


def _what(form: str) -> str:
    return "database URL" if form == "libpq-url" else "connection string"


def _is_port(text: str) -> bool:
    """A port number as libpq reads one: ASCII digits (`"²".isdigit()` is true, and int() refuses it)."""
    text = text.strip()
    return text.isascii() and text.isdigit() and 0 < int(text) < 65536


def resolve_connection(text: str | None, env: Mapping[str, str] | None = None) -> ConnectionSpec:
    """--url, else DATABASE_URL, else libpq's environment (PGHOST, PGSERVICE, ... and ~/.pgpass)."""
    env = os.environ if env is None else env
    if text:
        return _with_libpq_password(parse_connection(text, "--url"), env)
    if env.get("DATABASE_URL"):
        return _with_libpq_password(parse_connection(env["DATABASE_URL"], "DATABASE_URL"), env)
    if not any(env.get(name) for name in ("PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGSERVICE")):
        raise UsageError("no database given: pass --url, or set DATABASE_URL or PGHOST/PGPORT/PGUSER/PGDATABASE")
    port = env.get("PGPORT")
    if port is not None and not all(_is_port(p) for p in port.split(",")):
        raise UsageError(f"PGPORT={port!r} is not a port number")
    params: dict[str, str] = {}
    service_password = None
    if env.get("PGSERVICE"):
        params.update(service_params(env["PGSERVICE"]))
        service_password = params.pop("password", None)
    spec = ConnectionSpec(
        driver=DEFAULT_DRIVER,
        params=tuple(params.items()),
        origin="PG* environment",
        form="environment",
        driver_origin="SQLAlchemy's default for a connection string without +driver",
        service_password=SecretStr(service_password) if service_password else None,
    )
    return _with_libpq_password(spec, env)


def _with_libpq_password(spec: ConnectionSpec, env: Mapping[str, str]) -> ConnectionSpec:
    """libpq's fallbacks for a password the string leaves out: PGPASSWORD, then ~/.pgpass. Held as a secret
    like any other, so every rendering masks it (the driver would find the same one itself)."""
    if spec.password is not None or spec.driver not in READS_PGPASS:  # (pg8000 reads neither)
        return spec
    if env.get("PGPASSWORD"):  # libpq: an empty PGPASSWORD counts as unset
        return spec.with_password(env["PGPASSWORD"])
    from pool_doctor.connection.pgpass import pgpass_entries

    wanted = ("localhost" if spec.is_unix_socket else spec.host, str(spec.port), spec.database, spec.user)
    for *keys, password in pgpass_entries(env):
        if all(key == "*" or key == value for key, value in zip(keys, wanted)):
            return spec.with_password(password) if password else spec
    return spec


# -- libpq's own knowledge ---------------------------------------------------------------------------


def libpq_keywords() -> frozenset[str]:
    """Every connection keyword this libpq knows (PQconndefaults)."""
    from psycopg import pq

    return frozenset(option.keyword.decode() for option in pq.Conninfo.get_defaults())


def libpq_defaults() -> dict[str, str]:
    """What libpq would use for keywords left out: the PG* variables (and PGSERVICE's service file)."""
    from psycopg import pq

    return {
        o.keyword.decode(): o.val.decode()
        for o in pq.Conninfo.get_defaults()
        if o.val is not None and o.keyword != b"password"
    }


def service_params(name: str) -> dict[str, str]:
    """A service's keywords from PGSERVICEFILE (or ~/.pg_service.conf), then the system pg_service.conf."""
    import configparser

    home = os.environ.get("HOME") or os.path.expanduser("~")
    files = [os.environ.get("PGSERVICEFILE") or os.path.join(home, ".pg_service.conf")]
    sysconf = os.environ.get("PGSYSCONFDIR") or "/etc/postgresql-common"
    files.append(os.path.join(sysconf, "pg_service.conf"))
    from pool_doctor.files import read_text

    for path in files:
        if not os.path.lexists(path):
            continue  # libpq skips a service file that is not there
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        parser.optionxform = str  # type: ignore[assignment,method-assign]  # keywords are case-sensitive
        try:
            parser.read_string(read_text(path, "service file"), path)  # bounded, UTF-8, never a FIFO
        except configparser.Error as exc:
            raise UsageError(f"service file {path} is not valid: {type(exc).__name__}") from None
        if parser.has_section(name):
            return dict(parser.items(name))
    raise UsageError(f'definition of service "{name}" not found (looked in {", ".join(files)})')


def parse_options(options: str) -> dict[str, str]:
    """libpq's `options` (`-c name=value`, `--name=value`) as settings, the way the server reads them."""
    found: dict[str, str] = {}
    try:
        words = shlex.split(options.replace("\\ ", "\x00"))
    except ValueError:
        words = options.split()
    words = [w.replace("\x00", " ") for w in words]
    index = 0
    while index < len(words):
        word = words[index]
        item = None
        if word == "-c" and index + 1 < len(words):
            item, index = words[index + 1], index + 1
        elif word.startswith("-c") or word.startswith("--"):
            item = word[2:]
        if item and "=" in item:
            name, value = item.split("=", 1)
            found[name.replace("-", "_").strip().lower()] = value
        index += 1
    return found


def _os_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, e.g. an arbitrary uid in a container
        return "postgres"


# -- masking text the user typed (before it could be parsed) ------------------------------------------


def shown(text: str) -> str:
    """A connection string as an error message may quote it: password masked, control characters escaped."""
    masked = mask_text(text)
    return masked if masked.isprintable() else repr(masked)[1:-1]


def mask_text(text: str) -> str:
    """Mask the password of anything URL- or DSN-shaped, even text too broken to parse."""
    import re

    # DSN password=..., quoted or not; URL ?password=... / &password=...
    text = re.sub(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'?|[^\s&]*)", rf"\g<1>{MASK}", text, flags=re.IGNORECASE)
    scheme, sep, rest = text.partition("://")
    if not sep:
        return text
    # The user info ends at the last "@" before the query: a pasted password may hold "/", "@" or ":".
    head, question, query = rest.partition("?")
    auth, at, after = head.rpartition("@")
    if at and ":" in auth:
        auth = auth.split(":", 1)[0] + ":" + MASK
    return f"{scheme}{sep}{auth}{at}{after}{question}{query}"
