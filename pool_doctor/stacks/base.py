"""What every pool stack is: one object that owns everything pool-doctor knows about one pool library.

A stack knows its config model and defaults (one table, with the library version they hold for), how its
keys map to the stack-neutral PoolPolicy the judge reads, which of its keys are times, where its driver's
arguments live among its keys, and how its values look in the app's code. Nothing outside pool_doctor/stacks
compares a stack's name: callers look a stack up in the registry (pool_doctor.stacks) and ask it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, get_args

from pydantic import BaseModel, ConfigDict, model_validator

from pool_doctor.errors import ConfigError
from pool_doctor.path.policy import Knob, PoolPolicy
from pool_doctor.stacks import _values

if TYPE_CHECKING:
    from pool_doctor.connection.drivers import Driver
    from pool_doctor.connection.spec import ConnectionSpec


class PoolModel(BaseModel):
    """A stack's `[pool]` table: `stack` names it; the stack's own keys follow, with the library's names.

    Every stack but SQLAlchemy keeps its keys as given (they are the library's own, nested tables included)
    and has its stack read them once, at load, so a value the library would refuse is refused here.
    """

    model_config = ConfigDict(extra="allow")

    stack: str
    owner: ClassVar[type[Stack]]  # set by the Stack subclass that names this model

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

    @model_validator(mode="after")
    def _read_by_stack(self) -> PoolModel:
        """The keys read now as the stack's library would read them, so a bad one is refused with the layer
        that gave it (pydantic wants ValueError; the stack says ConfigError)."""
        try:
            self.owner().validate_model(self)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        return self


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
    time_keys: ClassVar[tuple[str, ...]] = ()  # keys holding seconds: what the probe scales down
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

    def driver_name(self, url_driver: str) -> str:
        """The driver the stack's connections come from: the URL's, unless the library fixes it."""
        return url_driver

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

    def validate_model(self, pool: PoolModel) -> None:
        """Called by the model's validator: the stack's keys read as its library reads them."""
        self.check_values(pool.own())


Bound = tuple[float, Knob] | None


def library_version(module: str) -> str | None:
    """The installed release of `module` (its distribution), or None when it is not installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(module)
    except PackageNotFoundError:
        return None
