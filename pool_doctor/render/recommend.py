"""`recommend`'s report: the values as paste-ready code in the app's own stack, TOML, JSON or markdown."""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group
from rich.text import Text

from pool_doctor.connection.values import PythonCode, as_code, jsonable_connect_args
from pool_doctor.model import SCHEMA_VERSION, to_jsonable
from pool_doctor.redact import without_secrets
from pool_doctor.render import BREAKS, WIDTH, RenderOptions, md_cell, prose, short_value, wrap_tokens, write, write_json
from pool_doctor.render import heading as report_heading
from pool_doctor.render.findings import could_not_see, findings_markdown, findings_parts
from pool_doctor.stacks import stack_for
from pool_doctor.stacks.base import CONNECT_ARGS

if TYPE_CHECKING:
    from pool_doctor.check import CheckReport
    from pool_doctor.recommend import Recommendation
    from pool_doctor.stacks.demotion import Demotion


def reasons_markdown(rec: Recommendation) -> list[str]:
    lines = ["| setting | recommended | current | why |", "|---|---|---|---|"]
    for reason in rec.reasons:
        current = "-" if reason.current is None else short_value(reason.current)
        lines.append(
            f"| `{reason.key}` | `{md_cell(short_value(reason.value))}` | `{md_cell(current)}` | {md_cell(reason.why)} |"
        )
    return lines


def recommendation_python(report: CheckReport, rec: Recommendation) -> str:
    """Ready-to-paste code in the app's own stack; the password (any key named like a secret) is left out."""
    values, connect_args = shown(rec)
    snippet = stack_for(rec.stack).python_snippet
    code = fit_strings(snippet(as_code(values), as_code(connect_args), report.inputs.target, rec.call))
    for fix in rec.code:  # what no setting does: the app's own code, after its pool
        code = f"{code.rstrip()}\n\n# {fix.where}: a demoted primary (SQLSTATE 25006)\n{fix.code}"
    return code


_LITERAL = r"'(?:[^'\\\n]|\\.)*'" + "|" + r'"(?:[^"\\\n]|\\.)*"'
_STRING_LINE = re.compile(rf"^(?P<indent>\s*)(?P<key>\w+=|(?:{_LITERAL}): )?(?P<literal>{_LITERAL})(?P<comma>,?)$")


def fit_strings(code: str, width: int = WIDTH) -> str:
    """Code whose lines fit `width`: a string literal too long for its line (a URL with options) becomes
    adjacent literals in parentheses, broken at the URL's own separators; Python joins them back at compile
    time, so the value is the same. Other long lines are left as they are."""
    out = []
    for line in code.split("\n"):
        match = _STRING_LINE.match(line)
        if len(line) <= width or match is None:
            out.append(line)
            continue
        indent, key, comma = match["indent"], match["key"] or "", match["comma"]
        value = ast.literal_eval(match["literal"])
        room = width - len(indent) - 4 - 2  # four more spaces and the two quotes
        # In a literal any break keeps the value: a name too long for a line may break at its @, _ or -.
        chunks = wrap_tokens(value.replace(" ", "\0"), room, "", "", breaks=BREAKS + "@_-")
        parts = [chunk.replace("\0", " ") for chunk in chunks]
        if "".join(parts) != value or any(len(repr(part)) > room + 2 for part in parts):
            out.append(line)  # no separator in reach (or an escape that grows): left whole
            continue
        quote = match["literal"][0]
        out.append(f"{indent}{key}(")
        out += [f"{indent}    {_quoted(part, quote)}" for part in parts]
        out.append(f"{indent}){comma}")
    return "\n".join(out)


def shown(rec: Recommendation) -> tuple[dict[str, Any], dict[str, Any]]:
    """The stack's keys and connect_args as every form shows them: without keys named like secrets (a
    password belongs in the app's secret store, never in code or a config file)."""
    return without_secrets(rec.values), without_secrets(rec.connect_args)


