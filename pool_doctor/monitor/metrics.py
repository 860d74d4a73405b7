"""The monitor's metrics: a pool's connections under OpenTelemetry's semantic-convention names, and deaths by cause.

OpenTelemetry's database conventions (docs/database/database-metrics.md, status Development) name what a
connection pool reports; Python's instrumentations emit only the older `db.client.connections.usage` for
SQLAlchemy and nothing for asyncpg's or psycopg's pools. The watched pool reports here:

    db.client.connection.count             UpDownCounter {connection}  per db.client.connection.state: idle | used
    db.client.connection.max               UpDownCounter {connection}  most connections the pool may open
    db.client.connection.idle.max          UpDownCounter {connection}  most idle connections it keeps
    db.client.connection.idle.min          UpDownCounter {connection}  fewest idle connections it keeps
    db.client.connection.pending_requests  UpDownCounter {request}     checkouts waiting now (where the pool knows)
    db.client.connection.timeouts          Counter {timeout}           checkouts that gave up waiting
    db.client.connection.create_time       Histogram s                 opening a new connection
    db.client.connection.wait_time         Histogram s                 obtaining one from the pool
    db.client.connection.use_time          Histogram s                 from checkout to return
    pool_doctor.connection.deaths          Counter {connection}        pooled connections found dead, by `cause`
    pool_doctor.connection.idle_at_death   Histogram s                 idle time before the use that found one dead

Every point carries `db.client.connection.pool.name`; a death also `cause` (the monitor's attribution:
idle_session_timeout, network-idle, ...; no convention names why a connection died), `outcome` and `stack`.
Prometheus gets the same names in Prometheus form (dots to underscores, the unit `s` as `_seconds`, a counter's
`_total`): `db_client_connection_count{db_client_connection_state="idle"}`, `pool_doctor_connection_deaths_total`.

OpenTelemetry through `opentelemetry-api` only (the app brings and configures the SDK); Prometheus through
`prometheus_client`. A sink that fails is logged at debug level and skipped: metrics never raise into the app.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pool_doctor.errors import UsageError

COUNT = "db.client.connection.count"
MAX = "db.client.connection.max"
IDLE_MAX = "db.client.connection.idle.max"
IDLE_MIN = "db.client.connection.idle.min"
PENDING = "db.client.connection.pending_requests"
TIMEOUTS = "db.client.connection.timeouts"
CREATE_TIME = "db.client.connection.create_time"
WAIT_TIME = "db.client.connection.wait_time"
USE_TIME = "db.client.connection.use_time"
DEATHS = "pool_doctor.connection.deaths"
IDLE_AT_DEATH = "pool_doctor.connection.idle_at_death"

POOL_NAME = "db.client.connection.pool.name"
STATE = "db.client.connection.state"

# name -> (OpenTelemetry unit, description). The gauges read the pool when the app's reader collects.
GAUGES: dict[str, tuple[str, str]] = {
    MAX: ("{connection}", "The maximum number of open connections allowed"),
    IDLE_MAX: ("{connection}", "The maximum number of idle open connections allowed"),
    IDLE_MIN: ("{connection}", "The minimum number of idle open connections allowed"),
    PENDING: ("{request}", "The number of current pending requests for an open connection"),
}
TIMES: dict[str, str] = {
    CREATE_TIME: "The time it took to create a new connection",
    WAIT_TIME: "The time it took to obtain an open connection from the pool",
    USE_TIME: "The time between borrowing a connection and returning it to the pool",
}
# Seconds: from a local connect (ms) to a held connection (minutes); the API's default buckets are for ms.
TIME_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
IDLE_BUCKETS = (1, 5, 30, 60, 300, 350, 600, 1200, 1800, 3600)

_LOGGER = logging.getLogger("pool_doctor.monitor")


def prometheus_name(name: str, unit: str = "", counter: bool = False) -> str:
    """An OpenTelemetry name in Prometheus form, as OpenTelemetry's Prometheus exporters write it."""
    base = name.replace(".", "_")
    if unit == "s":
        base += "_seconds"
    return base + ("_total" if counter else "")


