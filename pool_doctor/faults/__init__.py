"""A loopback TCP proxy that forgets idle flows the way NAT gateways and load balancers do.

Toxiproxy has no idle-based fault, yet the incident this tool chases ("connection was closed in the
middle of operation" after a pool kept a connection idle too long) is exactly that. Each client
connection gets its own upstream connection (a *flow*); bytes in either direction refresh the flow.
Once a flow has been idle longer than ``idle_timeout``:

* ``"reset"``: the middlebox has forgotten it; the next bytes from either side are not forwarded,
  the client gets a TCP RST and the upstream connection is closed (AWS NAT gateway / NLB).
* ``"blackhole"``: every further byte is discarded and both sockets stay open, so the client hangs
  until its own timeout (Azure LB without "TCP reset").
* ``"pass"``: plain forwarding, for baselines.

Expiry is checked lazily at the next data event, like a real middlebox, so the client only finds
out when it next uses the connection. Times come from ``loop.time()`` (monotonic).

    model     - the modes, the counters (`ProxyStats`), argument checks
    flow      - one client connection and the upstream connection made for it: where the faults happen
    proxy     - `FaultProxy`: the listener on one event loop (what the probe uses)
    threaded  - `ThreadedFaultProxy`: the same on its own thread, for sync code and tests
    serve     - `run_proxy`: the foreground proxy behind `pool-doctor proxy`

Nothing here imports a driver: the probe, the demo and a user's own test suite share it.
"""

from pool_doctor.faults.model import MODES, Mode, ProxyStats
from pool_doctor.faults.proxy import FaultProxy
from pool_doctor.faults.serve import run_proxy
from pool_doctor.faults.threaded import ThreadedFaultProxy

__all__ = ["MODES", "FaultProxy", "Mode", "ProxyStats", "ThreadedFaultProxy", "run_proxy"]
