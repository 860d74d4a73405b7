"""A service that talks to PostgreSQL three ways."""
import asyncpg
from psycopg2.pool import ThreadedConnectionPool
from sqlalchemy.ext.asyncio import create_async_engine

legacy = ThreadedConnectionPool(1, 4, dsn="dbname=appdb")

# The session opts out of the role's idle_session_timeout: nothing on the server closes its idle connections.
events = create_async_engine("postgresql+asyncpg://app@localhost/appdb",
                             connect_args={"server_settings": {"idle_session_timeout": "0"}})


async def make_pool() -> asyncpg.Pool:
    return await asyncpg.create_pool("postgresql://app@localhost/appdb", min_size=2, max_size=4, command_timeout=30)
