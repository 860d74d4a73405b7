"""The app's own code edited (pool_doctor/edit): the plan from a scanned pool and the libcst edits, on source
written here. Pure: no server, no files but the ones a test writes."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from pool_doctor.connection.values import UNIQUE_NAME
from pool_doctor.edit.plan import Edit, plan
from pool_doctor.edit.source import apply
from pool_doctor.errors import UsageError
from pool_doctor.scan import scan_path
from pool_doctor.scan.app import stack_judging


def edited(tmp_path: Path, files: dict[str, str], changes: dict[str, Any]) -> dict[str, str]:
    """Each file after the edits that give the one pool the scan finds these values (config keys)."""
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    (pool,) = scan_path(tmp_path).pools
    planned = plan(pool, stack_judging(pool), changes)
    out = dict(files)
    by_file: dict[str, list[Edit]] = {}
    for edit in planned.edits:
        by_file.setdefault(edit.file, []).append(edit)
    for path, edits in by_file.items():
        name = Path(path).relative_to(tmp_path).as_posix()
        out[name] = apply(files[name], edits, name).source
        ast.parse(out[name])  # still Python
    return out


ENGINE = """\
from sqlalchemy.ext.asyncio import create_async_engine

from app.config import settings

engine = create_async_engine(
    settings.url,  # the URL from settings
    echo=False,
    connect_args={
        "server_settings": {"application_name": "api", "idle_session_timeout": "0"},
        "prepared_statement_name_func": lambda: f"__asyncpg_{uuid4()}__",
    },
)
"""
CONFIG = """\
import os


class Settings:
    url = "postgresql+asyncpg://app@db/appdb"


