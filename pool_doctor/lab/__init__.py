"""What the product itself runs besides the CLI: the demo and its throwaway PostgreSQL.

    demo       - `pool-doctor demo`: the incident, its diagnosis, the fix and the proof
    postgres   - `LocalPostgres`: a throwaway server on 127.0.0.1, removed on stop() and at exit
    cluster    - what a cluster is made from: the binaries and an initdb'd template data dir
    osuser     - who the servers run as (as root: an unprivileged OS user)
    processes  - servers as child processes we own, and the helpers for their files, ports and logs

The names below are the lab's public API: the demo uses them, and tests/harness.py builds the test-only
servers (PgBouncer, TLS, several majors) on them.
"""

from pool_doctor.lab.cluster import embedded_bindir, server_major
from pool_doctor.lab.osuser import RunAs, root_note, service_user, write_private
from pool_doctor.lab.postgres import DEFAULT_PASSWORD, LocalPostgres, server_url
from pool_doctor.lab.processes import (
    HOST,
    LOG_TAIL_LINES,
    PORT_ATTEMPTS,
    STOP_GRACE_SECONDS,
    ChildProcess,
    LocalPostgresError,
    child_env,
    free_port,
    rmtree,
    short_tmp,
    tail,
    terminate,
)

__all__ = [
    "DEFAULT_PASSWORD",
    "HOST",
    "LOG_TAIL_LINES",
    "PORT_ATTEMPTS",
    "STOP_GRACE_SECONDS",
    "ChildProcess",
    "LocalPostgres",
    "LocalPostgresError",
    "RunAs",
    "child_env",
    "embedded_bindir",
    "free_port",
    "rmtree",
    "root_note",
    "server_major",
    "server_url",
    "service_user",
    "short_tmp",
    "tail",
    "terminate",
    "write_private",
]
