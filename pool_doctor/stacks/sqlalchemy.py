"""SQLAlchemy's pools (QueuePool / AsyncAdaptedQueuePool, NullPool, StaticPool) as a PoolPolicy.

Defaults from SQLAlchemy 2.0/2.1 `lib/sqlalchemy/engine/create.py` and `pool/impl.py`: pool_size 5,
max_overflow 10, pool_timeout 30, pool_recycle -1 (never), pool_pre_ping False. pool_recycle is age since
connect, checked at checkout (`_ConnectionRecord.get_connection`); pre-ping runs at checkout only, and
nothing in the pool notices a connection the server closed while it sat idle (pooling.rst, "Dealing with
Disconnects"). Flask-SQLAlchemy and SQLModel build these same engines.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import ConfigDict, Field, ValidationError, field_validator

from pool_doctor.connection.values import PythonCode
from pool_doctor.path.policy import Knob, PoolPolicy
from pool_doctor.stacks import _values, demotion
from pool_doctor.stacks._code import SECRET_NOTE, SECRET_NOTE_NO_PGPASS, code_lines, holds_code
from pool_doctor.stacks.base import CONNECT_ARGS, IDENTITY, POOL, SKIP, Bound, Live, PoolModel, Stack

if TYPE_CHECKING:
    from pool_doctor.connection.drivers import Driver
    from pool_doctor.connection.spec import ConnectionSpec

LIBRARY_VERSION = "SQLAlchemy 2.0"
DEFAULTS: dict[str, object] = {
    "pool_size": 5,
    "max_overflow": 10,
    "pool_recycle": -1,
    "pool_pre_ping": False,
    "pool_timeout": 30,
    "pool_use_lifo": False,
    "poolclass": "QueuePool",
}
KEYS = frozenset(DEFAULTS)
POOLCLASSES = ("QueuePool", "AsyncAdaptedQueuePool", "NullPool", "StaticPool")
# The async engine's factories: the app's code calls one of these (or its URL names an async driver).
ASYNC_FACTORIES = ("create_async_engine", "async_engine_from_config")
ASYNC_DRIVERS = ("asyncpg", "psycopg_async")
PSYCOPG2 = "psycopg2"  # the scan's name for psycopg2.pool's pools
PSYCOPG2_JUDGED_AS = "psycopg2's pool, judged as a pool with no liveness check and no lifetime"


class SQLAlchemyPool(PoolModel):
    """SQLAlchemy's engine keys (the default stack), with SQLAlchemy's defaults. Keys it does not declare are
    dropped here (the config file's and the environment's are named in warnings by config.unknown_keys)."""

    model_config = ConfigDict(extra="ignore")

    stack: Literal["sqlalchemy"] = Field(
        "sqlalchemy",
        description="the app's pool: sqlalchemy, asyncpg (create_pool), psycopg_pool or django",
        json_schema_extra={"accepts": "stack"},  # any stack's name: it picks the model of the table
    )
    pool_size: int = Field(5, ge=1, le=100_000, description="connections the pool keeps open (SQLAlchemy default 5)")
    max_overflow: int = Field(
        10,
        ge=-1,
        le=100_000,
        description="extra connections opened under load, closed when returned (default 10); -1 = no limit",
    )
    pool_recycle: int = Field(
        -1, ge=-1, le=31_536_000, description="seconds after which a connection is replaced at checkout; -1 = never"
    )
    pool_pre_ping: bool = Field(False, description="test each connection at checkout and replace it if dead")
    pool_timeout: float = Field(30, gt=0, le=86_400, description="seconds a checkout waits for a free connection")
    pool_use_lifo: bool = Field(False, description="reuse the most recently returned connection first")
    poolclass: Literal["QueuePool", "AsyncAdaptedQueuePool", "NullPool", "StaticPool"] | None = Field(
        None, description="SQLAlchemy's pool class; NullPool opens a new connection for every checkout"
    )

    _numbers = field_validator("pool_size", "max_overflow", "pool_recycle", "pool_timeout", mode="before")(
        _values.number_not_bool
    )

    @classmethod
    def fixed_keys(cls) -> frozenset[str] | None:
        return frozenset(cls.model_fields)

    def own(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True, exclude={"stack"})

    @property
    def max_connections(self) -> int:
        """The most connections the pool opens; with max_overflow -1 (no limit) at least pool_size."""
        return self.pool_size + max(self.max_overflow, 0)

    @property
    def recycle(self) -> int | None:
        """pool_recycle in seconds, or None when recycling is off.

        Only -1 is off: SQLAlchemy recycles when `age > pool_recycle`, so 0 reconnects at every checkout.
        """
        return self.pool_recycle if self.pool_recycle >= 0 else None


def engine_factory(call: str | None, url_driver: str) -> tuple[str, str]:
    """(module, function) that builds the engine: an async engine when the app's code calls
    create_async_engine (async_engine_from_config) or the URL's driver is an async one (asyncpg,
    psycopg_async); `postgresql+psycopg` serves either. `call` is the callable the app's code calls, when scanned."""
    name = (call or "").rsplit(".", 1)[-1]
    if url_driver in ASYNC_DRIVERS or name in ASYNC_FACTORIES:
        return "sqlalchemy.ext.asyncio", "create_async_engine"
    return "sqlalchemy", "create_engine"


