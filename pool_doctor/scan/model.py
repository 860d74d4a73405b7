"""What `scan` finds: the pools an app's source creates, each setting with where its value comes from.

Plain data, no I/O. `ScanReport.to_json()` is the one JSON form (issue 13's shape, with the findings);
renderers (pool_doctor/render/scan.py) and `--app` only read these objects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pool_doctor.errors import MASK

if TYPE_CHECKING:
    from pool_doctor.model import Finding, Severity

SCHEMA_VERSION = 2

Stack = Literal["sqlalchemy", "asyncpg", "psycopg_pool", "psycopg2", "django", "flask_sqlalchemy"]
SHORT_NAMES = {"flask_sqlalchemy": "flask"}  # as a narrow table column shows them


@dataclass(frozen=True)
class ScannedValue:
    """One setting as the code gives it.

    `value` is what is in effect when no environment variable is set (a plain JSON value); `from_` is
    the `file:line` that value is written at; `env` the variable that overrides it; `source` the source
    text the value is written as there (`60 * 5`, `"postgresql://..."`, a `.env` line's value). When `known`
    is False the value could not be worked out statically: `value` is None and `expr` holds the source.

    A value that depends on a test the scan cannot decide has `branches`: each possible value, with the
    test it holds under in its `when` (the value itself is then unknown: the judge takes the worst branch).
    A branch whose `expr` is NOT_SET is one where the code does not set the key (the library default).
    """

    value: Any
    from_: str | None
    env: str | None = None
    known: bool = True
    expr: str | None = None
    source: str | None = None
    when: str | None = None
    branches: tuple[ScannedValue, ...] = ()
    chosen: int | None = None  # the branch in effect with no variable set, when one is (not in JSON: listed first)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"value": self.value, "from": self.from_, "env": self.env, "known": self.known}
        if not self.known:
            out["expr"] = self.expr
        if self.source is not None:
            out["source"] = self.source
        if self.when is not None:
            out["when"] = self.when
        if self.branches:
            out["branches"] = [branch.to_json() for branch in self.branches]
        return out

    def show(self) -> str:
        """Short text for a table cell: the value, `?` when unknown, `$VAR` when the environment overrides it;
        a value with branches shows each (`5|20`)."""
        if self.branches:
            text = "|".join("-" if b.expr == NOT_SET else _short(b.value) if b.known else "?" for b in self.branches)
        else:
            text = _short(self.value) if self.known else "?"
        return f"{text} ${self.env}" if self.env else text


NOT_SET = "(not set)"  # a branch where the code does not give the key: the library's default stands


def _short(value: Any) -> str:
    if value is True or value is False:
        return str(value).lower()
    if value is None:
        return "none"
    if isinstance(value, str) and value.strip().lower() in LOOKALIKES:  # the string "False", not false
        return repr(value)
    return str(value)


LOOKALIKES = frozenset({"true", "false", "none", "null", "yes", "no", "on", "off", ""})


# What a pool's `aside` says, as reports name it: made in the tests, or in an example or template to copy
ASIDE = (("tests", "the tests"), ("examples", "examples"))


@dataclass(frozen=True)
class ScannedPool:
    file: str  # as the user would type it: relative to the working directory when PATH was relative
    line: int  # first line of the call (or of the assignment)
    end_line: int
    stack: Stack
    call: str  # the library callable, e.g. "sqlalchemy.ext.asyncio.create_async_engine", or "DATABASES['default']"
    settings: dict[str, ScannedValue]
    # `**x` unpackings (and whole configurations) whose keys could not be read: any setting may hide there
    unresolved: list[str] = field(default_factory=list)
    at_import: bool = False  # created while the module is imported (module or class body), not in a function
    via: list[str] = field(default_factory=list)  # the project's wrapper calls it went through, outermost first
    condition: str | None = None  # the `if` test(s) this creation sits under, as source text
    # Settings with branches: the branch the judge took for each (the worst), by index into its branches.
    judged_branches: dict[str, int] = field(default_factory=dict)
    # Files of the project that create a worker app whose tasks run outside any web request (Celery), where no
    # Django fixup serves it (one is installed when DJANGO_SETTINGS_MODULE is set before the app is made).
    workers: tuple[str, ...] = ()
    # Made in a test module ("tests") or an example or template to copy ("examples"): listed, not judged, and left
    # out of `--app` unless `--pool` names it (finder.Project.aside).
    aside: str | None = None
    # The driver it is judged with: a SQLAlchemy URL's, as its written scheme names it (scan.target.url_driver),
    # an asyncpg or psycopg pool's library; None where the code does not say (Django's, a URL the scan cannot read).
    driver: str | None = None
    # Another database the project's requirements point at, where the code does not say which one the pool reaches
    # ("mysql": a MySQL driver declared, no PostgreSQL one; scan/declared.py): listed, not judged.
    database: str | None = None

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    def get(self, key: str) -> ScannedValue | None:
        return self.settings.get(key)

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "end_line": self.end_line,
            "stack": self.stack,
            "call": self.call,
            "settings": {key: value.to_json() for key, value in self.settings.items()},
            "unresolved": list(self.unresolved),
            "at_import": self.at_import,
            "via": list(self.via),
            "condition": self.condition,
            "aside": self.aside,
            "driver": self.driver,
            "database": self.database,
            "judged_branches": {
                key: self.settings[key].branches[index].when for key, index in self.judged_branches.items()
            },
        }


@dataclass(frozen=True)
class Site:
    """A place in the app's source a finding is about when it is not a pool's creation (scan/held.py): it
    reads as a scanned pool's place does (file, line, end_line, where)."""

    file: str
    line: int
    end_line: int

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


ScanFinding = tuple["ScannedPool | Site", "Finding"]


@dataclass(frozen=True)
class ScanReport:
    root: str
    pools: list[ScannedPool]
    warnings: list[str]  # files that could not be read or parsed, each naming the file
    files_seen: int = 0
    files_parsed: int = 0
    # What needs no server: each pool judged by the pool and code rules (scan/judge.py), in the pools' order.
    findings: list[ScanFinding] = field(default_factory=list)

    def at_or_above(self, threshold: Severity | None) -> bool:
        return threshold is not None and any(f.severity.rank >= threshold.rank for _, f in self.findings)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "pools": [pool.to_json() for pool in self.pools],
            "warnings": list(self.warnings),
            "findings": [
                {
                    "code": f.code,
                    "severity": f.severity.value,
                    "title": f.title,
                    "detail": f.detail,
                    "evidence": list(f.evidence),
                    "file": pool.file,
                    "line": pool.line,
                }
                for pool, f in self.findings
            ],
        }


