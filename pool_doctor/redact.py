"""What may be shown: every known secret masked in every form it can take, keys named like secrets masked,
and text from elsewhere (a server's error message, a setting's value) with its control characters escaped.

Pure functions, no I/O and nothing of pool-doctor's own: the data layer, usable from anywhere.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "***"
SHORT_SECRET = 12  # `postgres`, `password`, `changeme`: the passwords dev setups use are short

# A key whose value is a secret wherever it stands: a driver's `password`, Django's PASSWORD, `sslpassword`,
# a `[pool] api_token`. (`passfile` names a file, not a secret.)
_SECRET_KEY = re.compile(r"pass(word|wd|phrase)?$|pwd$|secret|token|credential|api_?key", re.IGNORECASE)


def is_secret_key(key: str) -> bool:
    """True for a key named like a secret (`password`, `connect_args.sslpassword`, `POOL__PASSWORD`)."""
    last = re.split(r"\.|__", key)[-1]
    return bool(_SECRET_KEY.search(last))


def secret_values(data: Any, key: str = "", depth: int = 0) -> list[str]:
    """The values of keys named like secrets in nested data (a config file, a JSON environment value), and
    the passwords of URLs and DSNs held in any string value."""
    found: list[str] = []
    if depth > 64:  # data read by pool-doctor is depth-checked first; this is only a bound
        return found
    if isinstance(data, Mapping):
        for name, value in data.items():
            found += secret_values(value, str(name), depth + 1)
    elif isinstance(data, list | tuple):
        for value in data:
            found += secret_values(value, key, depth + 1)
    elif data is not None and not isinstance(data, bool):
        text = str(data)
        if key and is_secret_key(key):
            found.append(text)
        found += passwords_in_text(text)
    return [value for value in found if value]


def passwords_in_text(text: str) -> list[str]:
    """Passwords a URL (`scheme://user:PW@host`, `?password=PW`) or a DSN (`password=PW`) in `text` holds, as
    written and percent-decoded; text too broken to parse included."""
    from urllib.parse import unquote

    found: list[str] = []
    if "://" in text and "@" in text:
        auth = text.split("://", 1)[1].split("?", 1)[0].rpartition("@")[0]
        if ":" in auth:
            raw = auth.split(":", 1)[1]
            found += [raw, unquote(raw)]
    for match in re.finditer(r"password\s*=\s*('(?:[^'\\]|\\.)*'|[^\s&]+)", text, flags=re.IGNORECASE):
        raw = match.group(1).strip("'")
        found += [raw, unquote(raw)]
    return found


def secret_forms(secret: str) -> set[str]:
    """The ways `secret` can be written in pool-doctor's output: as is, percent-encoded (three ways), in a
    pgpass line, and each of those inside a JSON or TOML string or a Python literal (a scanned expression
    `lookup('pw')` in a JSON document is the Python form in the JSON form)."""
    written = {
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        secret.replace("\\", "\\\\").replace(":", "\\:"),
    }
    quoted = {form for text in written for form in _python_forms(text)}
    return {
        *written,
        *quoted,
        *(json.dumps(text, ensure_ascii=ascii)[1:-1] for text in written | quoted for ascii in (True, False)),
    }


def _python_forms(text: str) -> set[str]:
    """`text` inside a Python string literal, however it is quoted ('...', "...", or as repr() writes it)."""
    doubled = text.replace("\\", "\\\\")
    return {doubled, doubled.replace("'", "\\'"), doubled.replace('"', '\\"'), repr(text)[1:-1]}


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Every known secret in `text`, in each of its forms, as the mask: the last line of defence for text
    pool-doctor did not render itself (a driver's message, a traceback, a warning) and for every byte it
    writes. A form under SHORT_SECRET characters is masked only where it is not part of a longer word: the
    password `postgres` or `y` must not turn `postgresql+asyncpg` into `***ql+as***ncpg`, and such a word does
    not show where a password would start or end. A longer one is masked wherever it stands."""
    pattern = _pattern(tuple(sorted({s for s in secrets if s})))
    return text if pattern is None else pattern.sub(MASK, text)


@functools.lru_cache(maxsize=32)
def _pattern(secrets: tuple[str, ...]) -> re.Pattern[str] | None:
    forms = sorted({form for secret in secrets for form in secret_forms(secret) if form}, key=len, reverse=True)
    if not forms:
        return None
    parts = []
    for form in forms:
        part = re.escape(form)
        if len(form) < SHORT_SECRET:  # a word: letters, digits and "_", as in role names (app_ro)
            before = r"(?<!\w)" if re.match(r"\w", form[0]) else ""
            after = r"(?!\w)" if re.match(r"\w", form[-1]) else ""
            part = before + part + after
        parts.append(part)
    return re.compile("|".join(parts))


def masked(data: Any, key: str = "") -> Any:
    """Nested data with the value of every key named like a secret as the mask (for JSON and tables)."""
    if isinstance(data, Mapping):
        return {
            name: MASK if is_secret_key(str(name)) and value else masked(value, str(name))
            for name, value in data.items()
        }
    if isinstance(data, list | tuple):
        return [masked(value, key) for value in data]
    return data


def without_secrets(data: Mapping[str, Any]) -> dict[str, Any]:
    """Nested data less every key named like a secret (for code and config files pool-doctor writes)."""
    return {
        name: without_secrets(value) if isinstance(value, Mapping) else value
        for name, value in data.items()
        if not is_secret_key(str(name))
    }


# C0 and C1 control characters and DEL; tab and newline are layout.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """Text from elsewhere (a server's message, a setting, a file) made safe for a terminal: every control
    character but tab and newline written as an escape (ESC as `\\x1b`), so it cannot clear the screen, set
    the window title or colour what follows."""
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def printable_data(data: Any) -> Any:
    """`printable` applied to every string in nested data (rows a server returned)."""
    if isinstance(data, str):
        return printable(data)
    if isinstance(data, Mapping):
        return {printable_data(name): printable_data(value) for name, value in data.items()}
    if isinstance(data, list | tuple):
        return [printable_data(value) for value in data]
    return data
