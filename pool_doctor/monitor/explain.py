"""`pool-doctor explain`: read the monitor's JSON lines, build one report, render it (table, JSON, markdown).

Compute, model, render: `read_records` -> `build_report` -> `ExplainReport` (one JSON form) -> renderers that
return text or rich renderables; the CLI prints. The settings that would have prevented each cause come
from the one judge (`pool_doctor.path.judge`), asked about candidate policies for the stack that died.
"""

from __future__ import annotations

import json
import math
import re
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from pool_doctor.errors import UsageError
from pool_doctor.model import SCHEMA_VERSION as DOCUMENT_VERSION
from pool_doctor.monitor.attribution import IN_TRANSACTION, limit_from_json
from pool_doctor.monitor.holds import HOLD_EVENTS
from pool_doctor.monitor.records import SCHEMA_VERSION
from pool_doctor.path.judge import Outcome, judge, margin
from pool_doctor.path.model import Limit
from pool_doctor.redact import printable

_STEPS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400)


MAX_LIMIT = 31_536_000  # a year, as [pool] pool_recycle: no idle limit is longer, and candidates are built from it
MAX_IDLE = 100 * MAX_LIMIT  # past this an idle time is a corrupt line, and the histogram's arithmetic overflows
# What one report holds of a log's text, however long the log: distinct causes, errors and targets, and the
# characters of each (the monitor writes far fewer, and messages of at most 500 characters).
MAX_DISTINCT = 200
MAX_TEXT = 600
OTHER_ERRORS = "(other errors)"
OTHER_CAUSES = "(other causes)"


class LogError(UsageError):
    """The log cannot be read as the monitor's records (exit 2)."""


# How every line the monitor writes begins (json.dumps keeps the record's key order): a line that begins so
# and does not parse is a record the monitor was writing when the disk filled or the app died.
RECORD_START = '{"schema_version":'


def open_log(path: str) -> IO[str]:
    """The log at `path` for reading: a regular file only (a FIFO would block, /dev/zero never ends)."""
    import io

    from pool_doctor.files import open_regular

    return io.TextIOWrapper(open_regular(path, "log"), encoding="utf-8")


def read_records(stream: IO[str], name: str = "the log", torn: list[int] | None = None) -> Iterator[dict[str, Any]]:
    """Every death record of a JSON-lines stream, one at a time (memory stays bounded however long the log).
    Blank lines are skipped; so is a torn record (a partly written line, see RECORD_START), whose line number
    goes to `torn`; anything else unreadable fails."""
    from pool_doctor.files import MAX_DEPTH, depth, lines

    try:
        for number, line in lines(stream, name):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except RecursionError:
                raise LogError(f"{name} line {number} nests arrays or objects too deeply") from None
            except ValueError:
                if line.lstrip().startswith(RECORD_START) or not line.endswith("\n"):
                    if torn is not None:
                        torn.append(number)
                    continue
                raise LogError(f"{name} line {number} is not JSON: not a pool_doctor.monitor log") from None
            if depth(record) > MAX_DEPTH:
                raise LogError(f"{name} line {number} nests arrays or objects more than {MAX_DEPTH} deep")
            if not isinstance(record, dict) or "schema_version" not in record:
                raise LogError(f"{name} line {number} is not a pool_doctor.monitor record (no schema_version)")
            if _version(record["schema_version"]) != SCHEMA_VERSION:
                raise LogError(
                    f"{name} line {number} has schema_version {printable(repr(record['schema_version']))[:80]}; "
                    f"this pool-doctor reads {SCHEMA_VERSION}"
                )
            if record.get("event") == "death":
                problem = death_problem(record)
                if problem is not None:
                    raise LogError(f"{name} line {number} is not a death record as the monitor writes it: {problem}")
                yield record
            elif record.get("event") == "failure":
                if not isinstance(record.get("cause"), dict) or not isinstance(record.get("error") or {}, dict):
                    raise LogError(f"{name} line {number} is not a failure record as the monitor writes it")
                yield record
            elif record.get("event") in HOLD_EVENTS:
                problem = hold_problem(record)
                if problem is not None:
                    raise LogError(
                        f"{name} line {number} is not a {record['event']} record as the monitor writes it: {problem}"
                    )
                yield record
    except UnicodeDecodeError:
        raise LogError(f"{name} is not text: not a pool_doctor.monitor log") from None
    except OSError as exc:
        raise LogError(f"cannot read {name}: {exc.strerror or exc}") from None


def explain_log(log: str | None, stdin: IO[str]) -> tuple[ExplainReport, str | None]:
    """The report of the log at `log` (None or "-": `stdin`), and the warning for the torn records it skipped."""
    torn: list[int] = []
    if log in (None, "-"):
        report = build_report(read_records(stdin, "stdin", torn))
    else:
        with open_log(log) as stream:
            report = build_report(read_records(stream, log, torn))
    return report, torn_warning(log or "stdin", torn) if torn else None