def _quoted(text: str, quote: str) -> str:
    """A literal in the code's own quotes where that needs no escape, else Python's repr."""
    plain = quote not in text and "\\" not in text and text.isprintable()
    return f"{quote}{text}{quote}" if plain else repr(text)


def recommendation_json(report: CheckReport, rec: Recommendation) -> dict[str, Any]:
    """The one JSON form of a recommendation: the stack's keys as the library takes them, and connect_args
    where the stack takes them apart (SQLAlchemy's connect_args=)."""
    values, given_args = shown(rec)
    connect_args = jsonable_connect_args(given_args)
    separate = stack_for(rec.stack).args_prefix == CONNECT_ARGS + "."
    return {
        "schema_version": SCHEMA_VERSION,
        "target": report.inputs.target.display(),
        "role": report.server.role,
        "driver": rec.driver,
        "stack": rec.stack,
        "recommendation": {
            "stack": rec.stack,
            **values,
            **({CONNECT_ARGS: connect_args} if separate or connect_args else {}),
        },
        "reasons": [reason.to_json() for reason in rec.reasons],
        "server_sql": [reason.to_json() for reason in rec.server_sql],
        "findings": [to_jsonable(finding) for finding in rec.findings],
        "code": [code_json(fix) for fix in rec.code],
        "limitations": report.server.limitations,
    }


def code_json(fix: Demotion) -> dict[str, str]:
    return {"for": "demoted-primary", "why": fix.words, "where": fix.where, "cost": fix.cost, "code": fix.code}


def app_recommendations_json(report: CheckReport, recs: list[tuple[CheckReport, Recommendation]]) -> dict[str, Any]:
    """--app: one recommendation per pool the code creates, each under its file:line."""
    shared = ("target", "role", "schema_version")
    return {
        "schema_version": SCHEMA_VERSION,
        "target": report.inputs.target.display(),
        "role": report.server.role,
        "app": report.inputs.app,
        "pools": [
            {
                "pool": to_jsonable(one.pools[0].app.ref),
                **{k: v for k, v in recommendation_json(one, rec).items() if k not in shared},
            }
            for one, rec in recs
        ],
    }


def recommendation_toml(report: CheckReport, rec: Recommendation) -> str:
    """A config file `check --config` accepts as is: the recommended [pool] plus the inputs it was judged with."""
    settings = report.inputs.settings
    out = [f"# pool-doctor recommend for {report.inputs.target.display()} (role {report.server.role})"]
    if rec.left_out:
        out.append(f"# left out: {', '.join(rec.left_out)} (give a password in the URL, PGPASSWORD or ~/.pgpass)")
    out.append("[pool]")
    out.append(f"stack = {_toml_value(rec.stack)}")
    values, connect_args = shown(rec)
    nested = {key: value for key, value in values.items() if isinstance(value, dict)}
    out += [f"{key} = {_toml_value(value)}" for key, value in values.items() if not isinstance(value, dict)]
    out += ["", "[deployment]"]
    out += [f"{key} = {_toml_value(value)}" for key, value in settings.deployment.model_dump().items()]
    for name, table in nested.items():
        out += _toml_tables(f"pool.{name}", table)
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
    if connect_args or stack_for(rec.stack).args_prefix == CONNECT_ARGS + ".":
        out += ["", f"[connect_args]  # {rec.driver}'s, for create_engine(..., connect_args=...)"]
        connect_args = as_code(connect_args)  # a function as its stand-in, with the code beside it
        tables = {k: v for k, v in connect_args.items() if isinstance(v, dict)}
        for key, value in connect_args.items():
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
    # The app's own call, edited: its variable, URL expression and other arguments as the code has them.
    snippets = _app_snippets(report) if fmt in ("python", "table", "markdown") else {}
    if fmt == "python":
        write(
            out,
            "\n\n".join(
                "\n".join(wrap_tokens(f"# {one.pools[0].app.where}: {one.pools[0].app.call}", subsequent="#   "))
                + "\n"
                + (snippets.get(one.pools[0].app.where) or recommendation_python(one, rec))
                for one, rec in recs
            ),
        )
        return
    if fmt == "toml":  # one [pool] per file: the command asks for --pool first when there are several
        one, rec = recs[0]
        where = wrap_tokens(f"# {one.pools[0].app.where}: {one.pools[0].app.call}", subsequent="#   ")
        write(out, "\n".join(where) + "\n" + recommendation_toml(one, rec))
        return
    for one, rec in recs:
        app = one.pools[0].app
        title = f"Recommended settings for {app.where} ({app.ref.stack}, {app.target.driver})"
        render_recommendation(one, rec, options, out, title=title, code=snippets.get(app.where))