settings = Settings()
"""


def test_a_new_argument_and_a_merged_nested_key_keep_everything_else(tmp_path: Path) -> None:
    files = {"app/db.py": ENGINE, "app/config.py": CONFIG}
    changes = {
        "pool_pre_ping": True,
        "connect_args.server_settings.tcp_keepalives_idle": "60",
        "connect_args.prepared_statement_name_func": UNIQUE_NAME,  # the app's own callable stays
    }
    out = edited(tmp_path, files, changes)
    assert out["app/config.py"] == CONFIG  # untouched, byte for byte
    # The server_settings line grew past black's 88 columns: that dict is laid out one key a line.
    server_settings = (
        '        "server_settings": {\n'
        '            "application_name": "api",\n'
        '            "idle_session_timeout": "0",\n'
        '            "tcp_keepalives_idle": "60",\n'
        "        },\n"
    )
    assert out["app/db.py"] == ENGINE.replace(
        '        "server_settings": {"application_name": "api", "idle_session_timeout": "0"},\n', server_settings
    ).replace("    },\n)", "    },\n    pool_pre_ping=True,\n)")


def test_a_value_from_settings_is_changed_where_it_is_defined_and_the_variable_is_named(tmp_path: Path) -> None:
    files = {
        "app/config.py": 'import os\n\nPOOL_RECYCLE = int(os.getenv("POOL_RECYCLE", "3600"))\n',
        "app/db.py": "import sqlalchemy\nfrom app.config import POOL_RECYCLE\n\n"
        'engine = sqlalchemy.create_engine("postgresql://h/db", pool_recycle=POOL_RECYCLE)\n',
    }
    (tmp_path / "app").mkdir()
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    (pool,) = scan_path(tmp_path).pools
    planned = plan(pool, stack_judging(pool), {"pool_recycle": 300})
    (edit,) = planned.edits
    assert (edit.kind, edit.old, edit.new, edit.env) == ("replace", 3600, 300, "POOL_RECYCLE")
    assert any("$POOL_RECYCLE" in note for note in planned.notes)
    out = apply(files["app/config.py"], [edit], "app/config.py").source
    assert out == 'import os\n\nPOOL_RECYCLE = int(os.getenv("POOL_RECYCLE", "300"))\n'  # still the variable


def test_a_value_computed_at_run_time_is_never_replaced_by_a_literal(tmp_path: Path) -> None:
    files = {
        "db.py": "import sqlalchemy\nfrom x import recycle\n\n"
        'engine = sqlalchemy.create_engine("postgresql://h/db", pool_recycle=recycle())\n'
    }
    (tmp_path / "db.py").write_text(files["db.py"])
    (pool,) = scan_path(tmp_path).pools
    planned = plan(pool, stack_judging(pool), {"pool_recycle": 300})
    assert planned.edits == []
    assert planned.notes == [
        f"{pool.where}: pool_recycle is computed when the app runs (recycle()): set it to 300 there"
    ]


def test_a_one_line_call_made_too_long_is_laid_out_one_argument_a_line(tmp_path: Path) -> None:
    source = 'pool = ConnectionPool("dbname=app", open=False)  # opened at startup\n'
    files = {"db.py": "from psycopg_pool import ConnectionPool\n\n" + source}
    keepalives = {"kwargs.keepalives": 1, "kwargs.keepalives_idle": 60, "kwargs.keepalives_interval": 10}
    out = edited(tmp_path, files, {"check": "ConnectionPool.check_connection", **keepalives})
    assert out["db.py"].split("\n\n", 1)[1] == (
        "pool = ConnectionPool(\n"
        '    "dbname=app",\n'
        "    open=False,\n"
        "    check=ConnectionPool.check_connection,\n"
        '    kwargs={"keepalives": 1, "keepalives_idle": 60, "keepalives_interval": 10},\n'
        ")  # opened at startup\n"
    )


@pytest.mark.parametrize("block", ["", "def run():\n"])
def test_a_call_whose_arguments_share_a_line_made_too_long_gets_one_argument_a_line(tmp_path: Path, block: str) -> None:
    # a migration's engine_from_config(<newline> a, b, c<newline>): the new connect_args was put beside the others
    # and its dict broken across lines after them (valid, but no layout anyone writes); black's: one a line. In a
    # function (Flask-Migrate's run_migrations_online()) each keeps the block's indentation and its own four
    # (they were at the block's four alone).
    pad = "    " if block else ""
    source = (
        f"{block}{pad}connectable = create_engine(\n"
        f'{pad}    "postgresql://app@db/app", pool_recycle=300, pool_timeout=30, pool_size=5, max_overflow=10\n'
        f"{pad})\n"
    )
    files = {"db.py": "from sqlalchemy import create_engine\n\n\n" + source}
    out = edited(tmp_path, files, {"pool_pre_ping": True, "connect_args.keepalives_idle": 60})
    assert out["db.py"].split("\n\n\n", 1)[1] == (
        f"{block}{pad}connectable = create_engine(\n"
        f'{pad}    "postgresql://app@db/app",\n'
        f"{pad}    pool_recycle=300,\n"
        f"{pad}    pool_timeout=30,\n"
        f"{pad}    pool_size=5,\n"
        f"{pad}    max_overflow=10,\n"
        f"{pad}    pool_pre_ping=True,\n"
        f'{pad}    connect_args={{"keepalives_idle": 60}},\n'
        f"{pad})\n"
    )


def test_a_comment_ending_the_arguments_line_stays_when_an_argument_is_added_there(tmp_path: Path) -> None:
    # it was dropped: the new argument took the line's break without the comment that ended it
    source = 'engine = create_engine(\n    "postgresql://app@db/app", pool_recycle=300  # behind the NAT\n)\n'
    files = {"db.py": "from sqlalchemy import create_engine\n\n" + source}
    out = edited(tmp_path, files, {"pool_pre_ping": True})
    assert out["db.py"].split("\n\n", 1)[1] == (
        'engine = create_engine(\n    "postgresql://app@db/app", pool_recycle=300, pool_pre_ping=True  # behind the NAT\n)\n'
    )


def test_a_short_call_stays_on_its_line(tmp_path: Path) -> None:
    files = {"db.py": 'import sqlalchemy\nengine = sqlalchemy.create_engine("postgresql://h/db")\n'}
    out = edited(tmp_path, files, {"pool_pre_ping": True})
    assert out["db.py"].endswith('engine = sqlalchemy.create_engine("postgresql://h/db", pool_pre_ping=True)\n')


def test_django_settings_keep_their_environment_default_and_gain_keys(tmp_path: Path) -> None:
    settings = (
        "import os\n\nDATABASES = {\n"
        '    "default": {\n'
        '        "ENGINE": "django.db.backends.postgresql",\n'
        '        "CONN_MAX_AGE": int(os.environ.get("CONN_MAX_AGE", "600")),\n'
        '        "OPTIONS": {"application_name": "site"},\n'
        "    }\n}\n"
    )
    out = edited(
        tmp_path,
        {"settings.py": settings},
        {"CONN_MAX_AGE": 300, "CONN_HEALTH_CHECKS": True, "OPTIONS.tcp_user_timeout": 30000},
    )
    assert out["settings.py"] == settings.replace('"600"', '"300"').replace(
        '{"application_name": "site"},', '{"application_name": "site", "tcp_user_timeout": 30000},'
    ).replace(
        '"site", "tcp_user_timeout": 30000},\n',
        '"site", "tcp_user_timeout": 30000},\n        "CONN_HEALTH_CHECKS": True,\n',
    )


def test_code_a_recommendation_adds_brings_its_import(tmp_path: Path) -> None:
    files = {
        "db.py": 'from sqlalchemy.ext.asyncio import create_async_engine\n\ne = create_async_engine("postgresql+asyncpg://h/d")\n'
    }
    out = edited(tmp_path, files, {"connect_args.prepared_statement_name_func": UNIQUE_NAME})
    assert "\nfrom uuid import uuid4\n" in out["db.py"]
    assert "connect_args={\"prepared_statement_name_func\": lambda: f'__asyncpg_{uuid4()}__'}" in out["db.py"]


def test_applying_the_same_edits_twice_changes_nothing_more(tmp_path: Path) -> None:
    files = {"db.py": 'import sqlalchemy\nengine = sqlalchemy.create_engine("postgresql://h/db", pool_recycle=3600)\n'}
    once = edited(tmp_path, files, {"pool_recycle": 300, "pool_pre_ping": True})
    twice = edited(tmp_path / "again", once, {"pool_recycle": 300, "pool_pre_ping": True})
    assert twice == once


def test_a_file_that_does_not_parse_is_refused() -> None:
    edit = Edit("db.py", 1, "add", ("pool_pre_ping",), True, end_line=1)
    with pytest.raises(UsageError, match=r"db.py cannot be edited: it does not parse"):
        apply("engine = create_engine(\n", [edit], "db.py")


@pytest.mark.parametrize("trailing_comma", [",", ""])
def test_a_comment_stays_on_its_own_line_when_items_are_added(tmp_path: Path, trailing_comma: str) -> None:
    """A comment ends the line it was written on: new arguments and keys never copy it, with or without a
    trailing comma, in the call and in a nested dict."""
    source = (
        "import os\n"
        "from sqlalchemy.ext.asyncio import create_async_engine\n\n"
        "engine = create_async_engine(\n"
        '    os.environ["DATABASE_URL"],\n'
        "    pool_size=10,  # sized for our workers\n"
        "    connect_args={\n"
        f'        "server_settings": {{"application_name": "orders-api"}}{trailing_comma}  # in pg_stat_activity\n'
        "    },\n"
        f"    echo=False{trailing_comma}  # noisy otherwise\n"
        ")\n"
    )
    changes = {"pool_pre_ping": True, "pool_recycle": 240, "connect_args.command_timeout": 30}
    result = edited(tmp_path, {"db.py": source}, changes)["db.py"]
    lines = result.splitlines()
    assert [line for line in lines if "#" in line] == [
        "    pool_size=10,  # sized for our workers",
        '        "server_settings": {"application_name": "orders-api"},  # in pg_stat_activity',
        "    echo=False,  # noisy otherwise",
    ], result
    # the code's own style: a trailing comma where it had one
    assert "    pool_pre_ping=True," in lines and f"    pool_recycle=240{trailing_comma}" in lines, result
    assert f'        "command_timeout": 30{trailing_comma}' in lines, result


def _planned(tmp_path: Path, files: dict[str, str], changes: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    """Each file after the edits for every pool the scan finds, and the notes of what no edit could do."""
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    out, notes = dict(files), []
    by_file: dict[str, list[Edit]] = {}
    pools = scan_path(tmp_path).pools
    for pool in pools:
        shared = [o.where for o in pools if o is not pool and pool.via and o.via[-1:] == pool.via[-1:]]  # (inputs')
        planned = plan(pool, stack_judging(pool), changes, shared)
        notes += planned.notes
        for edit in planned.edits:
            by_file.setdefault(edit.file, []).append(edit)
    for path, edits in by_file.items():
        name = Path(path).relative_to(tmp_path).as_posix()
        applied = apply(files[name], edits, name)
        out[name] = applied.source
        notes += applied.missed
        ast.parse(out[name])
    return out, notes


WRAPPED = """\
from sqlalchemy import create_engine


