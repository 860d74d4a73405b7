"""`recommend`'s report: the values as paste-ready code in the app's own stack, TOML, JSON or markdown."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group
from rich.text import Text

from pool_doctor.recommend import PythonCode, app_recommendations_json, recommendation_json
from pool_doctor.render import RenderOptions, md_cell, prose, short_value, write, write_json
from pool_doctor.render.findings import could_not_see, findings_markdown, findings_parts

if TYPE_CHECKING:
    from pool_doctor.check import CheckReport
    from pool_doctor.recommend import Recommendation


def reasons_markdown(rec: Recommendation) -> list[str]:
    lines = ["| setting | recommended | current | why |", "|---|---|---|---|"]
    for reason in rec.reasons:
        current = "-" if reason.current is None else short_value(reason.current)
        lines.append(
            f"| `{reason.key}` | `{md_cell(short_value(reason.value))}` | `{md_cell(current)}` | {md_cell(reason.why)} |"
        )
    return lines


# Generated code is laid out as a formatter would at PEP 8's width, so it fits an 80-column terminal
# where it can; a literal longer than that (a URL) stays whole on its line.
CODE_WIDTH = 79


def recommendation_python(report: CheckReport, rec: Recommendation) -> str:
    """Ready-to-paste code in the app's own stack; the password is left out."""
    if rec.stack != "sqlalchemy":
        return _stack_python(report, rec)
    from pool_doctor.stacks import sqlalchemy

    target = report.inputs.target
    url = target.with_password(None).render(hide_password=True)
    module, factory = sqlalchemy.engine_factory(rec.call, target.url_driver or target.driver)
    lines = [f"from {module} import {factory}", ""]
    if any(isinstance(v, PythonCode) for v in rec.connect_args.values()):
        lines[0:0] = ["from uuid import uuid4", ""]  # the standard library first, as isort would
    pool = rec.pool.model_dump(exclude_none=True, exclude={"stack"})  # `stack` is pool-doctor's key, not SQLAlchemy's
    if "poolclass" in pool:
        lines.insert(1, f"from sqlalchemy.pool import {pool['poolclass']}")
    if pool.get("poolclass") == "NullPool":
        # NullPool takes no sizes: create_engine refuses pool_size/max_overflow/pool_timeout with it.
        pool = {key: value for key, value in pool.items() if key not in ("pool_size", "max_overflow", "pool_timeout")}
    lines.append(f"engine = {factory}(")
    lines.append("    # the password: from your secret store or ~/.pgpass, never in code")
    lines.append(f"    {url!r},")
    for key, value in pool.items():
        lines.append(f"    {key}={value if key == 'poolclass' else repr(value)},")
    lines += code_lines("connect_args=", rec.connect_args, ",", 4, explode=True)  # one driver argument a line
    lines.append(")")
    return "\n".join(lines) + "\n"


def code_lines(head: str, value: Any, tail: str, indent: int, *, explode: bool = False, quote: str = "'") -> list[str]:
    """`head`, the value as a Python literal, then `tail`, on one line when it fits CODE_WIDTH; otherwise a
    dict or list one item a line, each with a trailing comma, as black would lay it out. `explode` puts the
    items one a line even when they would fit; `quote` is the quote strings take."""
    pad = " " * indent
    flat = f"{pad}{head}{code_literal(value, quote)}{tail}"
    if (len(flat) <= CODE_WIDTH and not explode) or not isinstance(value, dict | list) or not value:
        return [flat]
    opening, closing = ("{", "}") if isinstance(value, dict) else ("[", "]")
    items = value.items() if isinstance(value, dict) else ((None, item) for item in value)
    lines = [f"{pad}{head}{opening}"]
    for key, item in items:
        key_text = "" if key is None else f"{code_literal(key, quote)}: "
        lines += code_lines(key_text, item, ",", indent + 4, quote=quote)
    return [*lines, f"{pad}{closing}{tail}"]