def policy(pool: SQLAlchemyPool, driver: Driver, connect_args: Mapping[str, object]) -> PoolPolicy:
    hang = driver.hang_bound(connect_args)
    keepalive = driver.keepalive_idle(connect_args)
    poolclass = pool.poolclass or "QueuePool"
    levers = (
        ("no_pool", "poolclass"),
        ("max_age", "pool_recycle"),
        ("ping", "pool_pre_ping"),
        ("size", "pool_size"),
        ("overflow", "max_overflow"),
        ("hang", f"connect_args.{driver.hang_key}"),
        ("keepalive", f"connect_args.{driver.keepalive_key}"),
    )
    return PoolPolicy(
        stack=SQLAlchemyStack.name,
        label=f"SQLAlchemy's {poolclass}",
        reuses=poolclass != "NullPool",
        max_age=float(pool.recycle) if pool.recycle is not None else None,
        max_age_knob=Knob("pool_recycle", pool.pool_recycle),
        ping=pool.pool_pre_ping,
        ping_knob=Knob("pool_pre_ping", pool.pool_pre_ping),
        hang_bound=hang[0] if hang else None,
        hang_knob=hang[1] if hang else None,
        keepalive_idle=keepalive[0] if keepalive else None,
        keepalive_knob=keepalive[1] if keepalive else None,
        # SQLAlchemy's asyncpg dialect does not count command_timeout's TimeoutError as a disconnect.
        bounded_ping_replaces=driver.timeout_is_disconnect,
        ping_replaces_reset=driver.reset_is_disconnect,
        unbounded=pool.max_overflow == -1 and poolclass != "NullPool",
        size_knob=Knob("max_overflow", pool.max_overflow),
        levers=levers,
    )


