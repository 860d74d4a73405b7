"""The window, sample by sample: groups, idle ages, holders, forecasts and deaths. Pure (no I/O, no clock):
the sampler hands it each Sample, and it can say its report at any point (the live table) or at the end."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, replace
from typing import Any

from pool_doctor.observe.limits import GroupLimits
from pool_doctor.observe.model import (
    HIDDEN,
    IDLE,
    IDLE_IN_TRANSACTION,
    Death,
    Forecast,
    Group,
    GroupKey,
    Holder,
    Limit,
    ObserveReport,
    Sample,
    Seen,
)
from pool_doctor.observe.queries import SESSION_COLUMNS, masked_statement

MIN_HORIZON = 60.0  # seconds ahead a forecast looks, at least (else the window's length)
# A limit "fits" a death when the session's age at its last sighting plus the gap to the next sample reaches
# it; the server's timers fire a little late, never early, so only lateness gets slack.
SLACK = 1.0


def parse_sample(data: dict[str, Any], query_ms: float) -> Sample:
    """SAMPLE_QUERY's JSON (already made printable) -> a Sample."""
    sessions = []
    for values in data.get("sessions") or []:
        row = dict(zip(SESSION_COLUMNS, values))
        state = row.get("state") or HIDDEN
        key = GroupKey(
            user=row.get("user") or "?",
            database=row.get("database") or "?",
            application=row.get("application") or "",
            client=row.get("client") or "?",
        )
        sessions.append(
            Seen(
                pid=int(row["pid"]),
                started=float(row.get("started") or 0.0),
                key=key,
                state=state,
                state_age=_float(row.get("state_age")),
                xact_age=_float(row.get("xact_age")),
                statement=masked_statement(row.get("query")),
            )
        )
    raw = data.get("databases")
    counters = None
    if "databases" in data:  # PostgreSQL 14+
        counters = {name: (int(v[0] or 0), int(v[1] or 0), int(v[2] or 0)) for name, v in (raw or {}).items()}
    return Sample(float(data["now"]), tuple(sessions), counters, query_ms)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _limit_for(state: str, limits: tuple[Limit, ...]) -> Limit | None:
    wanted = {IDLE: "idle_session_timeout"}.get(state)
    if state.startswith(IDLE_IN_TRANSACTION):
        wanted = "idle_in_transaction_session_timeout"
    return next((limit for limit in limits if limit.name == wanted), None)


@dataclass
class _Tracked:
    seen: Seen
    at: float  # sample time of the last sighting