def make_engine(url):
    return create_engine(url, pool_size=5)


engine = make_engine("postgresql://app@db/app")
"""


def test_a_key_a_wrapper_does_not_pass_on_is_added_to_its_engine_call_not_to_the_wrapper(tmp_path: Path) -> None:
    """`make_engine(url, pool_pre_ping=True)` would fail: make_engine takes no such argument."""
    out, notes = _planned(tmp_path, {"app/db.py": WRAPPED}, {"pool_pre_ping": True})
    assert out["app/db.py"] == WRAPPED.replace("pool_size=5)", "pool_size=5, pool_pre_ping=True)")
    assert notes == []


def test_a_wrappers_engine_call_that_takes_kwargs_is_left_with_a_note(tmp_path: Path) -> None:
    """The caller's `**kwargs` may already carry the key: adding it there could fail with 'multiple values'."""
    source = WRAPPED.replace("def make_engine(url):", "def make_engine(url, **kwargs):").replace(
        "pool_size=5)", "pool_size=5, **kwargs)"
    )
    out, notes = _planned(tmp_path, {"app/db.py": source}, {"pool_pre_ping": True})
    assert out["app/db.py"] == source
    (note,) = notes
    assert "app/db.py:5" in note and "pool_pre_ping = True" in note


FLASK_APP = """\
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()


def create_app():
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://app@db/app"
    app.config["SQLALCHEMY_BINDS"] = {
        "reports": {
            "url": "postgresql://app@db/reports",
            "pool_size": 3,
        },
    }
    db.init_app(app)
    return app
"""


