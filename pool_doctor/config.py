"""The app's pool, deployment and network, as one typed model.

Precedence, written down once: CLI flag > environment (`POOL_DOCTOR_POOL__POOL_RECYCLE=1800`) >
config file > defaults (SQLAlchemy's own pool defaults). The config file is `--config PATH`, else the first
found walking up from the current directory, as ruff finds its own: in each directory `pool-doctor.toml`, then
a `pyproject.toml` that has a `[tool.pool-doctor]` table (the same keys).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from pool_doctor.errors import ConfigError
from pool_doctor.stacks import DEFAULT, MODELS, NAMES, PoolModel
from pool_doctor.stacks._values import number_not_bool as _number_not_bool
from pool_doctor.stacks.sqlalchemy import SQLAlchemyPool

DEFAULT_CONFIG = Path("pool-doctor.toml")
PYPROJECT = "pyproject.toml"
TOOL_TABLE = "pool-doctor"  # [tool.pool-doctor]


class DeploymentConfig(BaseModel):
    """How many pools the app runs at once."""

    model_config = ConfigDict(extra="ignore")

    replicas: int = Field(1, ge=1, le=100_000, description="app instances at the autoscaler's maximum")
    workers_per_replica: int = Field(1, ge=1, le=10_000, description="processes per instance, each with its own pool")
    other_connections: int = Field(
        0, ge=0, le=1_000_000, description="slots other clients need (migrations, cron jobs, admin sessions)"
    )

    _numbers = field_validator("replicas", "workers_per_replica", "other_connections", mode="before")(_number_not_bool)

    @property
    def pools(self) -> int:
        return self.replicas * self.workers_per_replica


class NetworkConfig(BaseModel):
    """What sits between the app and the server."""

    model_config = ConfigDict(extra="ignore")

    idle_timeout: float | None = Field(
        None,
        gt=0,
        le=31_536_000,
        description="seconds a middlebox keeps an idle flow (AWS NAT gateway: 350); unset = unknown",
    )
    shape: Literal["reset", "drop"] = Field(
        "reset",
        description="what the middlebox does to a forgotten flow: reset (RST, AWS NAT gateway) or drop "
        "(silently, Azure's load balancer default)",
    )
    middlebox: str | None = Field(
        None,
        description="a named middlebox whose documented idle timeout and shape apply unless idle_timeout or "
        "shape are given (aws-nat: 350 s, reset); unset = none named",
        json_schema_extra={"accepts": "middlebox"},
    )
    platform: str | None = Field(
        None,
        description="the managed service the database runs on, with its documented limits; unset = "
        "recognised from the host name and port",
        json_schema_extra={"accepts": "platform"},
    )

    failover: str | None = Field(
        None,
        max_length=100,
        description="what can move the primary behind the app's host name (patroni, repmgr, pg_auto_failover, "
        "a DNS switch); unset = judged from the URL's hosts, target_session_attrs and the platform",
    )

    _numbers = field_validator("idle_timeout", mode="before")(_number_not_bool)

    @field_validator("middlebox")
    @classmethod
    def _known_middlebox(cls, value: str | None) -> str | None:
        from pool_doctor.platforms import middlebox_preset

        return None if value is None else middlebox_preset(value).key

    @field_validator("platform")
    @classmethod
    def _known_platform(cls, value: str | None) -> str | None:
        from pool_doctor.platforms import by_key

        return None if value is None else by_key(value).key

    @model_validator(mode="after")
    def _apply_middlebox(self) -> NetworkConfig:
        """A preset supplies idle_timeout and shape; a value the user gave wins over the preset's."""
        # Written past pydantic's field tracking: model_fields_set keeps saying what the user gave.
        entry = self.preset
        if entry is None:
            return self
        limit = entry.limits()[0]
        if "idle_timeout" not in self.model_fields_set:
            self.__dict__["idle_timeout"] = float(limit.seconds)
        if "shape" not in self.model_fields_set and limit.shape.value in ("reset", "drop"):
            self.__dict__["shape"] = limit.shape.value
        return self

    @property
    def preset(self) -> Any:
        """The catalogue entry `middlebox` names, or None."""
        from pool_doctor.platforms import middlebox_preset

        return middlebox_preset(self.middlebox) if self.middlebox else None

    def given(self, key: str) -> bool:
        """True when the user set `key` (idle_timeout, shape) rather than a preset or the default."""
        return key in self.model_fields_set


