import os

SECRET_KEY = "edits"
USE_TZ = True
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("DB_NAME", "appdb"),
        "CONN_MAX_AGE": int(os.environ.get("CONN_MAX_AGE", "600")),
        "OPTIONS": {"application_name": "edits-site", "tcp_user_timeout": 30000},
    }
}
