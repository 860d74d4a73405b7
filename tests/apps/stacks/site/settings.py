import os

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("DB_NAME", "appdb"),
        "HOST": os.environ.get("DB_HOST", "db.internal"),
        "CONN_MAX_AGE": None,  # persistent: reused across requests, never retired
    }
}