def code_literal(value: Any, quote: str = "'") -> str:
    """A value as Python source: code (PythonCode) as itself, strings in `quote`, containers item by item."""
    if isinstance(value, PythonCode):
        return str(value)
    if isinstance(value, str):
        if quote == '"':
            return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid Python string literal
        return repr(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{code_literal(k, quote)}: {code_literal(v, quote)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(code_literal(item, quote) for item in value) + "]"
    return repr(value)


def _stack_python(report: CheckReport, rec: Recommendation) -> str:
    """asyncpg.create_pool(...), ConnectionPool(...) or a Django DATABASES entry, with the recommended keys."""
    target = report.inputs.target.with_password(None)
    dsn = target.render(hide_password=True, driver="")
    values = dict(rec.values)
    secret_note = "# the password: from your secret store or ~/.pgpass, never in code"
    if rec.stack == "asyncpg":
        lines = [
            "import asyncpg",
            "",
            "",
            "async def make_pool() -> asyncpg.Pool:",
            "    return await asyncpg.create_pool(",
            f"        {secret_note}",
            f"        {dsn!r},",
        ]
        for key, value in values.items():
            lines += code_lines(f"{key}=", value, ",", 8)
        return "\n".join([*lines, "    )"]) + "\n"
    if rec.stack == "psycopg_pool":
        from pool_doctor.stacks import psycopg_pool

        # The app's own class: an async pool stays async, a null pool stays a null pool.
        pool_class = str(values.pop(psycopg_pool.POOL_CLASS, None) or psycopg_pool.pool_class(rec.call))
        check = values.pop("check", None)
        # An async pool is opened in the running loop (`await pool.open()`): psycopg_pool warns when its
        # constructor opens it. A sync pool says open=True, since an implicit open is deprecated.
        opened = values.pop("open", not psycopg_pool.is_async(pool_class))
        lines = [
            f"from psycopg_pool import {pool_class}",
            "",
            f"pool = {pool_class}(",
            f"    {secret_note}",
            f"    {dsn!r},",
        ]
        if check:
            lines.append(f"    check={pool_class}.check_connection,")
        for key, value in values.items():
            lines += code_lines(f"{key}=", value, ",", 4)
        return "\n".join([*lines, f"    open={opened!r},", ")"]) + "\n"
    entry: dict[str, Any] = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": target.database,
        "USER": target.user,
        "HOST": target.host,
        "PORT": str(target.port),
    }
    entry.update({k: v for k, v in values.items() if k != "ENGINE"})
    lines = ["DATABASES = {", '    "default": {']
    for key, value in entry.items():  # Django's settings quote with double quotes
        lines += code_lines(code_literal(key, '"') + ": ", value, ",", 8, quote='"')
    lines += ['        # "PASSWORD": from your secret store or ~/.pgpass, never in code', "    },", "}"]
    return "\n".join(lines) + "\n"


def recommendation_toml(report: CheckReport, rec: Recommendation) -> str:
    """A config file `check --config` accepts as is: the recommended [pool] plus the inputs it was judged with."""
    settings = report.inputs.settings
    out = [f"# pool-doctor recommend for {report.inputs.target.display()} (role {report.server.role})", "[pool]"]
    if rec.stack != "sqlalchemy":
        out.append(f"stack = {_toml_value(rec.stack)}")
        nested = {key: value for key, value in rec.values.items() if isinstance(value, dict)}
        out += [f"{key} = {_toml_value(value)}" for key, value in rec.values.items() if not isinstance(value, dict)]
        out += ["", "[deployment]"]
        out += [f"{key} = {_toml_value(value)}" for key, value in settings.deployment.model_dump().items()]
        for name, table in nested.items():
            out += _toml_tables(f"pool.{name}", table)
        return "\n".join(out) + "\n"
    out += [f"{key} = {_toml_value(value)}" for key, value in rec.pool.model_dump(exclude_none=True).items()]
    out += ["", "[deployment]"]
    out += [f"{key} = {_toml_value(value)}" for key, value in settings.deployment.model_dump().items()]
    network = settings.network
    if network.idle_timeout is not None or network.platform:
        out += ["", "[network]"]
        if network.middlebox:
            out.append(f"middlebox = {_toml_value(network.middlebox)}")
        if network.idle_timeout is not None and (network.given("idle_timeout") or not network.middlebox):
            out.append(f"idle_timeout = {_toml_value(network.idle_timeout)}")
        if network.given("shape"):
            out.append(f"shape = {_toml_value(network.shape)}")
        if network.platform:
            out.append(f"platform = {_toml_value(network.platform)}")
    tables = {k: v for k, v in rec.connect_args.items() if isinstance(v, dict)}
    out += ["", f"[connect_args]  # {rec.driver}'s, for create_engine(..., connect_args=...)"]
    for key, value in rec.connect_args.items():
        if isinstance(value, PythonCode):  # described by a string; `check` and `probe` know what it stands for
            out.append(f"{key} = {_toml_value(value.json_value)}  # Python: {value} (see --format python)")
        elif value is None:
            out.append(f'{key} = "none"  # Python: None')
        elif not isinstance(value, dict):
            out.append(f"{key} = {_toml_value(value)}")
    for key, table in tables.items():
        out += ["", f"[connect_args.{key}]"]
        out += [f"{k} = {_toml_value(v)}" for k, v in table.items()]
    return "\n".join(out) + "\n"


def _toml_tables(name: str, table: dict[str, Any]) -> list[str]:
    out = ["", f"[{name}]"]
    out += [f"{key} = {_toml_value(value)}" for key, value in table.items() if not isinstance(value, dict)]
    for key, value in table.items():
        if isinstance(value, dict):
            out += _toml_tables(f"{name}.{key}", value)
    return out


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) + ".0"
    return repr(value)