class SQLAlchemyStack(Stack):
    name = "sqlalchemy"
    label = "SQLAlchemy"
    module = "sqlalchemy"
    library_version = LIBRARY_VERSION
    defaults = DEFAULTS
    keys = KEYS
    args_prefix = "connect_args."
    adapts_driver = True
    no_pool_value = "NullPool"
    driver_from_url = True
    fork_unsafe_at_import = True
    time_keys = ("pool_recycle",)
    model: ClassVar[type[PoolModel]] = SQLAlchemyPool
    # psycopg2's own pools (SimpleConnectionPool, ThreadedConnectionPool) keep connections as a QueuePool
    # without overflow would, and have neither a check nor a lifetime: judged as that.
    scanned_as = ("sqlalchemy", "flask_sqlalchemy", PSYCOPG2)

    def demotion(self, driver: Driver, call: str | None) -> demotion.Demotion | None:
        return demotion.sqlalchemy_demotion(driver.async_, driver.sqlstate_of)

    def python_snippet(
        self, values: Mapping[str, Any], connect_args: Mapping[str, Any], target: ConnectionSpec, call: str | None
    ) -> str:
        url = target.with_password(None).render(hide_password=True)
        module, factory = engine_factory(call, target.url_driver or target.driver)
        lines = [f"from {module} import {factory}", ""]
        if holds_code(dict(connect_args)):
            lines[0:0] = ["from uuid import uuid4", ""]  # the standard library first, as isort would
        pool = {key: value for key, value in values.items() if key != "stack"}  # pool-doctor's key, not SQLAlchemy's
        if "poolclass" in pool:
            lines.insert(1, f"from sqlalchemy.pool import {pool['poolclass']}")
        if pool.get("poolclass") == "NullPool":
            # NullPool takes no sizes: create_engine refuses pool_size/max_overflow/pool_timeout with it.
            pool = {
                key: value for key, value in pool.items() if key not in ("pool_size", "max_overflow", "pool_timeout")
            }
        lines.append(f"engine = {factory}(")
        from pool_doctor.connection.drivers import driver_for

        lines.append(f"    {SECRET_NOTE if driver_for(target).reads_pgpass else SECRET_NOTE_NO_PGPASS}")
        lines.append(f"    {url!r},")
        for key, value in pool.items():
            lines.append(f"    {key}={value if key == 'poolclass' else repr(value)},")
        lines += code_lines("connect_args=", dict(connect_args), ",", 4, explode=True)  # one driver argument a line
        lines.append(")")
        return "\n".join(lines) + "\n"

    def connection(
        self, target: ConnectionSpec, code_driver: str | None = None, where: str | None = None
    ) -> ConnectionSpec:
        """The URL's driver, through SQLAlchemy's dialect; the app's code may name another (its own URL)."""
        from pool_doctor.connection.drivers import DRIVERS

        if code_driver is None or code_driver not in DRIVERS or code_driver == target.driver:
            return target
        return replace(target, driver=code_driver, driver_origin=where or target.driver_origin, url_driver=code_driver)

    def assumed_driver(self, call: str | None) -> str | None:
        # create_async_engine takes asyncpg or psycopg (async): asyncpg, the dialect most async apps name
        return "asyncpg" if engine_factory(call, "")[1] == "create_async_engine" else None

    def unknown_keys(self, pool: PoolModel) -> list[str]:
        return []  # the model declares its keys and drops the rest; config.unknown_keys names them

    def exhausted(self, pool: PoolModel) -> str | None:
        values = _values.merged(DEFAULTS, self.values(pool))
        if values.get("poolclass") in ("NullPool", "StaticPool") or _values.count(values, "max_overflow") == -1:
            return None
        size, overflow = _values.count(values, "pool_size"), _values.count(values, "max_overflow")
        timeout = float(values.get("pool_timeout") or 30)  # type: ignore[arg-type]
        # impl.py QueuePool._do_get (the async pool's message says QueuePool too)
        return (
            f"after {timeout:g}s of waiting, sqlalchemy's TimeoutError: QueuePool limit of size {size} "
            f"overflow {overflow} reached, connection timed out, timeout {timeout:.2f}"
        )

    code_calls: ClassVar[Mapping[str, tuple[str, frozenset[str]]]] = {
        "sqlalchemy": ("sqlalchemy", frozenset({"create_engine", *ASYNC_FACTORIES, "engine_from_config"})),
        "sqlmodel": ("sqlalchemy", frozenset({"create_engine", "create_async_engine"})),
        PSYCOPG2: (PSYCOPG2, frozenset({"SimpleConnectionPool", "ThreadedConnectionPool", "PersistentConnectionPool"})),
        "flask_sqlalchemy": ("flask_sqlalchemy", frozenset({"SQLAlchemy"})),
        "flask_sqlalchemy_lite": ("flask_sqlalchemy", frozenset({"SQLAlchemy"})),  # (its engines: engine_from_config)
    }

    code_url_calls = frozenset(
        {"sqlalchemy.engine.url.make_url", "sqlalchemy.engine.make_url", "sqlalchemy.make_url", "sqlmodel.make_url"}
    )
    # sqlalchemy/engine/create.py `_pool_translate_kwargs` (2.0, 2.1; 1.3's create_engine pops the same)
    code_pool_class_keys: ClassVar[Mapping[str, str]] = {
        "pool_size": "pool_size",
        "max_overflow": "max_overflow",
        "timeout": "pool_timeout",
        "recycle": "pool_recycle",
        "pre_ping": "pool_pre_ping",
        "use_lifo": "pool_use_lifo",
        "reset_on_return": "pool_reset_on_return",
    }
    code_url_builders = frozenset(
        {
            *(f"{where}.URL.create" for where in ("sqlalchemy", "sqlalchemy.engine", "sqlalchemy.engine.url")),
            "sqlalchemy.engine.url.URL",  # SQLAlchemy 1.3's constructor took the same parts
        }
    )

    def public_call(self, module: str, name: str) -> str:
        if module == "sqlalchemy":
            return f"sqlalchemy.ext.asyncio.{name}" if name in ASYNC_FACTORIES else f"sqlalchemy.{name}"
        if module == PSYCOPG2:
            return f"psycopg2.pool.{name}"
        return f"{module}.{name}"

    shown = (
        "pool_pre_ping",
        "pool_recycle",
        "pool_size",
        "max_overflow",
        "pool_timeout",
        "pool_use_lifo",
        "poolclass",
        "connect_args.command_timeout",
        "connect_args.statement_cache_size",
        "connect_args.prepare_threshold",
        "connect_args.tcp_user_timeout",
        "connect_args.keepalives_idle",
    )

    def code_shown(self, scanned_as: str) -> tuple[str, ...]:
        if scanned_as == PSYCOPG2:
            return ("minconn", "maxconn", "keepalives_idle", "tcp_user_timeout")
        return self.shown

    def code_place(self, scanned_as: str, key: str) -> tuple[str, str] | None:
        top, _, rest = key.partition(".")
        if scanned_as == PSYCOPG2:  # psycopg2.pool.X(minconn, maxconn, dsn, **connect kwargs)
            if key == "maxconn":
                return POOL, "pool_size"
            return None if key == "minconn" or top in IDENTITY else (CONNECT_ARGS, key)
        if key in KEYS:
            return POOL, key
        if top == CONNECT_ARGS and rest and rest.split(".")[0] not in IDENTITY:
            return CONNECT_ARGS, rest
        return None  # url, echo, isolation_level, ...: not what the judge reads

    def code_key(self, scanned_as: str, table: str, name: str) -> str | None:
        if scanned_as == PSYCOPG2:  # psycopg2.pool.X(minconn, maxconn, dsn, **connect): no pool levers
            if table == CONNECT_ARGS:
                return name
            return "maxconn" if name == "pool_size" else None
        return super().code_key(scanned_as, table, name)

    def added_where(self, scanned_as: str, call: str) -> str | None:
        if scanned_as != "flask_sqlalchemy":
            return None
        if call.startswith("SQLALCHEMY_") and "ENGINES[" in call:  # Flask-SQLAlchemy-Lite's entry, a URL
            return 'the entry, written as a dict with its "url", or SQLAlchemy(engine_options=...) for every engine'
        # (extension.py: `init_app(self, app)`; a bind may be a dict of create_engine's arguments)
        return "the app's SQLALCHEMY_ENGINE_OPTIONS, or SQLAlchemy(engine_options=...) for every engine"

    def code_form(self, key: str, value: Any, call: str) -> Any:
        return PythonCode(str(value), str(value)) if key == "poolclass" and isinstance(value, str) else value

    def code_value(self, key: str, value: Any) -> Any:
        if key == "poolclass":
            name = str(value).rsplit(".", 1)[-1]
            return name if name in POOLCLASSES else SKIP
        if key == "prepared_statement_name_func" and value is not None:
            return "unique"  # a callable: what it names is not read; that the app gives one is what counts
        return value

    def code_defaults(self, scanned_as: str, call: str, values: Mapping[str, Any]) -> dict[str, Any]:
        if scanned_as != PSYCOPG2:
            return {}
        return {"max_overflow": 0, "pool_pre_ping": False, "pool_recycle": -1}

    def judged_as(self, scanned_as: str) -> str | None:
        return PSYCOPG2_JUDGED_AS if scanned_as == PSYCOPG2 else None

    def any_database(self, scanned_as: str) -> bool:
        return scanned_as != PSYCOPG2  # (a URL's scheme picks the dialect)

    def live(self, obj: Any) -> Live | None:
        """An Engine or AsyncEngine: its pool's settings (SQLAlchemy keeps them on the pool, with no public
        reader) and the connect_args given to create_engine (what the pool's creator adds to the URL's)."""
        if "sqlalchemy" not in sys.modules:
            return None
        from sqlalchemy.engine import Engine

        engine = getattr(obj, "sync_engine", obj)
        if not isinstance(engine, Engine):
            return None
        pool: Any = engine.pool
        values: dict[str, Any] = {
            "stack": self.name,
            "pool_recycle": int(getattr(pool, "_recycle", -1)),
            "pool_pre_ping": bool(getattr(pool, "_pre_ping", False)),
        }
        if type(pool).__name__ in POOLCLASSES:
            values["poolclass"] = type(pool).__name__
        if hasattr(pool, "_max_overflow"):  # QueuePool and its async twin
            values.update(
                pool_size=pool.size(),
                max_overflow=pool._max_overflow,
                pool_timeout=pool._timeout,
                pool_use_lifo=bool(getattr(pool._pool, "use_lifo", False)),
            )
        return Live(engine.url.render_as_string(hide_password=False), values, _connect_args(engine))

    def refused(self, values: Mapping[str, Any]) -> dict[str, str]:
        """SQLAlchemy's keys are the model's fields: each is checked on its own, as [pool] would check it."""
        refused = {}
        for key, value in values.items():
            try:
                SQLAlchemyPool.model_validate({key: value})
            except ValidationError as exc:
                refused[key] = str(exc.errors()[0]["msg"])
        return refused

    def check_values(self, values: Mapping[str, Any]) -> None:
        """SQLAlchemy's keys are the model's own fields, checked by pydantic."""

    def validate_model(self, pool: PoolModel) -> None:
        """Nothing beyond pydantic's field checks."""

    def policy(self, pool: PoolModel, connect_args: Mapping[str, Any], driver: Driver) -> PoolPolicy:
        assert isinstance(pool, SQLAlchemyPool)
        return policy(pool, driver, connect_args)

    def rekey(self, bound: Bound) -> Bound:
        return bound  # the driver names its bounds as connect_args keys already

    def max_connections(self, pool: PoolModel) -> tuple[int, str]:
        assert isinstance(pool, SQLAlchemyPool)
        return pool.max_connections, f"pool_size {pool.pool_size} + max_overflow {pool.max_overflow}"

    def candidates(self, below: int | None) -> list[tuple[Knob, PoolPolicy]]:
        from pool_doctor.connection.drivers import DRIVERS

        options = [SQLAlchemyPool(pool_pre_ping=True)] + ([SQLAlchemyPool(pool_recycle=below)] if below else [])
        found: list[tuple[Knob, PoolPolicy]] = []
        for pool in options:
            built = policy(pool, DRIVERS["psycopg"], {})
            knob = built.ping_knob if built.ping else built.max_age_knob
            if knob is not None:
                found.append((knob, built))
        return found

    # -- the probe: SQLAlchemy's own engine, which also measures the path for every stack ------------------

    measures_path = True

    def probe_pool_values(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return _values.merged(DEFAULTS, {key: value for key, value in values.items() if key in KEYS})

    def probe_json(self, values: Mapping[str, Any], driver_args: Mapping[str, Any]) -> dict[str, Any]:
        shown = {key: values[key] for key in DEFAULTS if key != "poolclass"}
        return {**shown, "connect_args": dict(driver_args)}

    def probe_policy(self, values: Mapping[str, Any], driver_args: Mapping[str, Any], driver: Driver) -> PoolPolicy:
        # Built without validation: a time-scaled pool_recycle is a fraction of a second, and [pool] takes seconds.
        return policy(SQLAlchemyPool.model_construct(**values), driver, driver_args)

    def probe_slack(self, values: Mapping[str, Any], policy: PoolPolicy, driver: Driver, idle: float) -> float:
        """Retiring a dead connection by pool_recycle, the driver's adapter may first try to close it gracefully."""
        recycles = policy.max_age is not None and 0 < policy.max_age < idle
        return driver.adapter_close_wait if recycles else 0.0

    def probe_pool(
        self,
        target: ConnectionSpec,
        driver: Driver,
        values: Mapping[str, Any],
        args: Mapping[str, Any],
        *,
        read_only_transactions: bool,
    ) -> Any:
        from pool_doctor.probe.sqlalchemy_engine import sqlalchemy_engine

        kwargs: dict[str, Any] = {"connect_args": dict(args), "pool_pre_ping": values["pool_pre_ping"]}
        if read_only_transactions:
            kwargs["execution_options"] = {"postgresql_readonly": True}
        null_pool = values.get("poolclass") == self.no_pool_value
        if not null_pool:
            sizes = ("pool_size", "max_overflow", "pool_recycle", "pool_timeout", "pool_use_lifo")
            kwargs.update({key: values[key] for key in sizes})
        url = target.render(hide_password=False, driver=driver.name)
        # A sync driver (psycopg2): the app's own sync engine, each call in a daemon thread.
        return sqlalchemy_engine(url, kwargs, null_pool=null_pool, sync=not driver.async_)

    def probe_unpooled(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return {**values, "poolclass": self.no_pool_value}

    def probe_single(self, values: Mapping[str, Any], ping: bool) -> dict[str, Any]:
        return {**values, "pool_size": 1, "max_overflow": 0, "pool_pre_ping": ping, "pool_recycle": -1}

    def probe_load(self, values: Mapping[str, Any]) -> tuple[int, int, float] | None:
        return int(values["pool_size"]), int(values["max_overflow"]), float(values["pool_timeout"])


def _connect_args(engine: Any) -> dict[str, Any]:
    """create_engine's connect_args: the creator's parameters that the URL alone does not give."""
    import inspect

    try:
        given = dict(inspect.getclosurevars(engine.pool._creator).nonlocals.get("cparams") or {})
    except (AttributeError, TypeError):  # a creator= of the app's own
        return {}
    from_url = engine.dialect.create_connect_args(engine.url)[1]
    stack = SQLAlchemyStack()
    return {
        key: stack.code_value(key, value)
        for key, value in given.items()
        if (key not in from_url or from_url[key] != value) and stack.code_value(key, value) is not SKIP
    }