def torn_warning(name: str, torn: list[int]) -> str:
    """The one warning for the torn records read_records skipped."""
    shown = ", ".join(str(number) for number in torn[:5]) + (f" and {len(torn) - 5} more" if len(torn) > 5 else "")
    what = "a partly written record" if len(torn) == 1 else f"{len(torn)} partly written records"
    return f"{name}: skipped {what} (line {shown}): the monitor was cut off writing it (a full disk, a crash)"


def _version(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):  # "x", [1], NaN, Infinity
        return None


def death_problem(record: dict[str, Any]) -> str | None:
    """What makes a death record unreadable by build_report (a field of the wrong type, a time that is not
    a finite number), or None. The monitor writes none of these: such a line was edited or is another tool's."""
    cause = record.get("cause")
    if cause is not None and not isinstance(cause, dict):
        return f"cause is {_json_type(cause)}, not an object"
    if isinstance(cause, dict):
        if cause.get("limit") is not None:
            if not isinstance(cause["limit"], dict):
                return f"cause.limit is {_json_type(cause['limit'])}, not an object"
            try:
                limit = limit_from_json(cause["limit"])
            except UsageError as exc:
                return f"cause.limit: {exc}"
            if not 0 <= limit.seconds <= MAX_LIMIT:  # NaN fails too
                return f"cause.limit.seconds is {cause['limit'].get('seconds')!r}, not a number of seconds up to a year"
        if cause.get("candidates") is not None and not isinstance(cause["candidates"], list):
            return f"cause.candidates is {_json_type(cause['candidates'])}, not a list"
    idle = record.get("idle_s", 0.0)
    if isinstance(idle, bool) or not isinstance(idle, int | float) or not 0 <= idle <= MAX_IDLE:  # NaN fails too
        return f"idle_s is {idle!r}, not a number of seconds (0 to 100 years)"
    error = record.get("error")
    if error is not None and not isinstance(error, dict):
        return f"error is {_json_type(error)}, not an object"
    return None


def hold_problem(record: dict[str, Any]) -> str | None:
    """What makes a held or leaked record unreadable by build_report, or None."""
    where = record.get("where")
    if where is not None and not isinstance(where, dict):
        return f"where is {_json_type(where)}, not an object"
    held = record.get("held_s", 0.0)
    if isinstance(held, bool) or not isinstance(held, int | float) or not 0 <= held <= MAX_IDLE:
        return f"held_s is {held!r}, not a number of seconds (0 to 100 years)"
    return None


def _json_type(value: Any) -> str:
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list", dict: "an object"}
    return f"{names.get(type(value), type(value).__name__)} ({json.dumps(value)[:40]})"


# -- the report ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prevention:
    stack: str
    setting: str  # "pool_pre_ping = true", "pool_recycle = 1"
    outcome: str  # the judge's: "survives" or "replaced"
    reason: str
    cost: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "setting": self.setting,
            "outcome": self.outcome,
            "reason": self.reason,
            "cost": self.cost,
        }


@dataclass
class Cause:
    name: str
    what: str  # "idle_session_timeout = 2s, set by ALTER ROLE app SET"
    explained: bool
    deaths: int = 0
    failed: int = 0
    replaced: int = 0
    idle: array[float] = field(default_factory=lambda: array("d"))  # 8 bytes a death: bounded by the log's size
    errors: Counter[str] = field(default_factory=Counter)
    stacks: set[str] = field(default_factory=set)
    limit: Limit | None = None
    candidates: list[dict[str, Any]] = field(default_factory=list)
    prevented_by: list[Prevention] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "what": self.what,
            "explained": self.explained,
            "deaths": self.deaths,
            "failed_requests": self.failed,
            "replaced": self.replaced,
            "idle_s": {"min": min(self.idle), "max": max(self.idle)} if len(self.idle) else None,
            "errors": dict(self.errors.most_common()),
            "stacks": sorted(self.stacks),
            "limit": self.limit.to_json() if self.limit else None,
            "candidates": self.candidates,
            "prevented_by": [p.to_json() for p in self.prevented_by],
            "advice": self.advice,
        }


@dataclass
class Failure:
    """Requests that failed on connections that lived on, for one cause (prepared statements under transaction
    pooling): no death, so no idle time; the remedy comes with the record."""

    name: str
    what: str
    remedy: str
    count: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    stacks: set[str] = field(default_factory=set)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "what": self.what,
            "remedy": self.remedy,
            "failed_requests": self.count,
            "errors": dict(self.errors.most_common()),
            "stacks": sorted(self.stacks),
        }