def render_app_recommendations(
    report: CheckReport, recs: list[tuple[CheckReport, Recommendation]], options: RenderOptions, out: Console
) -> None:
    """--app: the fix for each pool, in that pool's own terms, each under its file:line."""
    fmt = options.format
    if fmt == "json":
        write_json(out, app_recommendations_json(report, recs))
        return
    if fmt == "python":
        write(
            out,
            "\n\n".join(
                f"# {one.pools[0].app.where}: {one.pools[0].app.call}\n" + recommendation_python(one, rec)
                for one, rec in recs
            ),
        )
        return
    if fmt == "toml":  # one [pool] per file: the command asks for --pool first when there are several
        one, rec = recs[0]
        write(out, f"# {one.pools[0].app.where}: {one.pools[0].app.call}\n" + recommendation_toml(one, rec))
        return
    for one, rec in recs:
        app = one.pools[0].app
        render_recommendation(
            one, rec, options, out, title=f"Recommended settings for {app.where} ({app.ref.stack}, {app.target.driver})"
        )


def render_recommendation(
    report: CheckReport, rec: Recommendation, options: RenderOptions, out: Console, title: str | None = None
) -> None:
    fmt = options.format
    if fmt == "json":
        write_json(out, recommendation_json(report, rec))
        return
    if fmt in ("python", "toml"):
        write(out, recommendation_python(report, rec) if fmt == "python" else recommendation_toml(report, rec))
        return
    if fmt == "markdown":
        write(out, recommendation_markdown(report, rec))
        return
    parts: list[Any] = [
        Text(title, style="bold")
        if title
        else Text.assemble(("pool-doctor recommend ", "bold"), report.inputs.target.display()),
        Text(f"for role {report.server.role}, driver {rec.driver}: paste this"),
        Text(),
    ]
    if rec.reasons:
        # The block is the answer: lines to paste, laid out to fit 80 columns where they can.
        parts.append(paste(recommendation_python(report, rec)))
        parts.append(Text())
        parts.append(Text("Why each setting (the whole reasons and evidence: --format json):", style="bold"))
        for reason in rec.reasons:
            current = "unset" if reason.current is None else short_value(reason.current)
            parts.append(prose(Text.assemble((reason.key, "bold"), f" (was {current})")))
            parts.append(prose(reason.short or reason.why, indent=4))
    else:
        parts.append(Text("Nothing to change: no finding names a setting of the app's."))
    if rec.server_sql:
        parts += [Text(), Text("For the DBA (pool-doctor never changes the server):", style="bold")]
        for reason in rec.server_sql:
            parts.append(paste(str(reason.value), indent=2))
            parts.append(prose(reason.short or reason.why, indent=4))
    if rec.findings:
        parts += [Text(), *findings_parts(rec.findings, out.width, title="Problems no setting fixes")]
    if report.server.limitations:
        parts += could_not_see(report.server.limitations)
    parts.append(Text("As a config file for check --config: --format toml.", style="dim"))
    out.print(Group(*parts), crop=False)  # not cropped: a line to paste may be wider than the terminal


def paste(code: str, indent: int = 0) -> Text:
    """Code to copy, each line whole: never folded or cut at the terminal's width. Printed uncropped, a line
    wider than the terminal runs past it (the terminal soft-wraps it on screen and copies it as one line)."""
    pad = " " * indent
    return Text("\n".join(pad + line for line in code.rstrip("\n").split("\n")), no_wrap=True, overflow="ignore")


def recommendation_markdown(report: CheckReport, rec: Recommendation) -> str:
    lines = [f"## pool-doctor recommend for `{report.inputs.target.display()}`", ""]
    if rec.reasons:
        lines += ["```python", recommendation_python(report, rec).rstrip("\n"), "```", "", *reasons_markdown(rec), ""]
    else:
        lines += ["Nothing to change: no finding names a setting of the app's.", ""]
    if rec.server_sql:
        lines += ["### For the DBA", "", "```sql", *(str(r.value) for r in rec.server_sql), "```", ""]
        lines += [f"- {md_cell(r.why)}" for r in rec.server_sql]
        lines.append("")
    if rec.findings:
        lines += ["### Problems no setting fixes", "", *findings_markdown(rec.findings)]
    return "\n".join(lines).rstrip("\n") + "\n"