def test_flask_sqlalchemy_engines_gain_keys_only_in_an_engines_own_dict(tmp_path: Path) -> None:
    """`db.init_app(app, pool_pre_ping=True)` would fail (init_app takes the app alone): the default engine's key
    is a note naming SQLALCHEMY_ENGINE_OPTIONS; a bind given as a dict of create_engine's arguments gains it."""
    out, notes = _planned(tmp_path, {"app/__init__.py": FLASK_APP}, {"pool_pre_ping": True})
    assert out["app/__init__.py"] == FLASK_APP.replace(
        '"pool_size": 3,\n', '"pool_size": 3,\n            "pool_pre_ping": True,\n'
    )
    (note,) = notes
    assert note.startswith("app/__init__.py:16:") or "__init__.py:16" in note
    assert "SQLALCHEMY_ENGINE_OPTIONS" in note and "pool_pre_ping" in note


def test_flask_sqlalchemy_lite_entries_gain_keys_in_their_own_dict(tmp_path: Path) -> None:
    config = (
        "import os\n\n\nclass Config:\n    SQLALCHEMY_ENGINES = {\n"
        '        "default": os.getenv("DATABASE_URL", "postgresql+psycopg://app@db/app"),\n'
        '        "reports": {"url": "postgresql+psycopg://app@db/reports"},\n    }\n'
    )
    files = {
        "app/config.py": config,
        "app/__init__.py": "from flask import Flask\nfrom flask_sqlalchemy_lite import SQLAlchemy\n\n"
        "from app.config import Config\n\ndb = SQLAlchemy()\n\n\ndef create_app():\n    app = Flask(__name__)\n"
        "    app.config.from_object(Config)\n    db.init_app(app)\n    return app\n",
    }
    out, notes = _planned(tmp_path, files, {"pool_pre_ping": True})
    assert out["app/config.py"] == config.replace(
        '"postgresql+psycopg://app@db/reports"}', '"postgresql+psycopg://app@db/reports", "pool_pre_ping": True}'
    )
    (note,) = notes  # not os.getenv(..., pool_pre_ping=True)
    assert note.startswith("app/config.py:6: found no place to set pool_pre_ping = True") and '"url"' in note


@pytest.mark.parametrize(
    ("source", "edited"),
    [
        # an engine call imported under another name takes the key
        (
            "from sqlalchemy import create_engine as ce\n\n\ndef make_engine(url):\n    return ce(url)\n\n\n"
            'engine = make_engine("postgresql://app@db/app")\n',
            "    return ce(url, pool_pre_ping=True)\n",
        ),
        # two engine calls on the line: which one makes this pool is not told by a line
        (
            "from sqlalchemy import create_engine\nfrom sqlalchemy.pool import NullPool\n\n\n"
            "def make_engine(url, serverless):\n"
            "    return create_engine(url, poolclass=NullPool) if serverless else create_engine(url)\n\n\n"
            'engine = make_engine("postgresql://app@db/app", False)\n',
            None,
        ),
        # one engine call, two callers: a key one of them needs could break the other (its NullPool takes no size)
        (
            "from sqlalchemy import create_engine\nfrom sqlalchemy.pool import NullPool, QueuePool\n\n\n"
            "def make_engine(url, poolclass=QueuePool):\n    return create_engine(url, poolclass=poolclass)\n\n\n"
            'engine = make_engine("postgresql://app@db/app")\n'
            'worker_engine = make_engine("postgresql://app@db/app", poolclass=NullPool)\n',
            None,
        ),
    ],
)
def test_a_wrappers_engine_call_is_edited_only_where_it_is_this_pools_alone(
    tmp_path: Path, source: str, edited: str | None
) -> None:
    out, notes = _planned(tmp_path, {"app/db.py": source}, {"pool_pre_ping": True})
    if edited is None:
        assert out["app/db.py"] == source and notes, notes
    else:
        assert edited in out["app/db.py"] and notes == []


