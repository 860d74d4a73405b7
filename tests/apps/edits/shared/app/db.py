"""Two engines made by one project factory: a key added to its engine call changes both."""

import os

from sqlalchemy import create_engine, text


def make_engine(url: str, size: int):
    return create_engine(url, pool_size=size)


engine = make_engine(os.environ["DATABASE_URL"], 2)
reports = make_engine(os.environ["DATABASE_URL"], 1)


def request() -> int:
    """One request: a connection from each pool, one statement on each."""
    total = 0
    for pool in (engine, reports):
        with pool.connect() as conn:
            total += int(conn.execute(text("SELECT 1")).scalar_one())
    return total