class PoolerConfig(BaseModel):
    """The pooler's own settings, for when its console cannot be read (a managed pooler never lets it): what
    PgBouncer's SHOW CONFIG would say. The console wins where it answers."""

    model_config = ConfigDict(extra="ignore")

    pool_mode: Literal["session", "transaction", "statement"] | None = Field(
        None, description="how the pooler hands out server connections; unset = detected from the connection"
    )
    client_idle_timeout: float | None = Field(
        None,
        ge=0,
        le=31_536_000,
        description="seconds the pooler keeps an idle client connection before closing it (0 = off, PgBouncer's "
        "default); unset = read from the console, else unknown",
    )
    max_prepared_statements: int | None = Field(
        None, ge=0, description="PgBouncer 1.21+: protocol-level prepared statements tracked per connection"
    )

    _numbers = field_validator("client_idle_timeout", mode="before")(_number_not_bool)

    def given(self) -> dict[str, str]:
        """The keys set, as the console would show them (PgBouncer's names, text values)."""
        return {
            key: f"{value:g}" if isinstance(value, float) else str(value) for key, value in self if value is not None
        }


def _stack_tag(value: Any) -> str:
    """Which stack's model a `[pool]` table is: its `stack` key (SQLAlchemy's when it gives none)."""
    if isinstance(value, PoolModel):
        return value.stack
    if isinstance(value, Mapping):
        stack = value.get("stack", DEFAULT)
        return stack if isinstance(stack, str) else repr(stack)
    return DEFAULT


if TYPE_CHECKING:
    PoolSettings = PoolModel
else:
    # The config's pool is a tagged union of the stacks' own models: `stack` picks the model.
    PoolSettings = Annotated[
        Union[tuple(Annotated[model, Tag(model.tag())] for model in MODELS)],  # noqa: UP007
        Discriminator(
            _stack_tag,
            custom_error_type="unknown_stack",
            custom_error_message=f"stack must be one of {', '.join(NAMES)}",
        ),
    ]


class AppConfig(BaseSettings):
    """Everything pool-doctor knows about the app, besides where its database is."""

    model_config = SettingsConfigDict(env_prefix="POOL_DOCTOR_", env_nested_delimiter="__", extra="ignore")

    pool: PoolSettings = Field(default_factory=SQLAlchemyPool)
    deployment: DeploymentConfig = Field(default_factory=DeploymentConfig)
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    pooler: PoolerConfig = Field(default_factory=PoolerConfig)
    connect_args: dict[str, Any] = Field(
        default_factory=dict,
        description="the driver's connect_args as the app passes them (asyncpg: timeout, command_timeout, "
        "server_settings; psycopg: connect_timeout, keepalives_idle, tcp_user_timeout, ...)",
    )

    # The parsed config file; set on a throwaway subclass by load_settings, so no module state is shared.
    file_data: ClassVar[dict[str, Any]] = {}

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        file_data = getattr(settings_cls, "file_data", {})
        return (init_settings, env_settings, InitSettingsSource(settings_cls, init_kwargs=file_data))


# Each section's model; [pool]'s is the one its `stack` names (pool_model).
SECTIONS: dict[str, type[BaseModel]] = {
    "pool": SQLAlchemyPool,
    "deployment": DeploymentConfig,
    "network": NetworkConfig,
    "pooler": PoolerConfig,
}