def _app_snippets(report: CheckReport) -> dict[str, str]:
    from pool_doctor.edit import edit_app

    return edit_app(report).snippets


def render_recommendation(
    report: CheckReport,
    rec: Recommendation,
    options: RenderOptions,
    out: Console,
    title: str | None = None,
    code: str | None = None,
) -> None:
    """`code`: the app's own call as the recommendation edits it (--app), shown instead of a new one."""
    fmt = options.format
    if fmt == "json":
        write_json(out, recommendation_json(report, rec))
        return
    if fmt in ("python", "toml"):
        write(out, recommendation_python(report, rec) if fmt == "python" else recommendation_toml(report, rec))
        return
    if fmt == "markdown":
        write(out, recommendation_markdown(report, rec, code))
        return
    parts: list[Any] = [
        Text("\n".join(wrap_tokens(title, out.width)), style="bold")
        if title
        else report_heading("recommend", report.inputs.target.display(), out.width),
        *([Text(f"config: {report.inputs.config_path}")] if report.inputs.config_path else []),
        Text(f"for role {report.server.role}, driver {rec.driver}: paste this"),
        Text(),
    ]
    if rec.reasons:
        # The block is the answer: lines to paste, laid out to fit 80 columns where they can.
        parts.append(paste(code or recommendation_python(report, rec)))
        parts.append(Text())
        parts.append(Text("Why each setting (the whole reasons and evidence: --format json):", style="bold"))
        for reason in rec.reasons:
            current = "unset" if reason.current is None else short_value(reason.current)
            parts.append(prose(Text.assemble((reason.key, "bold"), f" (was {current})")))
            parts.append(prose(reason.short or reason.why, indent=4))
    else:
        parts.append(Text("Nothing to change: no finding names a setting of the app's."))
    for fix in rec.code if not rec.reasons else ():  # with reasons, the code is in the block above
        parts += [Text("A demoted primary: add this " + fix.where, style="bold"), paste(fix.code), Text()]
    for fix in rec.code:
        parts.append(prose(f"Why the code: {fix.words}. Cost: {fix.cost}.", indent=0))
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


def recommendation_markdown(report: CheckReport, rec: Recommendation, code: str | None = None) -> str:
    lines = [f"## pool-doctor recommend for `{report.inputs.target.display()}`", ""]
    if rec.reasons:
        snippet = code or recommendation_python(report, rec)
        lines += ["```python", snippet.rstrip("\n"), "```", "", *reasons_markdown(rec), ""]
    else:
        lines += ["Nothing to change: no finding names a setting of the app's.", ""]
    for fix in rec.code:
        if not rec.reasons:
            lines += ["```python", fix.code.rstrip("\n"), "```", ""]
        lines += [f"- A demoted primary: {md_cell(fix.words)} ({md_cell(fix.where)}; cost: {md_cell(fix.cost)})", ""]
    if rec.server_sql:
        lines += ["### For the DBA", "", "```sql", *(str(r.value) for r in rec.server_sql), "```", ""]
        lines += [f"- {md_cell(r.why)}" for r in rec.server_sql]
        lines.append("")
    if rec.findings:
        lines += ["### Problems no setting fixes", "", *findings_markdown(rec.findings)]
    return "\n".join(lines).rstrip("\n") + "\n"
