"""Active experiments against a real server through a real engine, each bounded by a timeout.

`run_probe(inputs, options)` measures the path (connect, round trip, load), reproduces every registered
failure scenario with the app's current settings and with the recommended ones, and optionally measures
the path's idle timeout. Importing this package is cheap: SQLAlchemy and the drivers load when it runs.
"""

from pool_doctor.probe.context import ProbeContext, Scenario
from pool_doctor.probe.model import ProbeReport, ScenarioResult
from pool_doctor.probe.runner import ProbeOptions, ProbeProgress, run_probe
from pool_doctor.probe.scenarios import SCENARIOS, register

__all__ = [
    "SCENARIOS",
    "ProbeContext",
    "ProbeOptions",
    "ProbeProgress",
    "ProbeReport",
    "Scenario",
    "ScenarioResult",
    "register",
    "run_probe",
]
