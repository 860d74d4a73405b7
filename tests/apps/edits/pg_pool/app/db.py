import os

from psycopg_pool import ConnectionPool

pool = ConnectionPool(os.environ.get("DSN", "dbname=appdb"), min_size=1, open=False, kwargs={"tcp_user_timeout": 30000})


def request() -> int:
    with pool.connection() as conn:
        return int(conn.execute("SELECT 1").fetchone()[0])
