"""The path a pooled connection takes, the limits on it, and the one judge of a pool against a limit.

    app pool -> [middlebox] -> [pooler] -> [middlebox] -> server

Every verdict "will an idle pooled connection survive this limit?" comes from `judge.judge`: check's
findings, recommend's values and probe's expected outcomes all read it.
"""

from pool_doctor.path.judge import Outcome, Verdict, judge, margin
from pool_doctor.path.model import Hop, Limit, Path, Provenance, Shape
from pool_doctor.path.policy import PoolPolicy

__all__ = [
    "Hop",
    "Limit",
    "Outcome",
    "Path",
    "PoolPolicy",
    "Provenance",
    "Shape",
    "Verdict",
    "judge",
    "margin",
]