def read_config_file(path: Path | None, start: Path | None = None) -> tuple[dict[str, Any], Path | None]:
    """Parse the config: the file given (a pyproject.toml: its [tool.pool-doctor] table), else the first found
    walking up from `start` (default: the current directory), else nothing. Bounded: a regular file of at most
    1 MiB (a FIFO or /dev/zero is refused, never waited on), nested at most files.MAX_DEPTH deep."""
    if path is None:
        found = find_config(start or Path.cwd())
        if found is None:
            return {}, None
        path = found
    if str(path) == os.devnull:  # `--config /dev/null`: no config, said on purpose
        return {}, path
    data = _read_toml(path)
    if path.name != PYPROJECT:
        return data, path
    tool = data.get("tool", {})
    table = tool.get(TOOL_TABLE) if isinstance(tool, dict) else None
    if table is None:
        raise ConfigError(f"{path} has no [tool.{TOOL_TABLE}] table")
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: tool.{TOOL_TABLE} must be a table of keys, not {type(table).__name__}")
    return table, path


def find_config(start: Path) -> Path | None:
    """The config file for a run in `start`: walking up to the root as ruff does, in each directory
    pool-doctor.toml, then a pyproject.toml that has a [tool.pool-doctor] table."""
    folder = start.absolute()
    for here in (folder, *folder.parents):
        own = here / DEFAULT_CONFIG.name
        if own.is_file():
            return _shown(own)
        pyproject = here / PYPROJECT
        if pyproject.is_file():
            tool = _read_toml(pyproject).get("tool")
            if isinstance(tool, dict) and TOOL_TABLE in tool:
                return _shown(pyproject)
    return None


def _shown(path: Path) -> Path:
    """A found file as the output names it: relative to the current directory when it is in it, else absolute."""
    try:
        return path.relative_to(Path.cwd().absolute())
    except ValueError:
        return path


def config_label(path: Path) -> str:
    """How the output names the config file used: `pyproject.toml [tool.pool-doctor]`, `pool-doctor.toml`."""
    return f"{path} [tool.{TOOL_TABLE}]" if path.name == PYPROJECT else str(path)


def _read_toml(path: Path) -> dict[str, Any]:
    from pool_doctor.files import check_depth, read_bytes

    raw = read_bytes(path, "config file", error=ConfigError)
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"config file {path} nests tables or arrays too deeply") from None
    check_depth(data, f"config file {path}", ConfigError)
    return data


TABLES = frozenset({*SECTIONS, "connect_args"})  # every table a config file may hold


def pool_model(table: Any) -> type[PoolModel]:
    """The model of the stack a `[pool]` table names (SQLAlchemy's when it names none, or one no stack has)."""
    tag = _stack_tag(table)
    return next((model for model in MODELS if model.tag() == tag), SQLAlchemyPool)


def _fields(section: str, values: Any) -> frozenset[str] | None:
    """The keys a section takes; None: free-form ([connect_args], or a stack whose keys are its library's)."""
    if section == "connect_args":
        return None
    if section == "pool":
        return pool_model(values).fixed_keys()
    model = SECTIONS.get(section)
    return frozenset(model.model_fields) if model is not None else frozenset()


def unknown_keys(data: dict[str, Any]) -> list[str]:
    """Keys of a config file that no model field takes, as `section.key`."""
    unknown: list[str] = []
    for section, values in data.items():
        if section not in TABLES:
            unknown.append(section)
            continue
        fields = _fields(section, values)
        if fields is not None and isinstance(values, dict):
            unknown.extend(f"{section}.{key}" for key in values if key not in fields)
    return unknown


def unknown_env_keys(environ: Mapping[str, str], pool: type[PoolModel] | None) -> list[str]:
    """`POOL_DOCTOR_<SECTION>__<KEY>` variables no model field takes (POOL_DOCTOR_POOL__POOLSIZE), which
    pydantic-settings drops without a word. A free-form stack's [pool] keys (or any, when `pool` is None: --app
    pools each have their own) and [connect_args] are the stack's and the driver's to name."""
    unknown: list[str] = []
    for name in environ:
        section, sep, key = name.upper().removeprefix("POOL_DOCTOR_").partition("__")
        if not name.upper().startswith("POOL_DOCTOR_") or not sep:
            continue
        if section.lower() not in TABLES:
            unknown.append(name)
            continue
        fields = _fields(section.lower(), {}) if section != "POOL" else (pool.fixed_keys() if pool else None)
        if fields is not None and key.lower() not in fields:
            unknown.append(name)
    return sorted(unknown)


