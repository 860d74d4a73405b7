"""The Flask-SQLAlchemy release a project installs, as far as what it pins says: 3 makes the engines at
`init_app` and reads none of 2.x's pool keys (SQLALCHEMY_POOL_SIZE and the rest, which 3.0 removed); 2 makes them
when first used, from the config as it is then.

A pin is read from requirement files, pyproject.toml, setup.py / setup.cfg, Pipfile, constraints and lock files,
in the folder nearest the app's module that has one (a monorepo's services pin each their own), up to the scanned
folder and two above it. A requirement's specifiers give the range of majors it allows (`>=2.4,<3` is 2, `>=3`
is 3, the last major); SQLAlchemy 2 or later leaves only Flask-SQLAlchemy 3 (2.5.1's `_include_sqlalchemy` reads
`sqlalchemy.__all__`, which SQLAlchemy 2.0 dropped: colab23 pins SQLAlchemy==2.0.21 and Flask-SQLAlchemy not at
all). A pin below 2.4 (notification-api's git pin, locked as 2.3.2.dev) also reads no SQLALCHEMY_ENGINE_OPTIONS,
which 2.4.0 added."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

FILES = (
    "requirements*.txt",
    "requirements/*.txt",
    "constraints*.txt",
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "Pipfile",
    "*.lock",
)
LAST = {b"flask[-_]sqlalchemy": 3, b"sqlalchemy": 2}  # the newest major of each: an open range ends there
MAX_BYTES = 2_000_000  # a lock file's first 2 MB


def _patterns(name: bytes) -> tuple[re.Pattern[bytes], re.Pattern[bytes], re.Pattern[bytes]]:
    """A requirement's specifiers (`Flask-SQLAlchemy>=2.4,<3`, `"flask_sqlalchemy>=3"`, poetry's and a Pipfile's
    `flask-sqlalchemy = "^3.0"` or `{version = "==2.4.0"}`; not `zope.sqlalchemy==3.1` for SQLAlchemy), a poetry
    lock's `name = ...` / `version = ...`, a Pipfile.lock's `"version": "==3.1.1"`."""
    return (
        re.compile(
            rb"(?im)(?<![\w.-])%s\s*(?:\[[^\]\n]*\])?\s*(?:=\s*)?[\"']?\s*(?:\{[^}\n]*?version\s*=\s*[\"'])?"
            rb"((?:(?:<=|>=|==|~=|!=|<|>|\^)\s*[\w.*]+\s*,?\s*)+)" % name
        ),
        re.compile(rb'(?i)name\s*=\s*"%s"\s*\n\s*version\s*=\s*"(\d+)\.' % name),
        re.compile(rb'(?i)"%s"\s*:\s*\{[^{}]*?"version"\s*:\s*"==(\d+)\.' % name),
    )


PATTERNS = {name: _patterns(name) for name in LAST}
OPTIONS_SINCE = (2, 4)  # the Flask-SQLAlchemy release that first reads SQLALCHEMY_ENGINE_OPTIONS (2.4.0's get_options)
VERSION = re.compile(rb"(<=|>=|==|~=|!=|<|>|\^)\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?")
LOCKED = re.compile(rb"(\d+)\.(\d+)")


class Pin(NamedTuple):
    """What the pins nearest a module say of Flask-SQLAlchemy: the one major they allow (None: several, or no
    pin), and whether every release they allow predates SQLALCHEMY_ENGINE_OPTIONS."""

    major: int | None = None
    before_options: bool = False


def _capped_before(specifiers: bytes, version: tuple[int, int]) -> bool:
    """Whether a requirement's specifiers allow only releases before `version` (`==2.3.2`, `<2.4`, `<=2.3.1`,
    `~=2.3.0`)."""
    for op, major_text, minor_text, patch_text in VERSION.findall(specifiers):
        release = (int(major_text), int(minor_text or 0), int(patch_text or 0))
        if op == b"<" and release <= (*version, 0):  # (`<2.4.1` allows 2.4.0)
            return True
        if op in (b"==", b"<=") and minor_text and release[:2] < version:
            return True
        if op == b"~=" and patch_text and (release[0], release[1] + 1) <= version:  # (`~=2.3.0` is `<2.4`)
            return True
    return False


def _range(specifiers: bytes, last: int) -> tuple[int, int]:
    """The majors a requirement's specifiers allow, lowest and highest."""
    low, high = 0, last
    for op, major_text, minor_text, _ in VERSION.findall(specifiers):
        major = int(major_text)
        if op in (b"==", b"~=", b"^"):
            low, high = max(low, major), min(high, major)
        elif op in (b">=", b">"):
            low = max(low, major)
        elif op == b"<=":
            high = min(high, major)
        elif op == b"<":  # `<3` and `<3.0`: 2; `<2.5`: 2
            high = min(high, major - 1 if not minor_text or int(minor_text) == 0 else major)
    return low, high