@dataclass(frozen=True)
class PoolState:
    """What a pool says of itself when metrics are collected; None: the pool does not know."""

    idle: int
    used: int
    max: int | None = None
    idle_max: int | None = None
    idle_min: int | None = None
    pending: int | None = None

    def gauges(self) -> dict[str, int | None]:
        return {MAX: self.max, IDLE_MAX: self.idle_max, IDLE_MIN: self.idle_min, PENDING: self.pending}


StateReader = Callable[[], PoolState]


class Sources:
    """The watched pools one meter or registry reports on: each pool's name and how to read its state.

    Readers are held weakly (a bound method of the monitor): a pool that is gone stops being reported."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._readers: dict[int, tuple[str, weakref.WeakMethod[StateReader]]] = {}

    def add(self, pool: str, reader: StateReader) -> None:
        with self._lock:
            self._readers[id(reader.__self__)] = (pool, weakref.WeakMethod(reader))  # type: ignore[attr-defined]

    def remove(self, reader: StateReader) -> None:
        with self._lock:
            self._readers.pop(id(reader.__self__), None)  # type: ignore[attr-defined]

    def read(self) -> Iterator[tuple[str, PoolState]]:
        with self._lock:
            readers = list(self._readers.values())
        for pool, ref in readers:
            reader = ref()
            if reader is None:
                continue
            try:
                yield pool, reader()
            except Exception:  # a pool being closed: skip it this once
                _LOGGER.debug("reading the pool's state for metrics failed", exc_info=True)


class Sink:
    """One exporter bound to one watched pool: the events the adapters report, and deaths (`sink(record)`)."""

    def __init__(self, pool: str, sources: Sources) -> None:
        self.pool = pool
        self.sources = sources

    def __call__(self, record: dict[str, Any]) -> None:
        """A death record (the monitor's emit path calls every exporter with it)."""
        raise NotImplementedError

    def created(self, seconds: float) -> None:
        raise NotImplementedError

    def waited(self, seconds: float) -> None:
        raise NotImplementedError

    def used(self, seconds: float) -> None:
        raise NotImplementedError

    def timed_out(self) -> None:
        raise NotImplementedError

    def death_labels(self, record: dict[str, Any]) -> dict[str, str]:
        return {
            POOL_NAME: self.pool,
            "cause": str(record["cause"]["name"]),
            "outcome": str(record["outcome"]),
            "stack": str(record["stack"]),
        }


class PoolMetrics:
    """The sinks of one watched pool, as the adapter calls them: each call reaches every sink, and a sink
    that fails is skipped (logged at debug level), never raised into the app."""

    def __init__(self, sinks: Sequence[Callable[[dict[str, Any]], None]]) -> None:
        self.sinks = [sink for sink in sinks if isinstance(sink, Sink)]
        self._reader: StateReader | None = None

    def __bool__(self) -> bool:
        return bool(self.sinks)

    def _each(self, method: str, *args: Any) -> None:
        for sink in self.sinks:
            try:
                getattr(sink, method)(*args)
            except Exception:
                _LOGGER.debug("metrics export failed", exc_info=True)

    def created(self, seconds: float) -> None:
        self._each("created", seconds)

    def waited(self, seconds: float) -> None:
        self._each("waited", seconds)

    def used(self, seconds: float) -> None:
        self._each("used", seconds)

    def timed_out(self) -> None:
        self._each("timed_out")

    def report_state(self, reader: StateReader) -> None:
        """Read the pool's state through `reader` (a bound method) whenever a sink collects."""
        self._reader = reader
        for sink in self.sinks:
            sink.sources.add(sink.pool, reader)

    def close(self) -> None:
        if self._reader is not None:
            for sink in self.sinks:
                sink.sources.remove(self._reader)
            self._reader = None


# -- OpenTelemetry -----------------------------------------------------------------------------------------


class _OtelInstruments:
    """A meter's instruments, created once per meter (a second create_observable_* would drop its callbacks)."""

    def __init__(self, meter: Any) -> None:
        from opentelemetry.metrics import Observation

        self.meter = meter  # held: the cache is keyed by id(meter)
        self.sources = Sources()

        def count(_options: Any) -> list[Any]:
            points = []
            for pool, state in self.sources.read():
                points.append(Observation(state.idle, {POOL_NAME: pool, STATE: "idle"}))
                points.append(Observation(state.used, {POOL_NAME: pool, STATE: "used"}))
            return points

        def gauge(name: str) -> Callable[[Any], list[Any]]:
            def observe(_options: Any) -> list[Any]:
                return [
                    Observation(value, {POOL_NAME: pool})
                    for pool, state in self.sources.read()
                    if (value := state.gauges()[name]) is not None
                ]

            return observe

        meter.create_observable_up_down_counter(
            COUNT,
            callbacks=[count],
            unit="{connection}",
            description="The number of connections that are currently in state described by the state attribute",
        )
        for name, (unit, description) in GAUGES.items():
            meter.create_observable_up_down_counter(name, callbacks=[gauge(name)], unit=unit, description=description)
        self.timeouts = meter.create_counter(
            TIMEOUTS,
            unit="{timeout}",
            description="The number of connection timeouts that have occurred trying to obtain a connection from the pool",
        )
        self.times = {name: _histogram(meter, name, description, TIME_BUCKETS) for name, description in TIMES.items()}
        self.deaths = meter.create_counter(
            DEATHS, unit="{connection}", description="Pooled connections found dead, by attributed cause"
        )
        self.idle = _histogram(
            meter, IDLE_AT_DEATH, "Idle time before the use that found a connection dead", IDLE_BUCKETS
        )


def _histogram(meter: Any, name: str, description: str, buckets: Sequence[float]) -> Any:
    try:
        return meter.create_histogram(
            name, unit="s", description=description, explicit_bucket_boundaries_advisory=list(buckets)
        )
    except TypeError:  # opentelemetry-api before 1.23 has no bucket advice
        return meter.create_histogram(name, unit="s", description=description)


_OTEL: dict[int, _OtelInstruments] = {}
_OTEL_LOCK = threading.Lock()


class OtelSink(Sink):
    def __init__(self, pool: str, instruments: _OtelInstruments) -> None:
        super().__init__(pool, instruments.sources)
        self.instruments = instruments
        self.attributes = {POOL_NAME: pool}

    def __call__(self, record: dict[str, Any]) -> None:
        self.instruments.deaths.add(1, self.death_labels(record))
        self.instruments.idle.record(record["idle_s"], {**self.attributes, "stack": str(record["stack"])})

    def created(self, seconds: float) -> None:
        self.instruments.times[CREATE_TIME].record(seconds, self.attributes)

    def waited(self, seconds: float) -> None:
        self.instruments.times[WAIT_TIME].record(seconds, self.attributes)

    def used(self, seconds: float) -> None:
        self.instruments.times[USE_TIME].record(seconds, self.attributes)

    def timed_out(self) -> None:
        self.instruments.timeouts.add(1, self.attributes)


def otel_sink(pool: str, meter: Any = None) -> OtelSink:
    """The pool's metrics through the OpenTelemetry metrics API: `meter`, or the global provider's."""
    try:
        from opentelemetry import metrics
    except ImportError:
        raise UsageError("OpenTelemetry export needs opentelemetry-api (pip install 'pool-doctor[otel]')") from None
    meter = meter if meter is not None else metrics.get_meter("pool_doctor.monitor")
    with _OTEL_LOCK:
        instruments = _OTEL.get(id(meter))
        if instruments is None:
            instruments = _OTEL[id(meter)] = _OtelInstruments(meter)
    return OtelSink(pool, instruments)


# -- Prometheus --------------------------------------------------------------------------------------------


class _PromMetrics:
    """A registry's metrics, registered once per registry; the gauges are a collector that reads the pools."""

    def __init__(self, registry: Any) -> None:
        import prometheus_client

        self.registry = registry  # held: the cache is keyed by id(registry)
        self.sources = Sources()
        pool = _label(POOL_NAME)
        self.deaths = prometheus_client.Counter(
            prometheus_name(DEATHS),
            "Pooled connections found dead, by attributed cause",
            [pool, "cause", "outcome", "stack"],
            registry=registry,
        )
        self.idle = prometheus_client.Histogram(
            prometheus_name(IDLE_AT_DEATH, "s"),
            "Idle time before the use that found a connection dead",
            [pool, "stack"],
            registry=registry,
            buckets=(*IDLE_BUCKETS, float("inf")),
        )
        self.timeouts = prometheus_client.Counter(
            prometheus_name(TIMEOUTS),
            "The number of connection timeouts that have occurred trying to obtain a connection from the pool",
            [pool],
            registry=registry,
        )
        self.times = {
            name: prometheus_client.Histogram(
                prometheus_name(name, "s"),
                description,
                [pool],
                registry=registry,
                buckets=(*TIME_BUCKETS, float("inf")),
            )
            for name, description in TIMES.items()
        }
        registry.register(_StateCollector(self.sources))


def _label(name: str) -> str:
    return name.replace(".", "_")


class _StateCollector:
    """The pools' state at scrape time, as Prometheus gauges."""

    def __init__(self, sources: Sources) -> None:
        self.sources = sources

    def describe(self) -> list[Any]:
        return []  # unchecked collector: its families are known only at scrape time

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        pool = _label(POOL_NAME)
        read = list(self.sources.read())
        count = GaugeMetricFamily(
            prometheus_name(COUNT), "The number of connections in each state", labels=[pool, _label(STATE)]
        )
        for name, state in read:
            count.add_metric([name, "idle"], state.idle)
            count.add_metric([name, "used"], state.used)
        yield count
        for metric, (_unit, description) in GAUGES.items():
            family = GaugeMetricFamily(prometheus_name(metric), description, labels=[pool])
            for name, state in read:
                value = state.gauges()[metric]
                if value is not None:
                    family.add_metric([name], value)
            yield family


_PROMETHEUS: dict[int, _PromMetrics] = {}
_PROMETHEUS_LOCK = threading.Lock()


class PrometheusSink(Sink):
    def __init__(self, pool: str, metrics: _PromMetrics) -> None:
        super().__init__(pool, metrics.sources)
        self.metrics = metrics

    def __call__(self, record: dict[str, Any]) -> None:
        labels = self.death_labels(record)
        self.metrics.deaths.labels(*labels.values()).inc()
        self.metrics.idle.labels(self.pool, labels["stack"]).observe(record["idle_s"])

    def created(self, seconds: float) -> None:
        self.metrics.times[CREATE_TIME].labels(self.pool).observe(seconds)

    def waited(self, seconds: float) -> None:
        self.metrics.times[WAIT_TIME].labels(self.pool).observe(seconds)

    def used(self, seconds: float) -> None:
        self.metrics.times[USE_TIME].labels(self.pool).observe(seconds)

    def timed_out(self) -> None:
        self.metrics.timeouts.labels(self.pool).inc()


def prometheus_sink(pool: str, registry: Any = None) -> PrometheusSink:
    """The pool's metrics in `registry` (prometheus_client's default one when None)."""
    try:
        import prometheus_client
    except ImportError:
        raise UsageError("prometheus export needs prometheus_client (pip install 'pool-doctor[monitor]')") from None
    registry = registry if registry is not None else prometheus_client.REGISTRY
    with _PROMETHEUS_LOCK:
        metrics = _PROMETHEUS.get(id(registry))
        if metrics is None:
            metrics = _PROMETHEUS[id(registry)] = _PromMetrics(registry)
    return PrometheusSink(pool, metrics)


def sinks(prometheus: Any, otel: Any, pool: str) -> list[Sink]:
    """`True` uses the default registry / meter; an object is the registry / meter to use; falsy: off."""
    chosen: list[Sink] = []
    if prometheus:
        chosen.append(prometheus_sink(pool, None if prometheus is True else prometheus))
    if otel:
        chosen.append(otel_sink(pool, None if otel is True else otel))
    return chosen