ONE_LINE_BINDS = (
    '    app.config["SQLALCHEMY_BINDS"] = {"ro": "postgresql://app@ro/app", "rw": {"url": "postgresql://app@rw/app"}}\n'
)


def test_a_bind_on_the_same_line_as_the_mapping_of_binds_is_left_with_a_note(tmp_path: Path) -> None:
    """Both on one line: the key goes into the bind's dict or nowhere, never into SQLALCHEMY_BINDS itself (a bind
    named pool_pre_ping: init_app fails)."""
    lines = FLASK_APP.splitlines(keepends=True)
    source = "".join([*lines[:9], ONE_LINE_BINDS, *lines[15:]])
    out, notes = _planned(tmp_path, {"app/__init__.py": source}, {"pool_pre_ping": True})
    binds = next(
        ast.literal_eval(node.value)
        for node in ast.walk(ast.parse(out["app/__init__.py"]))
        if isinstance(node, ast.Assign) and "SQLALCHEMY_BINDS" in ast.unparse(node.targets[0])
    )
    assert binds == {"ro": "postgresql://app@ro/app", "rw": {"url": "postgresql://app@rw/app", "pool_pre_ping": True}}
    assert len(notes) == 2, notes  # the default engine's, the "ro" bind's (a URL)


def test_a_binds_dict_whose_url_is_a_variables_default_gains_the_key(tmp_path: Path) -> None:
    """`"url": os.getenv("LOGS_URL", "postgresql://...")`: the scan's source of the url is the default; the dict
    holding it is still the bind's (a review's case)."""
    lines = FLASK_APP.splitlines(keepends=True)
    source = "import os\n" + "".join(lines).replace(
        '"url": "postgresql://app@db/reports"', '"url": os.getenv("REPORTS_URL", "postgresql://app@db/reports")'
    )
    out, _ = _planned(tmp_path, {"app/__init__.py": source}, {"pool_pre_ping": True})
    assert '"pool_size": 3,\n            "pool_pre_ping": True,\n' in out["app/__init__.py"]


def test_fix_that_placed_nothing_it_was_asked_to_is_no_all_clear() -> None:
    # the config class reached through from_object(os.getenv("APP_SETTINGS")): no place found for the keys, and
    # `fix` said "Nothing to change: the app's code already has the recommended values"
    from rich.console import Console

    from pool_doctor.edit import AppEdit
    from pool_doctor.render.edit import render_fix

    out = Console(record=True, width=80)
    render_fix(AppEdit(notes=["app/__init__.py:12: found no place to set pool_pre_ping = True"]), [], out)
    assert "Nothing changed: set by hand what the warnings above name." in out.export_text()
    out = Console(record=True, width=80)
    render_fix(AppEdit(), [], out)
    assert "Nothing to change: the app's code already has the recommended values." in out.export_text()


def test_a_config_class_elsewhere_gains_the_keys_in_its_engine_options(tmp_path: Path) -> None:
    # an app factory loading a config class of another module (inherited from a base class): the keys go into the
    # SQLALCHEMY_ENGINE_OPTIONS dict its pool_size is in, not "found no place" at db.init_app(app)
    config = (
        "import os\n\n\nclass BaseConfig:\n"
        '    SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 5}\n\n\n'
        "class DevelopmentConfig(BaseConfig):\n"
        '    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL")\n'
    )
    files = {
        "project/config.py": config,
        "project/__init__.py": "from flask import Flask\nfrom flask_sqlalchemy import SQLAlchemy\n\n"
        "from project.config import DevelopmentConfig\n\ndb = SQLAlchemy()\n\n\ndef create_app():\n"
        "    app = Flask(__name__)\n    app.config.from_object(DevelopmentConfig)\n    db.init_app(app)\n"
        "    return app\n",
    }
    out, notes = _planned(tmp_path, files, {"pool_pre_ping": True, "connect_args.keepalives_idle": 60})
    assert not notes
    assert out["project/config.py"] == config.replace(
        '{"pool_size": 5}',
        '{\n        "pool_size": 5,\n        "pool_pre_ping": True,\n        "connect_args": {"keepalives_idle": 60},\n    }',
    )
    assert out["project/__init__.py"] == files["project/__init__.py"]
    ast.parse(out["project/config.py"])
