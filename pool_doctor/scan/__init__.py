"""`pool-doctor scan`: the pools an app's source creates, with the values in effect, read without running it.

The one public entry is `scan_path(path) -> ScanReport`; `rules.check(pool)` judges a scanned pool
without a server.
"""

from __future__ import annotations

from pool_doctor.scan.model import SCHEMA_VERSION, ScannedPool, ScannedValue, ScanReport
from pool_doctor.scan.scanner import scan_path

__all__ = ["SCHEMA_VERSION", "ScanReport", "ScannedPool", "ScannedValue", "scan_path"]
