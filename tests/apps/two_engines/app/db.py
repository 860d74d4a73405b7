"""One engine for requests (fixed), one for the nightly reports (forgotten)."""
import os

from sqlalchemy import create_engine

from app import settings

web = create_engine(os.environ.get("DATABASE_URL", "postgresql+psycopg://app@localhost/appdb"),
                    pool_pre_ping=True, pool_recycle=settings.POOL_RECYCLE, pool_size=10,
                    connect_args={"tcp_user_timeout": 30_000, "keepalives_idle": 60})
reports = create_engine(settings.REPORTS_URL, pool_size=int(os.environ["REPORTS_POOL_SIZE"]))