def code_settings(data: Mapping[str, Any]) -> AppConfig:
    """The settings the app's code alone gives (the scan's layer): no environment, no config file."""
    pool_data = dict(data.get("pool") or {})
    try:
        pool = pool_model(pool_data).model_validate(pool_data)
    except ValidationError as exc:
        raise ConfigError(f"pool: {_first_problem(exc)}") from None
    return AppConfig.model_construct(
        pool=pool,
        deployment=DeploymentConfig(),
        network=NetworkConfig(),
        pooler=PoolerConfig(),
        connect_args=dict(data.get("connect_args") or {}),
    )


def load_settings(overrides: dict[str, dict[str, Any]], file_data: dict[str, Any], origin: str = "config") -> AppConfig:
    """Build the AppConfig from CLI overrides (highest), the environment, and parsed file data (lowest)."""
    for section, values in file_data.items():
        if section in TABLES and not isinstance(values, dict):
            raise ConfigError(f"{origin}: [{section}] must be a table of keys, not {type(values).__name__}")
    file_cls = type("FileSettings", (AppConfig,), {"file_data": file_data})
    try:
        settings: AppConfig = file_cls(**{k: v for k, v in overrides.items() if v})
    except SettingsError as exc:  # e.g. POOL_DOCTOR_CONNECT_ARGS holding text that is not JSON
        raise ConfigError(f"environment: {' '.join(str(exc).split())} (complex values must be JSON)") from None
    except ValidationError as exc:
        blamed = _blame(_location(exc.errors()[0]["loc"]), overrides, origin)
        raise ConfigError(f"{blamed}: {_first_problem(exc)}") from None
    except RecursionError:  # a POOL_DOCTOR_* JSON value nested thousands deep
        raise ConfigError("environment: a POOL_DOCTOR_* value nests tables or arrays too deeply") from None
    from pool_doctor.files import check_depth

    check_depth(settings.connect_args, f"{where_given('connect_args', '', origin)}: [connect_args]", ConfigError)
    check_depth(settings.pool.own(), f"{where_given('pool', '', origin)}: [pool]", ConfigError)
    return settings


def where_given(section: str, key: str, file_origin: str) -> str:
    """The environment variable that gave `section.key` (or its whole section), else the config file."""
    wanted = {f"POOL_DOCTOR_{section}__{key}".upper(), f"POOL_DOCTOR_{section}".upper()}
    for name in os.environ:
        if name.upper() in wanted:  # pydantic-settings matches names case-insensitively
            return f"environment {name}"
    return file_origin


def _blame(loc: tuple[int | str, ...], overrides: dict[str, dict[str, Any]], file_origin: str) -> str:
    """The layer that gave the failing value, in precedence order, so the user fixes the right place."""
    section, key = str(loc[0]), str(loc[1]) if len(loc) > 1 else ""
    if key in overrides.get(section, {}):
        return "command line"
    wanted = {f"POOL_DOCTOR_{section}__{key}".upper(), f"POOL_DOCTOR_{section}".upper()}
    for name in os.environ:
        if name.upper() in wanted:  # pydantic-settings matches names case-insensitively
            return f"environment {name}"
    return file_origin


def _location(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """An error's place as the user writes it: pydantic puts the pool's stack tag after `pool`."""
    if len(loc) > 1 and loc[0] == "pool" and loc[1] in NAMES:
        return (loc[0], *loc[2:])
    return loc


def _first_problem(exc: ValidationError) -> str:
    """One line naming the key, what was given and what is wanted."""
    error = exc.errors()[0]
    key = ".".join(str(part) for part in _location(error["loc"]))
    given = error.get("input")
    if error["type"] == "unknown_stack" and isinstance(given, Mapping):  # said of the key, not the table
        key, given = f"{key}.stack", given.get("stack")
    shown = f" (got {given!r})" if not isinstance(given, dict) else ""
    more = f"; and {exc.error_count() - 1} more problem(s)" if exc.error_count() > 1 else ""
    message = str(error["msg"]).removeprefix("Value error, ")  # our validators' own sentence, as it is
    return f"{key}: {message}{shown}{more}"
