"""What every pool stack is: one object that owns everything pool-doctor knows about one pool library.

A stack knows its config model and defaults (one table, with the library version they hold for), how its
keys map to the stack-neutral PoolPolicy the judge reads, which of its keys are times, where its driver's
arguments live among its keys, and how its values look in the app's code. Nothing outside pool_doctor/stacks
compares a stack's name: callers look a stack up in the registry (pool_doctor.stacks) and ask it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, get_args

from pydantic import BaseModel, ConfigDict, PrivateAttr, model_validator

from pool_doctor.durations import format_seconds
from pool_doctor.errors import ConfigError
from pool_doctor.path.policy import Knob, PoolPolicy
from pool_doctor.stacks import _values

if TYPE_CHECKING:
    from pool_doctor.connection.drivers import Driver
    from pool_doctor.connection.spec import ConnectionSpec
    from pool_doctor.stacks.demotion import Demotion


# Where the app's code says which server: --url says it for pool-doctor, so the scan never judges these.
IDENTITY = frozenset(
    {
        "host",
        "hostaddr",
        "port",
        "user",
        "password",
        "passfile",
        "dbname",
        "database",
        "dsn",
        "conninfo",
        "url",
        "service",
        "servicefile",
        "NAME",
        "USER",
        "PASSWORD",
        "HOST",
        "PORT",
    }
)
POOL = "pool"
CONNECT_ARGS = "connect_args"
SKIP = object()  # Stack.code_value: a value the config cannot hold (a class the judge does not know)


class PoolModel(BaseModel):
    """A stack's `[pool]` table: `stack` names it; the stack's own keys follow, with the library's names.

    Every stack but SQLAlchemy keeps its keys as given (they are the library's own, nested tables included)
    and has its stack read them once, at load, so a value the library would refuse is refused here.
    """

    model_config = ConfigDict(extra="allow")

    stack: str
    owner: ClassVar[type[Stack]]  # set by the Stack subclass that names this model
    _ignored: tuple[str, ...] = PrivateAttr(default=())

    @classmethod
    def tag(cls) -> str:
        """The `stack` value that picks this model (its field's one literal)."""
        return str(get_args(cls.model_fields["stack"].annotation)[0])

    @classmethod
    def fixed_keys(cls) -> frozenset[str] | None:
        """The keys this model declares as fields, or None when its keys are the library's own, as given
        (free-form: the stack names the strangers)."""
        return None

    def own(self) -> dict[str, Any]:
        """The stack's own keys as given (library names), nothing of pool-doctor's."""
        return dict(self.model_extra or {})

    @property
    def ignored(self) -> tuple[str, ...]:
        """The keys (dotted) given under [pool] that its library does not take: dropped at load, so nothing
        judges them or writes them into code; the CLI names each in a warning."""
        return self._ignored

    @model_validator(mode="after")
    def _read_by_stack(self) -> PoolModel:
        """Keys the library does not take dropped (the one rule: an unknown key is reported and ignored), then
        the rest read now as the stack's library would read them, so a bad one is refused with the layer that
        gave it (pydantic wants ValueError; the stack says ConfigError)."""
        stack = self.owner()
        try:
            if self.fixed_keys() is None:
                unknown = stack.unknown_keys(self)
                if unknown:
                    self.__pydantic_extra__ = _without(self.own(), unknown)
                    self._ignored = (*self._ignored, *unknown)
            stack.validate_model(self)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        return self


def _without(values: Mapping[str, Any], dotted: list[str]) -> dict[str, Any]:
    """`values` less the dotted keys (`OPTIONS.pool.check` removes one key of a nested table, copied)."""
    out = dict(values)
    for key in dotted:
        *parents, last = key.split(".")
        node = out
        for part in parents:
            child = node.get(part)
            if not isinstance(child, Mapping):
                break
            node[part] = node = dict(child)
        else:
            node.pop(last, None)
    return out


@dataclass(frozen=True)
class Live:
    """A pool object the app built, read back (pool_doctor.testing): where it connects, and its keys as the
    config holds them. `url` carries the password: the caller keeps it a secret."""

    url: str
    pool: dict[str, Any]  # the [pool] table, `stack` included
    connect_args: dict[str, Any] = field(default_factory=dict)


class Stack:
    """One pool library. Subclasses set the class attributes and override what differs."""

    name: ClassVar[str]  # the config's `[pool] stack`: sqlalchemy, asyncpg, psycopg_pool, django
    label: ClassVar[str]  # for messages: "asyncpg's create_pool"
    extra: ClassVar[str | None] = None  # the pool-doctor extra that installs its library
    module: ClassVar[str | None] = None  # the library's import name
    library_version: ClassVar[str]  # the release the defaults below were read from
    defaults: ClassVar[Mapping[str, object]]
    keys: ClassVar[frozenset[str]] = frozenset()  # every key the library takes (unknown_keys names the rest)
    args_prefix: ClassVar[str] = ""  # where the driver's keyword arguments live among the stack's keys
    adapts_driver: ClassVar[bool] = False
    driver_from_url: ClassVar[bool] = False  # True: the app's URL picks the driver (SQLAlchemy's +asyncpg)
    # True: a pool object created at import is shared by the children of a forking server (SQLAlchemy's engine,
    # psycopg_pool); asyncpg's pool is bound to its event loop, Django connects per thread on first use.
    fork_unsafe_at_import: ClassVar[bool] = (
        False  # True: the driver is reached through an adapter (SQLAlchemy's dialect)
    )
    # The keys holding the seconds after which the pool retires a connection (dotted: nested), which the probe
    # divides by its time factor; waits for a free connection and counts stay.
    time_keys: ClassVar[tuple[str, ...]] = ()
    model: ClassVar[type[PoolModel]]
    scanned_as: ClassVar[tuple[str, ...]] = ()  # the scan's names for pools this stack judges

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "model" in cls.__dict__:
            cls.model.owner = cls

    # -- config ------------------------------------------------------------------------------------

    def values(self, pool: PoolModel) -> dict[str, Any]:
        """The stack's own keys as given under [pool] (library names), nothing else."""
        return pool.own()

    def own_driver_args(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The driver's keyword arguments given among the stack's own keys (kwargs, OPTIONS, asyncpg's)."""
        return {}

    def driver_args(self, pool: PoolModel, connect_args: Mapping[str, Any]) -> dict[str, Any]:
        """The driver's keyword arguments as this stack passes them ([connect_args], then its own)."""
        return {**connect_args, **self.own_driver_args(self.values(pool))}

    def check_values(self, values: Mapping[str, Any]) -> None:
        """A ConfigError for a key its library would refuse: the stack's policy read once, with no driver."""
        if self.args_prefix:  # where the driver's arguments live must be a table (kwargs, OPTIONS)
            _values.table(values, self.args_prefix.removesuffix("."))
        self.read(values)

    def live(self, obj: Any) -> Live | None:
        """`obj` read back when it is a pool this library built (its settings from the object itself, not from
        code); None when it is not (a library that is not even imported built nothing)."""
        return None

    def driver_name(self, url_driver: str) -> str:
        """The driver the stack's connections come from: the URL's, unless the library fixes it."""
        return url_driver

    def assumed_driver(self, call: str | None) -> str | None:
        """The driver to judge a pool by when the code's URL cannot be read, given the library call that makes
        it (an async engine is never psycopg2's); None: the URL's default."""
        return None

    def connection(
        self, target: ConnectionSpec, code_driver: str | None = None, where: str | None = None
    ) -> ConnectionSpec:
        """The connection this stack's pool opens to `target`'s server: the library's own driver, opened
        as the library opens it. `code_driver` is the driver the app's code names (its URL), `where` the code."""
        return target.with_driver(self.driver_name(target.driver), f"the {self.label} stack")

    def unknown_keys(self, pool: PoolModel) -> list[str]:
        """Keys under [pool] its library does not take, sorted (each named once in a warning)."""
        return _values.unknown(self.values(pool), self.keys)

    def read(self, values: Mapping[str, Any], hang: Bound = None, keepalive: Bound = None) -> PoolPolicy:
        """The policy the library builds from these keys (no driver: its bounds are given)."""
        raise NotImplementedError

    def policy(self, pool: PoolModel, connect_args: Mapping[str, Any], driver: Driver) -> PoolPolicy:
        """What this pool does with an idle connection, its driver's bounds named where the stack takes them."""
        args = self.driver_args(pool, connect_args)
        return self.read(
            self.values(pool),
            hang=self.rekey(driver.hang_bound(args)),
            keepalive=self.rekey(driver.keepalive_idle(args)),
        )

    def max_connections(self, pool: PoolModel) -> tuple[int, str]:
        """The most connections one pool opens, and the keys that say so (for evidence)."""
        raise NotImplementedError

    def exhausted(self, pool: PoolModel) -> str | None:
        """What the next checkout meets when every connection is held (leaked, or held across slow work), with
        this pool's numbers; None when the pool has no bound to meet."""
        return None

    def candidates(self, below: int | None) -> list[tuple[Knob, PoolPolicy]]:
        """One lever at a time, set as a user of the stack would set it, with the policy the stack then builds:
        a ping at checkout, and (when `below`, whole seconds under a limit, is given) a lifetime or idle timer
        reaching every connection. What explain offers against a limit the judge says these beat."""
        return []

    def rekey(self, bound: Bound) -> Bound:
        """A driver bound named where this stack takes it (connect_args.X -> kwargs.X, OPTIONS.X, X)."""
        if bound is None:
            return None
        key = bound[1].key.removeprefix("connect_args.")
        return bound[0], Knob(self.args_prefix + key, bound[1].value)

    # -- what recommend sets -------------------------------------------------------------------------------

    required: ClassVar[Mapping[str, Any]] = {}  # keys a recommended config must hold (Django's ENGINE)
    ping_value: ClassVar[Any] = True  # what turns the check at checkout on
    no_pool_value: ClassVar[Any] = None  # what makes it open a connection per checkout (SQLAlchemy's NullPool)

    def python_snippet(
        self, values: Mapping[str, Any], connect_args: Mapping[str, Any], target: ConnectionSpec, call: str | None
    ) -> str:
        """Paste-ready code that builds this stack's pool with `values` (its own keys, nested) and
        `connect_args`, to `target` (its password left out); `call` is the app's own callable, when scanned."""
        raise NotImplementedError

    # The function that enforces this stack's connection age, when only a web request's signals call it
    # (Django's close_old_connections): worker processes (Celery) must call it themselves. None: the pool does.
    age_enforced_by: ClassVar[str | None] = None

    # What a demoted primary needs of this stack (stacks/demotion.py); None: nothing the app's code can add.
    def demotion(self, driver: Driver, call: str | None) -> Demotion | None:
        """The code that makes this pool notice a demoted primary, for the app's driver and callable."""
        return None

    def read_write_key(self) -> str | None:
        """Where the app asks the driver for a writable server at connect (libpq and asyncpg both take
        target_session_attrs): among this stack's keys, or None when the app's driver arguments are not its."""
        return self.args_prefix + "target_session_attrs"

    def ping_cost(self, driver: Driver) -> str:
        """What the check at checkout sends, for the reason that recommends it."""
        return driver.ping

    def no_spares(self, key: str, pool: PoolModel) -> dict[str, Any]:
        """The keys (dotted, `key` the lever's) that let the idle timer close every connection: no floor, and
        whatever the library then needs said (psycopg_pool's max_size defaults to min_size: 0 is refused)."""
        return {key: 0}

    def max_idle_value(self, below: int, pool: PoolModel) -> tuple[Any, str]:
        """The idle timer's value that closes connections idle `below` seconds or more, and why."""
        return float(below), (
            f"Close connections idle longer than the limits on the path allow (below {format_seconds(below + 1)})."
        )

    # -- the app's code, as the scan reads it ------------------------------------------------------------

    # Keys whose values are callables or objects the judge has no use for (a config cannot give them).
    callables: ClassVar[frozenset[str]] = frozenset()
    # The library callables that create this stack's pools, by the module they are imported from:
    # module -> (the scan's name for such a pool, the callables' names).
    code_calls: ClassVar[Mapping[str, tuple[str, frozenset[str]]]] = {}

    # The library's callables that hand back the connection string they are given, in another form the scan
    # need not tell apart (`sqlalchemy.engine.url.make_url`), by dotted name.
    code_url_calls: ClassVar[frozenset[str]] = frozenset()
    # The library's callables that build a connection URL from its parts, as keyword arguments named like
    # SQLAlchemy's URL.create (drivername, username, password, host, port, database, query), by dotted name.
    code_url_builders: ClassVar[frozenset[str]] = frozenset()
    # The keyword arguments the library's pool classes take, as the pool call names them (a project subclass of
    # such a class may default them in its own __init__: SQLAlchemy's QueuePool `timeout` is `pool_timeout`).
    code_pool_class_keys: ClassVar[Mapping[str, str]] = {}

    def public_call(self, module: str, name: str) -> str:
        """The callable as its library documents it (`psycopg2.pool.SimpleConnectionPool`)."""
        return f"{module}.{name}"

    # The keys, as the code names them, that decide what happens to an idle connection, in reading order.
    shown: ClassVar[tuple[str, ...]] = ()

    def code_shown(self, scanned_as: str) -> tuple[str, ...]:
        """The keys the scan's table shows for a pool of this kind."""
        return self.shown

    def code_place(self, scanned_as: str, key: str) -> tuple[str, str] | None:
        """Where a key the app's code gives (dotted: kwargs.tcp_user_timeout) goes in the config: the table
        ("pool" or "connect_args") and the key there; None: not what the judge reads (the server's identity,
        a callable). `scanned_as` is the scan's name for the call (psycopg2's pools are judged by SQLAlchemy's)."""
        parts = key.split(".")
        if parts[0] in IDENTITY or parts[0] in self.callables:
            return None
        driver_table = self.args_prefix.removesuffix(".")
        if driver_table and parts[0] == driver_table and len(parts) > 1 and parts[1] in IDENTITY:
            return None
        return POOL, key

    def code_key(self, scanned_as: str, table: str, name: str) -> str | None:
        """Where a config key (`table` "pool" or "connect_args", `name` dotted) is written in the app's code:
        the inverse of code_place, for editing the app's call; None: the call has no such argument."""
        return name if table == POOL else f"{CONNECT_ARGS}.{name}"

    def code_form(self, key: str, value: Any, call: str) -> Any:
        """A config value as the app's code writes it (`key` as the code names it; `call` the app's callable):
        a reference to code where the config holds its name (psycopg_pool's check)."""
        return value

    def code_value(self, key: str, value: Any) -> Any:
        """A value the code gives, in the form the config takes (class and function references by name)."""
        return value

    def code_defaults(self, scanned_as: str, call: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """Keys the code's call implies without saying them: psycopg2's pools have no check and no lifetime,
        a NullConnectionPool keeps nothing."""
        return {}

    def own_pool_args(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The stack's keys as its library's pool takes them: pool-doctor's own keys (psycopg_pool's
        pool_class) left out."""
        return dict(values)

    def added_where(self, scanned_as: str, call: str) -> str | None:
        """Where a key the app's code does not give yet is set, when the pool's place is a framework's (the call
        that binds an extension to an app, a config class) rather than a call that takes the pool's arguments:
        said in a note; only an entry of the framework's written as a dict of them gains it there. None: the
        pool's own call (or dict) takes it."""
        return None

    def judged_as(self, scanned_as: str) -> str | None:
        """How the scanned call is judged, when it is not this stack's own pool (psycopg2's pools)."""
        return None

    def any_database(self, scanned_as: str) -> bool:
        """Whether the scanned call may reach another database than PostgreSQL, its URL or ENGINE saying which
        (a PostgreSQL driver's own pool never does)."""
        return False

    def refused(self, values: Mapping[str, Any]) -> dict[str, str]:
        """Keys (dotted) the library refuses, each with why, one at a time until the rest is read: the first
        whose removal lets the rest be read (a key wrong on its own, or the one of a pair that cannot go
        together), else the first refused on its own (two wrong keys), else all of them."""

        def problem(keys: Mapping[str, Any]) -> str | None:
            try:
                self.check_values(_values.unflatten(keys))
            except ConfigError as exc:
                return str(exc)
            return None

        refused: dict[str, str] = {}
        while True:
            rest = {key: value for key, value in values.items() if key not in refused}
            why = problem(rest)
            if why is None:
                return refused
            blamed = next((key for key in rest if problem({k: v for k, v in rest.items() if k != key}) is None), None)
            if blamed is not None:
                refused[blamed] = why
                continue
            alone = {key: problem({key: rest[key]}) for key in rest}
            blamed = next((key for key, fault in alone.items() if fault is not None), None)
            if blamed is None:  # no one key is to blame: none of them is judged
                return {**refused, **dict.fromkeys(rest, why)}
            refused[blamed] = alone[blamed] or why

    def validate_model(self, pool: PoolModel) -> None:
        """Called by the model's validator: the stack's keys read as its library reads them."""
        self.check_values(pool.own())

    # -- the probe: how it runs this stack's real pool --------------------------------------------------

    # True: the probe measures the path (fresh connections, round trips, pre-ping's cost, load) on this stack's
    # own engine, with probe_unpooled, probe_single and probe_load; every other stack's config is measured there
    # too, with its driver's arguments (the path steps time the server and the network, not the pool).
    measures_path: ClassVar[bool] = False
    # Why two checkouts of one pool cannot take turns in one thread (Django: one connection per thread).
    one_connection_per_thread: ClassVar[str | None] = None

    def probe_pool_values(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The keys the probe hands the stack's pool, as its library takes them (nested tables kept): not the
        driver's arguments, nothing that says where to connect, nothing the pool's adapter sets itself."""
        raise NotImplementedError

    def probe_split(
        self, values: Mapping[str, Any], connect_args: Mapping[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The stack's own keys -> (the pool's keys, the driver's keyword arguments): [connect_args], then the
        stack's own, less those that say where to connect (the probe connects to its target or its fault proxy)
        and callables a config cannot give."""
        own = self.own_driver_args(values)
        args = {key: value for key, value in own.items() if key not in IDENTITY and key not in self.callables}
        return self.probe_pool_values(values), {**connect_args, **args}

    def probe_json(self, values: Mapping[str, Any], driver_args: Mapping[str, Any]) -> dict[str, Any]:
        """The inverse of probe_split, as the probe's report shows a config: the stack's keys nested as its
        library takes them, the driver's arguments where the stack takes them (args_prefix)."""
        table = self.args_prefix.removesuffix(".")
        if not table:
            return {"stack": self.name, **values, **driver_args}
        nested = {**driver_args, **_values.table(values, table)}
        rest = {key: value for key, value in values.items() if key != table}
        return {"stack": self.name, **rest, **({table: nested} if nested else {})}

    def probe_scaled(self, values: Mapping[str, Any], factor: float) -> tuple[dict[str, Any], dict[str, Any]]:
        """`values` with each of time_keys (dotted: nested) divided by the probe's time factor, and what each
        became, for the report. 0 and None ("off", "forever") are no times and stay."""
        scaled: dict[str, Any] = dict(values)
        shown: dict[str, Any] = {}
        for key in self.time_keys:
            *parents, last = key.split(".")
            node = scaled
            for part in parents:
                child = node.get(part)
                if not isinstance(child, Mapping):
                    break
                node[part] = dict(child)  # a copy: the unscaled config keeps its own tables
                node = node[part]
            else:
                seconds = _values.seconds(node, last)
                if seconds is not None and seconds > 0:
                    node[last] = seconds / factor
                    shown[key] = round(node[last], 3)
        return scaled, shown

    def probe_policy(self, values: Mapping[str, Any], driver_args: Mapping[str, Any], driver: Driver) -> PoolPolicy:
        """The policy the library builds from the probe's keys (time-scaled ones included) and driver arguments."""
        return self.read(
            values,
            hang=self.rekey(driver.hang_bound(driver_args)),
            keepalive=self.rekey(driver.keepalive_idle(driver_args)),
        )

    def probe_retirement(self, policy: PoolPolicy) -> float | None:
        """Seconds after which the pool retires the one warm connection the idle scenarios leave idle: its age
        bound (SQLAlchemy's pool_recycle, Django's CONN_MAX_AGE). psycopg_pool's max_lifetime is checked on
        return and its max_idle closes one connection per period: neither is one."""
        return policy.max_age

    def probe_slack(self, values: Mapping[str, Any], policy: PoolPolicy, driver: Driver, idle: float) -> float:
        """Seconds the pool itself may take to answer a request after a connection died (a graceful close, a
        back-off), beyond the driver's hang bound: the probe waits that much longer before it calls it a hang."""
        return 0.0

    def probe_notes(self, values: Mapping[str, Any]) -> list[str]:
        """What the report says about how the probe ran this pool, when it differs from the app's."""
        return []

    def probe_threads(self, values: Mapping[str, Any]) -> str | None:
        """What of the pool, as the probe runs it, works in threads of its own (so a freeze of the probe's
        event loop does not stop it); None when all of it runs on the loop or only at checkout."""
        return None

    def probe_pool(
        self,
        target: ConnectionSpec,
        driver: Driver,
        values: Mapping[str, Any],
        args: Mapping[str, Any],
        *,
        read_only_transactions: bool,
    ) -> Any:
        """The stack's real pool for `target`, behind the few AsyncEngine calls the probe makes (connect(),
        dispose()): `values` the pool's keys, `args` the driver's, the probe's read-only session settings
        included; `read_only_transactions`: begin every transaction READ ONLY instead (behind a pooler)."""
        raise NotImplementedError

    def probe_unpooled(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """measures_path: keys for a pool that opens a new connection per checkout."""
        raise NotImplementedError

    def probe_single(self, values: Mapping[str, Any], ping: bool) -> dict[str, Any]:
        """measures_path: keys for a pool of one kept connection, never retired, tested at checkout or not."""
        raise NotImplementedError

    def probe_load(self, values: Mapping[str, Any]) -> tuple[int, int, float] | None:
        """The sizes the load step drives (connections kept, more under load, seconds a checkout waits); None:
        the load step does not drive this stack's pool."""
        return None


Bound = tuple[float, Knob] | None


def library_version(module: str) -> str | None:
    """The installed release of `module` (its distribution), or None when it is not installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(module)
    except PackageNotFoundError:
        return None
