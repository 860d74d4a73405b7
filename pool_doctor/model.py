"""The data pool-doctor works on: facts read from the server, findings about them, and the report.

Plain dataclasses, no I/O: the rules read them, the renderers print them, JSON is `to_json()`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from pool_doctor.durations import format_seconds

# The version of every command's JSON document (pool_doctor/schemas/*.json): raised when a field changes meaning
# or goes away; new fields do not raise it.
SCHEMA_VERSION = 2


class Severity(str, Enum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


@dataclass(frozen=True)
class Setting:
    """One server setting as the app's role and database see it."""

    name: str
    present: bool  # False when this server version lacks the setting
    value: str | None = None  # raw text as PostgreSQL stores it
    unit: str | None = None
    seconds: float | None = None  # for time settings; 0 means off
    source: str = "default"  # e.g. "ALTER ROLE app IN DATABASE appdb", "postgresql.conf:12", "default"

    @property
    def display(self) -> str:
        if not self.present:
            return "absent"
        if self.seconds is not None:
            return format_seconds(self.seconds)
        return f"{self.value}{self.unit or ''}" if self.value is not None else "?"

    @property
    def is_on(self) -> bool:
        return self.present and bool(self.seconds)

    def describe(self) -> str:
        """`idle_session_timeout = 5s, set by ALTER ROLE app IN DATABASE appdb`."""
        return f"{self.name} = {self.display}, set by {self.source}"


@dataclass(frozen=True)
class Activity:
    """Live connections, as far as the connecting role may see them."""

    total: int = 0
    role_connections: int = 0  # the app role's connections, ours excluded
    other_connections: int = 0  # other roles' client backends
    by_state: dict[str, int] = field(default_factory=dict)
    by_application: dict[str, int] = field(default_factory=dict)
    by_user: dict[str, int] = field(default_factory=dict)
    role_oldest_idle_seconds: float | None = None
    role_oldest_backend_seconds: float | None = None
    role_idle_in_transaction: int = 0
    hidden: int = 0  # rows whose state the connecting role may not see


@dataclass(frozen=True)
class ServerFacts:
    """Everything `check` reads from the server, in one round trip."""

    version: str
    version_num: int
    role: str  # the role whose view is judged (--role, else the connecting user)
    database: str
    connected_as: str
    superuser: bool
    settings: dict[str, Setting]
    max_connections: int
    superuser_reserved_connections: int
    reserved_connections: int
    role_connlimit: int | None  # None: unlimited (-1)
    database_connlimit: int | None
    activity: Activity
    transport: str  # "tcp" or "unix"
    ssl: bool | None
    server_port: int | None  # inet_server_port(): differs from the dialled port behind a pooler
    backend_pid: int | None  # pg_backend_pid()
    startup_pid: int | None  # the PID the driver got in BackendKeyData at startup
    limitations: list[str] = field(default_factory=list)

    def setting(self, name: str) -> Setting:
        return self.settings.get(name) or Setting(name=name, present=False)


@dataclass(frozen=True)
class PoolRef:
    """Where the app's code creates a pool (`--app`): findings about that pool cite it."""

    file: str
    line: int
    stack: str  # as the scan names it: sqlalchemy, asyncpg, psycopg_pool, psycopg2, django, flask_sqlalchemy

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class CodeFacts:
    """How the app's code creates one pool (scan, --app): what the code-scope rules read, and what the
    pool rules' findings must say of values the code computes at run time."""

    ref: PoolRef
    call: str  # the library callable: "sqlalchemy.ext.asyncio.create_async_engine", "DATABASES['default']"
    at_import: bool = False  # created while the module is imported (module or class body), not in a function
    # Keys (dotted, as the stack takes them) whose value the code computes at run time -> that code's text.
    unknown: tuple[tuple[str, str], ...] = ()
    unresolved: tuple[str, ...] = ()  # `**x` unpackings the scan could not read: any key may hide there
    driver_unknown: str | None = None  # the code's URL, when it decides the driver and could not be read
    # Each key judged (dotted) -> (value, where it came from: "app/db.py:12", "$POOL_RECYCLE", "library default").
    sources: tuple[tuple[str, object, str], ...] = ()
    # Where the project creates worker apps (Celery) that run its code outside any web request.
    workers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    title: str
    detail: str
    evidence: list[str] = field(default_factory=list)
    keys: tuple[str, ...] = ()  # the app's settings this finding speaks of: the only ones recommend may change
    pool: PoolRef | None = None  # the scanned pool it is about (--app); None: about the app as a whole


def to_jsonable(value: Any) -> Any:
    """Dataclasses, enums and containers to plain JSON types."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    return value