@dataclass(frozen=True)
class Bin:
    low: float
    high: float
    count: int
    limits: tuple[str, ...] = ()  # limits whose seconds fall in this bin: where the deaths should start

    def to_json(self) -> dict[str, Any]:
        return {"low_s": self.low, "high_s": self.high, "count": self.count, "limits": list(self.limits)}


@dataclass
class Holder:
    """One place in the app's code that took connections: how many it held too long, leaked, or lost to a death."""

    at: str  # "app/routes.py:19", or "(unknown place)"
    function: str
    held: int = 0
    leaked: int = 0
    deaths: int = 0
    longest_s: float = 0.0
    in_transaction: int = 0  # held or leaked inside a transaction

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "function": self.function,
            "held": self.held,
            "leaked": self.leaked,
            "deaths": self.deaths,
            "longest_s": self.longest_s,
            "in_transaction": self.in_transaction,
        }


UNKNOWN_PLACE = "(unknown place)"


def _holder(holders: dict[str, Holder], record: dict[str, Any]) -> Holder:
    where = record.get("where") or {}
    at = printable(str(where.get("at") or UNKNOWN_PLACE))[:MAX_TEXT]
    if at not in holders and len(holders) >= MAX_DISTINCT:
        at = "(other places)"
    holder = holders.get(at)
    if holder is None:
        holder = holders[at] = Holder(at, printable(str(where.get("function") or ""))[:MAX_TEXT])
    return holder


@dataclass
class ExplainReport:
    deaths: int
    failed: int
    replaced: int
    causes: list[Cause]
    histogram: list[Bin]
    targets: list[str]
    failures: list[Failure] = field(default_factory=list)
    holders: list[Holder] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": DOCUMENT_VERSION,
            "deaths": self.deaths,
            "failed_requests": self.failed,
            "replaced": self.replaced,
            "targets": self.targets,
            "causes": [c.to_json() for c in self.causes],
            "histogram": [b.to_json() for b in self.histogram],
            "failures": [f.to_json() for f in self.failures],
            "holders": [h.to_json() for h in self.holders],
        }


def build_report(records: Iterable[dict[str, Any]]) -> ExplainReport:
    causes: dict[tuple[str, str], Cause] = {}
    idles: array[float] = array("d")
    limits: dict[str, Limit] = {}
    targets: set[str] = set()
    failed = replaced = total = 0
    failures: dict[str, Failure] = {}
    holders: dict[str, Holder] = {}
    for record in records:
        if record.get("event") == "failure":
            _count_failure(failures, record)
            continue
        if record.get("event") in HOLD_EVENTS:
            holder = _holder(holders, record)
            setattr(holder, str(record["event"]), getattr(holder, str(record["event"])) + 1)
            holder.longest_s = max(holder.longest_s, float(record.get("held_s") or 0.0))
            holder.in_transaction += record.get("in_transaction") is True
            continue
        if isinstance(record.get("where"), dict):
            _holder(holders, record).deaths += 1
        cause_data = record.get("cause") or {}
        name = str(cause_data.get("name", "unexplained"))[:MAX_TEXT]
        what = str(cause_data.get("what", name))[:MAX_TEXT]
        cause = causes.get((name, what))
        if cause is None and len(causes) >= MAX_DISTINCT:  # a log of made-up causes: the rest counted as one
            name = what = OTHER_CAUSES
            cause = causes.get((name, what))
        if cause is None:
            limit = limit_from_json(cause_data["limit"]) if isinstance(cause_data.get("limit"), dict) else None
            cause = causes[(name, what)] = Cause(
                name,
                what,
                bool(cause_data.get("explained")),
                limit=limit,
                candidates=list(cause_data.get("candidates") or []),
            )
            if limit is not None:
                limits[limit.what] = limit
        idle = float(record.get("idle_s", 0.0))
        is_failed = bool(record.get("request_failed"))
        cause.deaths += 1
        cause.failed += is_failed
        cause.replaced += not is_failed
        cause.idle.append(idle)
        cause.stacks.add(str(record.get("stack", "sqlalchemy")))
        error = record.get("error") or {}
        if error:
            text = f"{error.get('type')}: {error.get('message')}"[:MAX_TEXT]
            if text in cause.errors or len(cause.errors) < MAX_DISTINCT:
                cause.errors[text] += 1
            else:
                cause.errors[OTHER_ERRORS] += 1
        idles.append(idle)
        if len(targets) < MAX_DISTINCT:
            targets.add(str(record.get("target", ""))[:MAX_TEXT])
        failed += is_failed
        replaced += not is_failed
        total += 1
    ordered = sorted(causes.values(), key=lambda c: (-c.failed, -c.deaths, c.name))
    for cause in ordered:
        _prevent(cause)
    return ExplainReport(
        total,
        failed,
        replaced,
        ordered,
        histogram(idles, list(limits.values())),
        sorted(t for t in targets if t),
        failures=sorted(failures.values(), key=lambda f: (-f.count, f.name)),
        holders=sorted(holders.values(), key=lambda h: (-h.leaked, -h.deaths, -h.held, h.at)),
    )