class Observation:
    """Adds samples up. `window` is the planned length (the forecasts' horizon is at least that)."""

    def __init__(self, limits: GroupLimits, window: float, target: str, pooler: dict[str, Any] | None = None) -> None:
        self.limits = limits
        self.horizon = max(window, MIN_HORIZON)
        self.target = target
        self.pooler = pooler
        self.samples: list[Sample] = []
        self.alive: dict[tuple[int, float], _Tracked] = {}
        self.deaths: list[Death] = []
        self.idle_max: dict[GroupKey, float] = {}
        self.forecasts: dict[tuple[GroupKey, str], Forecast] = {}
        self.holders: dict[tuple[int, float], tuple[GroupKey, Holder]] = {}  # every idle transaction seen
        self.keys: set[GroupKey] = set()  # every group seen in the window
        self.hidden: dict[tuple[int, float], GroupKey] = {}  # every session whose state was hidden

    @property
    def start(self) -> float:
        return self.samples[0].at if self.samples else 0.0

    def add(self, sample: Sample) -> None:
        self.samples.append(sample)
        now = {(s.pid, s.started): s for s in sample.sessions}
        for ident, tracked in list(self.alive.items()):
            if ident not in now:
                del self.alive[ident]
                self._died(tracked, sample.at)
        for ident, seen in now.items():
            self.alive[ident] = _Tracked(seen, sample.at)
            self.keys.add(seen.key)
            if seen.state == HIDDEN:
                self.hidden[ident] = seen.key
            if seen.state == IDLE and seen.state_age is not None:
                self.idle_max[seen.key] = max(self.idle_max.get(seen.key, 0.0), seen.state_age)
            if seen.state.startswith(IDLE_IN_TRANSACTION):
                holder = Holder(seen.pid, seen.state_age or 0.0, seen.xact_age, seen.statement)
                self.holders[ident] = (seen.key, holder)
        for ident, (key, holder) in self.holders.items():
            if ident not in now or not now[ident].state.startswith(IDLE_IN_TRANSACTION):
                self.holders[ident] = (key, replace(holder, ended=True))
        self._forecast(sample)

    def _died(self, tracked: _Tracked, missing_at: float) -> None:
        seen = tracked.seen
        if seen.state == HIDDEN or seen.state_age is None:
            return  # nothing known of how it lived: the limitation says so
        if seen.state != IDLE and not seen.state.startswith(IDLE_IN_TRANSACTION):
            cause_limit = None
        else:
            cause_limit = _limit_for(seen.state, self.limits.for_group(seen.key.user, seen.key.database)[0])
        age_by = seen.state_age + (missing_at - tracked.at)
        cause = cause_limit if cause_limit is not None and cause_limit.seconds <= age_by + SLACK else None
        if cause is None and seen.xact_age is not None:
            lifetime = next(
                (
                    x
                    for x in self.limits.for_group(seen.key.user, seen.key.database)[0]
                    if x.name == "transaction_timeout"
                ),
                None,
            )
            if lifetime is not None and lifetime.seconds <= seen.xact_age + (missing_at - tracked.at) + SLACK:
                cause = lifetime
        self.deaths.append(
            Death(
                pid=seen.pid,
                key=seen.key,
                state=seen.state,
                age_seen=seen.state_age,
                age_by=age_by,
                at=missing_at - self.start,
                cause=cause,
                statement=seen.statement,
            )
        )

    def _forecast(self, sample: Sample) -> None:
        """Per group and limit: the sessions in the limit's state that reach it within the horizon if they stay
        so. The first forecast is kept, unless a later one counts more sessions at risk."""
        waiting: dict[tuple[GroupKey, str], list[tuple[float, str]]] = {}
        totals: dict[tuple[GroupKey, str], int] = {}
        for seen in sample.sessions:
            if seen.state == HIDDEN:
                continue
            limits = self.limits.for_group(seen.key.user, seen.key.database)[0]
            checks: list[tuple[Limit, float | None, str]] = []
            limit = _limit_for(seen.state, limits)
            if limit is not None:
                checks.append((limit, seen.state_age, IDLE if seen.state == IDLE else IDLE_IN_TRANSACTION))
            lifetime = next((x for x in limits if x.name == "transaction_timeout"), None)
            if lifetime is not None and seen.xact_age is not None:
                checks.append((lifetime, seen.xact_age, "in transaction"))
            for limit, age, state in checks:
                group = (seen.key, limit.name)
                totals[group] = totals.get(group, 0) + 1
                if age is not None and 0 <= limit.seconds - age <= self.horizon:
                    waiting.setdefault(group, []).append((limit.seconds - age, state))
        for (key, name), found in waiting.items():
            earlier = self.forecasts.get((key, name))
            if earlier is not None and earlier.at_risk >= len(found):
                continue  # the first warning stands (made the longest before the limit); more at risk: a new one
            limit = next(x for x in self.limits.for_group(key.user, key.database)[0] if x.name == name)
            self.forecasts[(key, name)] = Forecast(
                key=key,
                limit=limit,
                state=found[0][1],
                at_risk=len(found),
                of=totals[(key, name)],
                within=max(left for left, _ in found),
                at=sample.at - self.start,
            )

    def report(self, final: bool = True) -> ObserveReport:
        data = self.limits.data
        last = self.samples[-1] if self.samples else None
        groups = []
        keys = sorted(self.keys)
        limitations: list[str] = []
        for key in keys:
            now = [s for s in (last.sessions if last else ()) if s.key == key]
            by_state: dict[str, int] = {}
            for seen in now:
                by_state[seen.state] = by_state.get(seen.state, 0) + 1
            idle = [s.state_age for s in now if s.state == IDLE and s.state_age is not None]
            limits, unseen = self.limits.for_group(key.user, key.database)
            limitations += [f"{key.user}@{key.database}: {line}" for line in unseen if line not in limitations]
            holders = tuple(holder for k, holder in self.holders.values() if k == key)
            groups.append(
                Group(
                    key=key,
                    by_state=by_state,
                    idle_now=max(idle) if idle else None,
                    idle_max=self.idle_max.get(key),
                    holders=holders,
                    limits=limits,
                    forecasts=tuple(f for (k, _), f in sorted(self.forecasts.items(), key=_by_key) if k == key),
                    deaths=tuple(d for d in self.deaths if d.key == key),
                )
            )
        sees_all = bool(data.get("superuser") or data.get("read_all_stats"))
        limitations = [*_visibility(data, list(self.hidden.values())), *dict.fromkeys(limitations)]
        times = [s.query_ms for s in self.samples]
        return ObserveReport(
            target=self.target,
            version=data["version"],
            version_num=data["version_num"],
            connected_as=data["connected_as"],
            sees_all=sees_all,
            seconds=(last.at - self.start) if last else 0.0,
            samples=len(self.samples),
            query_ms_median=round(statistics.median(times), 2) if times else None,
            query_ms_max=round(max(times), 2) if times else None,
            groups=tuple(sorted(groups, key=lambda g: (-len(g.deaths), -len(g.forecasts), -g.sessions, g.key))),
            session_counters=self._counters(),
            limitations=tuple(limitations),
            pooler=self.pooler,
            final=final,
        )

    def _counters(self) -> dict[str, dict[str, int]] | None:
        first, last = (self.samples[0], self.samples[-1]) if self.samples else (None, None)
        if first is None or last is None or first.counters is None or last.counters is None:
            return None
        names = ("sessions_fatal", "sessions_killed", "sessions_abandoned")
        found = {}
        for database, after in last.counters.items():
            before = first.counters.get(database, (0, 0, 0))
            found[database] = {name: int(a or 0) - int(b or 0) for name, a, b in zip(names, after, before)}
        return {db: deltas for db, deltas in sorted(found.items()) if any(deltas.values())}


def _by_key(item: tuple[tuple[GroupKey, str], Forecast]) -> tuple[GroupKey, str]:
    return item[0]


def _visibility(data: dict[str, Any], hidden: list[GroupKey]) -> list[str]:
    """What a role without pg_monitor cannot see, exactly (`hidden`: each hidden session seen in the window)."""
    if data.get("superuser") or data.get("read_all_stats"):
        return []
    me = data["connected_as"]
    roles = sorted({key.user for key in hidden})
    line = (
        f"{me} has neither pg_monitor nor pg_read_all_stats: it sees the state, idle age, client address and "
        f"statement of its own role's sessions (and those of roles it is a member of) only"
    )
    if hidden:
        line += (
            f"; {len(hidden)} other session(s) seen (role(s) {', '.join(roles)}) showed only their role, database and "
            "application_name, so no idle age, forecast or death is judged for them"
        )
    else:
        line += "; no other role's session was open in the window, but one would be hidden the same way"
    return [line + f" (GRANT pg_monitor TO {me} to see every session)"]