def _ranges(data: bytes, name: bytes) -> list[tuple[int, int, bool]]:
    """Each requirement's range of majors, and whether it allows only releases before SQLALCHEMY_ENGINE_OPTIONS."""
    spec, poetry, pipenv = PATTERNS[name]
    found = [(*_range(m.group(1), LAST[name]), _capped_before(m.group(1), OPTIONS_SINCE)) for m in spec.finditer(data)]
    for pattern in (poetry, pipenv):
        for m in pattern.finditer(data):
            version = LOCKED.match(data, m.start(1))
            before = version is not None and (int(version[1]), int(version[2])) < OPTIONS_SINCE
            found.append((int(m[1]), int(m[1]), before))
    return found


def requirement_files(folder: Path, base: Path) -> Iterator[list[tuple[Path, bytes]]]:
    """The requirement files of each folder from `folder` up to `base` and two above it, nearest first: each
    file's path and its first MAX_BYTES."""
    inside = [p for p in (folder, *folder.parents) if p.is_relative_to(base)] or [base]
    for place in [*inside, *base.parents[:2]]:
        found = []
        for path in (found for pattern in FILES for found in sorted(place.glob(pattern))):
            if not path.is_file():  # (a FIFO is no file to wait on)
                continue
            try:
                with path.open("rb") as stream:
                    data = stream.read(MAX_BYTES)
            except OSError:
                continue
            if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # (`pip freeze > requirements.txt` in PowerShell)
                data = data.decode("utf-16", "replace").encode()
            found.append((path, data))
        yield found


def pinned(folder: Path, base: Path) -> Pin:
    """What the nearest pinning folder allows of Flask-SQLAlchemy, from `folder` up to `base` and two above it:
    its one major (None where none pins it, or its pins allow more than one, or none), and whether all it allows
    predates SQLALCHEMY_ENGINE_OPTIONS."""
    for files in requirement_files(folder, base):
        ranges: dict[bytes, list[tuple[int, int, bool]]] = {name: [] for name in LAST}
        for _, data in files:
            for name in LAST:
                ranges[name] += _ranges(data, name)
        if not any(ranges.values()):
            continue
        flask, engine = ranges[b"flask[-_]sqlalchemy"], ranges[b"sqlalchemy"]
        low = max([2, *(lo for lo, _, _ in flask)])  # (0.x and 1.x read the 2.x keys and make engines as 2 does)
        high = min((hi for _, hi, _ in flask), default=LAST[b"flask[-_]sqlalchemy"])
        if engine and max(lo for lo, _, _ in engine) >= 2 and high >= 3:  # (a pin of Flask-SQLAlchemy 2 says more)
            low = max(low, 3)
        early = bool(flask) and all(before for _, _, before in flask)  # (a line per Python version: each so)
        return Pin(low if low == high else None, low <= high and early)
    return Pin()


def exact(folder: Path, base: Path, name: bytes) -> tuple[int, ...] | None:
    """The one release of a package the nearest pinning folder installs (`fastapi==0.115.14`, a lock file's
    version), from `folder` up to `base` and two above it; None where none pins it to one."""
    pattern = re.compile(
        rb"(?im)(?<![\w.-])%s\s*(?:\[[^\]\n]*\])?\s*(?:==\s*|=\s*[\"']==)(\d+(?:\.\d+)*)"  # requirements, Pipfile
        rb"|name\s*=\s*\"%s\"\s*\n\s*version\s*=\s*\"(\d+(?:\.\d+)*)\"" % (name, name)  # poetry's and uv's lock
    )
    for files in requirement_files(folder, base):
        found = {m[1] or m[2] for _, data in files for m in pattern.finditer(data)}
        if found:
            return tuple(int(part) for part in found.pop().split(b".")) if len(found) == 1 else None
    return None
