"""A scanned pool judged without a server: the rules `check` runs on a pool (pool_doctor/rules), on what the
code alone lets pool-doctor know: the pool's own settings, the platform its URL's host names, a pooler its
port suggests. The same pool through `check --app` or `check --config` gives the same pool findings, and
more once the server is read."""

from __future__ import annotations

from dataclasses import replace
from itertools import product
from math import prod
from typing import Any

from pool_doctor.config import code_settings
from pool_doctor.connection.spec import ConnectionSpec, parse_connection
from pool_doctor.errors import ConfigError, UsageError
from pool_doctor.inspect.pooler import at_usual_port, with_documented
from pool_doctor.model import CodeFacts, Finding, PoolRef, Severity
from pool_doctor.platforms import recognise
from pool_doctor.rules import WITHOUT_SERVER, build_facts, evaluate
from pool_doctor.scan.app import AppLayer, as_layer, judged_values, sources, with_branches
from pool_doctor.scan.model import NOT_SET, ScannedPool, ScannedValue
from pool_doctor.scan.target import is_postgres, known_url, port_of, url_of
from pool_doctor.stacks import Stack, stack_of

MAX_VARIANTS = 16  # combinations of branches judged for one pool
WORST_FIRST = (Severity.CRITICAL, Severity.WARNING, Severity.INFO)
NO_URL = "postgresql://"  # the code gives no URL the scan can read: SQLAlchemy's default driver, no host


def judge(pool: ScannedPool) -> list[Finding]:
    """The findings about one scanned pool, each citing its file:line first; none for a pool that visibly
    does not connect to PostgreSQL (sqlite for the tests)."""
    return judge_worst(pool)[0]


def judge_worst(pool: ScannedPool) -> tuple[list[Finding], dict[str, int]]:
    """`judge`, and for a pool whose settings have branches, the branches it was judged at: each combination
    of them is judged (up to MAX_VARIANTS; past that, one setting's branches at a time) and the worst kept,
    its findings saying which branches they were judged at."""
    branched = [key for key, value in pool.settings.items() if value.branches]
    if not branched:
        return judge_one(pool), {}
    groups: dict[tuple[str, ...], list[str]] = {}  # keys branching on the same tests: one side of them at a time
    for key in branched:
        groups.setdefault(tuple(sorted(b.when or "" for b in pool.settings[key].branches)), []).append(key)
    sizes = [len(whens) for whens in groups]
    if prod(sizes) <= MAX_VARIANTS:
        picks = [dict(zip(groups, combo)) for combo in product(*(range(n) for n in sizes))]
    else:
        picks = [{whens: index} for whens, size in zip(groups, sizes) for index in range(size)]
    choices = [choice for pick in picks if (choice := _choice(pool, groups, pick)) is not None]
    choices = choices or [dict.fromkeys(branched, 0)]  # (every pick contradicting itself: the first sides)
    worst: tuple[tuple[int, ...], list[Finding], dict[str, int]] | None = None
    for choice in choices:
        findings = judge_one(with_branches(pool, choice))
        score = tuple(sum(f.severity is severity for f in findings) for severity in WORST_FIRST)
        if worst is None or score > worst[0]:
            worst = (score, findings, choice)
    assert worst is not None
    _, findings, choice = worst
    return [replace(f, evidence=[*f.evidence, *_said(pool, choice)]) for f in findings], choice


def _said(pool: ScannedPool, choice: dict[str, int]) -> list[str]:
    """One line per side judged, naming the keys judged at it: saas-fundation's eight keys set only `when
    DATABASE_URL is not None` are one line, not eight."""
    sides: dict[tuple[str, int], list[str]] = {}
    for key, index in choice.items():
        branches = pool.settings[key].branches
        sides.setdefault((branches[index].when or "otherwise", len(branches)), []).append(
            f"{key} = {_shown(branches[index])}"
        )
    return [
        f"judged when {when}, the worst of its {count} branches: {', '.join(values)}"
        for (when, count), values in sides.items()
    ]


def _choice(
    pool: ScannedPool, groups: dict[tuple[str, ...], list[str]], pick: dict[tuple[str, ...], int]
) -> dict[str, int] | None:
    """Each key's branch where each group of keys takes the test `pick` names (the same side for the keys that
    branch alike: saas-fundation's CONN_MAX_AGE and CONN_HEALTH_CHECKS, both set only `when DATABASE_URL is not
    None`); None where two sides taken contradict each other (`X` and `not (X)`)."""
    whens = {whens[index] for whens, index in pick.items()}
    if any(f"not ({when})" in whens for when in whens):
        return None
    choice = {}
    for group, index in pick.items():
        for key in groups[group]:
            choice[key] = next(i for i, b in enumerate(pool.settings[key].branches) if (b.when or "") == group[index])
    return choice


def _shown(value: ScannedValue) -> str:
    if value.expr == NOT_SET:
        return "not set (the library default)"
    return repr(value.value) if value.known else f"? ({value.expr})"


def judge_one(pool: ScannedPool) -> list[Finding]:
    if not is_postgres(pool):
        return []
    layer = as_layer(pool)
    try:
        settings = code_settings(layer.data)
    except ConfigError:  # as_layer leaves out what its stack refuses; nothing else is left to judge
        return []
    stack = stack_of(settings.pool)
    target = connection(pool, layer, stack).with_connect_args(stack.driver_args(settings.pool, settings.connect_args))
    code_url = known_url(pool) is not None
    url = url_of(pool)
    platform = recognise(target.host, target.port, target.user) if code_url else None
    pooler = with_documented(at_usual_port(port_of(pool)), platform)
    code = CodeFacts(
        ref=PoolRef(pool.file, pool.line, pool.stack),
        call=pool.call,
        at_import=pool.at_import,
        unknown=tuple(layer.unknown.items()),
        unresolved=tuple(pool.unresolved),
        driver_unknown=(
            (url.expr or "?")
            if stack.driver_from_url and url is not None and not url.known and layer.driver is None
            else None
        ),
        sources=tuple((key, value, where) for key, (value, where) in _sources(settings, layer).items()),
        workers=pool.workers,
    )
    facts = build_facts(settings, target, pooler=pooler, platform=platform, code=code)
    return [replace(f, evidence=[pool.where, *f.evidence]) for f in evaluate(facts, WITHOUT_SERVER)]


def connection(pool: ScannedPool, layer: AppLayer, stack: Stack) -> ConnectionSpec:
    """The connection the code opens, as far as it says: its URL (or DSN), through its stack's driver."""
    text = known_url(pool)
    try:
        spec = parse_connection(text or NO_URL, pool.where)
    except UsageError:
        spec = parse_connection(NO_URL, pool.where)
    return stack.connection(spec, layer.driver or stack.assumed_driver(pool.call), pool.where)


def _sources(settings: Any, layer: AppLayer) -> dict[str, tuple[Any, str]]:
    return sources(judged_values(settings), layer, {}, {}, None, {})
