"""The fixed project, with a test suite that makes engines of its own."""
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from app.config import settings

engine = create_async_engine(settings.database_url, pool_pre_ping=True, pool_recycle=1800)
Session = async_sessionmaker(engine, expire_on_commit=False)
