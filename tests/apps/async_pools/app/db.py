"""An asyncio service: its pools are made at import, outside the event loop, and opened at startup."""
from psycopg_pool import AsyncConnectionPool, NullConnectionPool
from sqlalchemy.ext.asyncio import create_async_engine

pool = AsyncConnectionPool("dbname=appdb", check=AsyncConnectionPool.check_connection, open=False)

reports = create_async_engine("postgresql+psycopg://app@localhost/appdb")

batch = NullConnectionPool("dbname=appdb", open=False)  # a worker thread opens it with batch.open()
