import os

from flask import Flask
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()


def create_app():
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    app.config["SQLALCHEMY_BINDS"] = {
        "reports": {
            "url": os.environ["DATABASE_URL"],
            "pool_size": 2,
        },
    }
    db.init_app(app)
    return app
