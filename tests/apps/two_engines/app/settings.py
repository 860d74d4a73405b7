import os

POOL_RECYCLE = int(os.getenv("POOL_RECYCLE", "1800"))
REPORTS_URL = os.getenv("REPORTS_URL", "postgresql+psycopg://reports@localhost/appdb")
