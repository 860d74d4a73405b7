"""`recommend`'s report: the values as paste-ready code in the app's own stack, TOML, JSON or markdown."""

from __future__ import annotations

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


def recommendation_python(report: CheckReport, rec: Recommendation) -> str:
    """Ready-to-paste code in the app's own stack; the password is left out."""
    if rec.stack != "sqlalchemy":
        return _stack_python(report, rec)
    target = report.inputs.target
    url = target.with_password(None).render(hide_password=True)
    is_async = target.driver == "asyncpg"
    factory = "create_async_engine" if is_async else "create_engine"
    module = "sqlalchemy.ext.asyncio" if is_async else "sqlalchemy"
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
    lines.append("    connect_args={")
    for key, value in rec.connect_args.items():
        if isinstance(value, dict):  # one key a line: the block stays within 80 columns
            lines.append(f"        {key!r}: {{")
            lines += [f"            {k!r}: {v!r}," for k, v in value.items()]
            lines.append("        },")
            continue
        shown = str(value) if isinstance(value, PythonCode) else repr(value)
        lines.append(f"        {key!r}: {shown},")
    lines.append("    },")
    lines.append(")")
    return "\n".join(lines) + "\n"


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
        lines += [f"        {key}={value!r}," for key, value in values.items()]
        return "\n".join([*lines, "    )"]) + "\n"
    if rec.stack == "psycopg_pool":
        check = values.pop("check", None)
        lines = [
            "from psycopg_pool import ConnectionPool",
            "",
            "pool = ConnectionPool(",
            f"    {secret_note}",
            f"    {dsn!r},",
        ]
        if check:
            lines.append("    check=ConnectionPool.check_connection,")
        lines += [f"    {key}={value!r}," for key, value in values.items()]
        return "\n".join([*lines, "    open=True,", ")"]) + "\n"
    entry: dict[str, Any] = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": target.database,
        "USER": target.user,
        "HOST": target.host,
        "PORT": str(target.port),
    }
    entry.update({k: v for k, v in values.items() if k != "ENGINE"})
    lines = ["DATABASES = {", '    "default": {']
    lines += [f"        {key!r}: {value!r}," for key, value in entry.items()]
    lines += ['        # "PASSWORD": from your secret store or ~/.pgpass, never in code', "    },", "}"]
    return "\n".join(lines).replace("'", '"') + "\n"


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
        # The block is the answer: plain lines to paste, never wrapped (each is shorter than 80 columns).
        parts.append(Text(recommendation_python(report, rec).rstrip("\n"), no_wrap=True, overflow="ignore"))
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
            parts.append(prose(Text(str(reason.value), no_wrap=True, overflow="fold")))
            parts.append(prose(reason.short or reason.why, indent=4))
    if rec.findings:
        parts += [Text(), *findings_parts(rec.findings, out.width, title="Problems no setting fixes")]
    if report.server.limitations:
        parts += could_not_see(report.server.limitations)
    parts.append(Text("As a config file for check --config: --format toml.", style="dim"))
    out.print(Group(*parts))


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
