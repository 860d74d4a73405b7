from uuid import uuid4

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.config import settings

async_engine = create_async_engine(
    settings.pg_database_async_url,
    echo=False,  # no SQL in the logs
    pool_size=settings.pool_size,
    connect_args={
        "server_settings": {"application_name": "edits-sqla"},
    },
)


async def request() -> int:
    """One request: a connection from the pool, one statement."""
    async with async_engine.connect() as conn:
        return int((await conn.execute(text("SELECT 1"))).scalar_one())
