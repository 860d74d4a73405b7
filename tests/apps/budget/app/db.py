"""Two engines, each within the server's slots alone, over them together."""
from sqlalchemy import create_engine

PRIMARY = "postgresql+psycopg://app@localhost/appdb"

web = create_engine(PRIMARY, pool_pre_ping=True, pool_recycle=1800, pool_size=40, max_overflow=10)
jobs = create_engine(PRIMARY, pool_pre_ping=True, pool_recycle=1800, pool_size=40, max_overflow=10)
