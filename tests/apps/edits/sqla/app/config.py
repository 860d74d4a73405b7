"""The app's settings: the URL from the environment, as pydantic-settings reads it."""
from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    pg_database_async_url: str = "postgresql+asyncpg://app@localhost/appdb"
    pool_size: int = 2


settings = Settings()
