"""pool-doctor's pytest plugin, registered on install through the `pytest11` entry point (`-p no:pool_doctor`
turns it off). Imports nothing but pytest until a test asks for it.

Fixtures:
    fault_proxy(database, idle_timeout=..., mode="reset")   a fault proxy in front of the database, stopped
                                                            after the test; `.url` goes through it
Helper (no fixture needed):
    pool_doctor.testing.assert_pool_survives(engine_or_pool)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pool_doctor.testing import ProxiedDatabase


@pytest.fixture
def fault_proxy() -> Iterator[Callable[..., ProxiedDatabase]]:
    """Start a fault proxy in front of a database: `fault_proxy(url_or_engine, idle_timeout=1.0, mode="reset")`
    returns it; connect the app to its `.url`. Every proxy started is stopped after the test.

    mode: "reset" (a NAT gateway: the next bytes get a TCP reset), "blackhole" (a load balancer that drops
    them: the client hangs), "pass" (forward only). Then `.reset_now()`, `.set_mode()`, `.stats`."""
    from pool_doctor.testing import proxied

    started: list[ProxiedDatabase] = []

    def start(database: Any, **options: Any) -> ProxiedDatabase:
        proxy = proxied(database, **options)
        started.append(proxy)
        return proxy

    yield start
    for proxy in reversed(started):
        proxy.close()