# (a user may hold an `@`, Azure's `admin@server`; the password may be split over adjacent literals, `"...:pw" "@h"`)
_URL_PASSWORD = re.compile(r"(://[^/\s:]*:)(?:[^\s\"']|[\"']\s*[\"'])*@")
_CONNINFO_PASSWORD = re.compile(r"(\bpassword\s*=\s*)('[^']*'|\S+)", re.IGNORECASE)


# a text cut short inside a URL's password (not a port: `host:5432/db...`)
_CUT_PASSWORD = re.compile(r"(://[^/\s:@]*:)(?!\d+(?:[/?]|\.\.\.$))[^\s@]*\.\.\.$")


def passwords_in(text: str) -> list[str]:
    """The passwords a URL's or conninfo string's text holds, as written (for masking them elsewhere too)."""
    found = [m.group(0)[len(m.group(1)) : -1] for m in _URL_PASSWORD.finditer(text)]
    found += [m.group(2).strip("'") for m in _CONNINFO_PASSWORD.finditer(text)]
    return [secret for secret in found if secret and secret != MASK]


def without(text: str, secrets: list[str]) -> str:
    """The text with each of these passwords masked wherever it is written, a cut text's last part of one too."""
    for secret in secrets:
        # as a word of its own: a password `p` is not the `p` of `postgresql`
        text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(secret)}(?![A-Za-z0-9])", MASK, text)
        shown = text.removesuffix("...")
        cut = next((k for k in range(len(secret) - 1, 0, -1) if shown != text and _ends_word(shown, secret[:k])), 0)
        text = f"{shown[:-cut]}{MASK}..." if cut else text
    return text


def _ends_word(text: str, start: str) -> bool:
    return text.endswith(start) and not text[: -len(start)][-1:].isalnum()


# a whole text that is a URL (a value, not code): its password runs to the last `@`, quotes and spaces in it too
_URL_VALUE = re.compile(r"^([A-Za-z][\w+.-]*://[^/?#@\s:]*:)(?!\d+(?:[/?]|$))(.+)@(?=[^@]*$)", re.DOTALL)


def mask_text(text: str) -> str:
    """A URL's or conninfo string's password as `***`; what the code has, never what it hides."""
    text = _URL_VALUE.sub(lambda m: f"{m.group(1)}{MASK}@", text)
    text = _URL_PASSWORD.sub(lambda m: f"{m.group(1)}{MASK}@", text)
    text = _CUT_PASSWORD.sub(lambda m: f"{m.group(1)}{MASK}...", text)
    return _CONNINFO_PASSWORD.sub(lambda m: f"{m.group(1)}{MASK}", text)
