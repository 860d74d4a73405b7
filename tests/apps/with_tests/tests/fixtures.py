import pytest
from sqlalchemy.ext.asyncio import create_async_engine


@pytest.fixture
async def engine():
    engine = create_async_engine("postgresql+asyncpg://app@localhost/appdb_test")
    yield engine
    await engine.dispose()