def _count_failure(failures: dict[str, Failure], record: dict[str, Any]) -> None:
    cause = record["cause"]
    name = str(cause.get("name", "failure"))[:MAX_TEXT]
    failure = failures.get(name)
    if failure is None:
        if len(failures) >= MAX_DISTINCT:
            return
        failure = failures[name] = Failure(
            name, str(cause.get("what", name))[:MAX_TEXT], str(cause.get("remedy", ""))[:MAX_TEXT]
        )
    failure.count += 1
    failure.stacks.add(str(record.get("stack", "sqlalchemy"))[:MAX_TEXT])
    error = record.get("error") or {}
    if error:
        # One line per kind of error: the driver's hint cut off, statement names as the pattern they follow.
        message = str(error.get("message")).split(" HINT:")[0]
        message = _STATEMENT_NAME.sub(lambda m: m.group(1) + "N" + m.group(2), message)
        text = f"{error.get('type')}: {message}"[:MAX_TEXT]
        if text in failure.errors or len(failure.errors) < MAX_DISTINCT:
            failure.errors[text] += 1


_STATEMENT_NAME = re.compile(r'("__asyncpg_stmt_|"_pg3_)[0-9a-f]+(__"|")')


def _prevent(cause: Cause) -> None:
    """Fill the settings that would have prevented this cause, each as the judge's verdict on it."""
    limit = cause.limit
    if limit is None:
        if not cause.explained:
            cause.advice.append(
                "Write a report with `pool-doctor check --json > report.json` and watch with "
                'limits_from="report.json" to name what closed these connections.'
            )
        from pool_doctor.stacks import candidates

        for stack in sorted(cause.stacks):
            pings = [knob for knob, policy in candidates(stack, None) if policy.ping]
            if pings and cause.name != "terminated":
                cause.prevented_by.append(
                    Prevention(
                        stack,
                        str(pings[0]),
                        Outcome.REPLACED.value,
                        "a ping at checkout finds a connection closed while idle, whatever closed it "
                        "(a silently dropped flow needs a timeout on the ping too)",
                        "one round trip per checkout",
                    )
                )
        return
    if limit.name in IN_TRANSACTION:
        cause.advice.append(
            f"{limit.name} ends a session idle inside a transaction: no pool setting prevents it "
            "(pre-ping runs only at checkout). Commit or roll back before slow work, or raise "
            "the limit for this role."
        )
        return
    from pool_doctor.stacks import candidates

    for stack in sorted(cause.stacks):
        for knob, policy in candidates(stack, _below(limit)):
            verdict = judge(policy, limit)
            if verdict.outcome in (Outcome.SURVIVES, Outcome.REPLACED):
                cause.prevented_by.append(
                    Prevention(stack, str(knob), verdict.outcome.value, verdict.reason, verdict.cost)
                )


def _below(limit: Limit) -> int | None:
    """Whole seconds far enough below the limit (the judge's margin), or None when none fits."""
    seconds = math.floor(limit.seconds - margin(limit.seconds))
    return seconds if seconds >= 1 else None


def histogram(values: Sequence[float], limits: list[Limit], max_bins: int = 8) -> list[Bin]:
    """Idle time at death in equal bins of a round width; the known limits widen the range to show them."""
    if not len(values):
        return []
    marks = [limit.seconds for limit in limits if limit.seconds <= max(values) * 2]
    low_value, high_value = min([min(values), *marks]), max([max(values), *marks])
    width = next(
        (step for step in _STEPS if (high_value - math.floor(low_value / step) * step) / step < max_bins), None
    )
    if width is None:  # a spread past the steps (weeks, years): whole days, wide enough to keep max_bins
        day = _STEPS[-1]
        width = day * max(1, math.ceil((high_value - low_value) / day / (max_bins - 2)))
    start = math.floor(low_value / width) * width
    count = max(1, math.floor((high_value - start) / width) + 1)
    bins = []
    for index in range(count):
        low, high = start + index * width, start + (index + 1) * width
        inside = sum(1 for v in values if low <= v < high)
        shown = tuple(f"{limit.name} {limit.shown}" for limit in limits if low <= limit.seconds < high)
        bins.append(Bin(round(low, 3), round(high, 3), inside, shown))
    return bins
