"""The engine made by a project factory: its call takes no pool argument, the engine call inside it does."""

import os

from sqlalchemy import create_engine, text


def make_engine(url: str):
    return create_engine(url, pool_size=2)


engine = make_engine(os.environ["DATABASE_URL"])


def request() -> int:
    """One request: a connection from the pool, one statement."""
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT 1")).scalar_one())
