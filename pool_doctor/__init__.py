"""pool-doctor: find why pooled PostgreSQL connections die while idle, and prove the fix.

The package along the data's way: connection/ (spec, drivers) -> inspect/ (server, pooler) -> stacks/,
platforms/ -> path/ (hops, limits, the judge) -> rules/ and recommend.py -> check.py (the check report)
-> render/ (one renderer per report); probe/, scan/ and monitor/ gather their own evidence; lab/ is the
demo's server and the fault proxy. cli.py alone runs the commands' event loop and writes stdout.
"""

__version__ = "0.1.0"
