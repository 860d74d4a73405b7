"""What each managed service and middlebox documents about ending idle connections, and the lookups by key.

The entries are data: catalogue.toml next to this module, shipped as package data, holds every number with
the public page it comes from and the provenance notes. This module reads that file once per process, checks
it strictly and builds the frozen `Entry` objects (platforms/entry.py). A mistake in the file (an unknown
key, a wrong type, an unknown reference or phrase, a missing number without a note saying so, a key used
twice) is a `CatalogueError` naming the entry and the key, never a catalogue read in part.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Literal, TypeVar

from pool_doctor.path.model import Layer, Shape
from pool_doctor.platforms.entry import Entry, EntryKind, Number, Pooler

__all__ = [
    "CATALOGUE",
    "CatalogueError",
    "by_key",
    "keys",
    "load_catalogue",
    "middlebox_preset",
    "parse_catalogue",
]

CATALOGUE_FILE = "catalogue.toml"

_T = TypeVar("_T")
_KEY = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")  # what --platform and [network] middlebox take, lower case
_PLACEHOLDER = re.compile(r"\{([a-z0-9-]+)\}")  # "{no-platform-limit}": a [phrases] or [references] name
_ENTRY_KINDS: Mapping[str, EntryKind] = {kind.value: kind for kind in EntryKind}
_SHAPES: Mapping[str, Shape] = {shape.value: shape for shape in Shape}
_LAYERS: Mapping[str, Layer] = {layer.value: layer for layer in Layer}
_NUMBER_KINDS: Mapping[str, Literal["idle", "lifetime"]] = {"idle": "idle", "lifetime": "lifetime"}
_POOL_MODES: Mapping[str, Literal["session", "transaction"]] = {"session": "session", "transaction": "transaction"}


class CatalogueError(Exception):
    """catalogue.toml is not what the loader expects: a packaging bug, said with the entry and the key."""


def _what(value: object) -> str:
    return {dict: "a table", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


class _Table:
    """One TOML table being read: each key is asked for by name, and a key nobody asked for is an error."""

    def __init__(self, raw: object, where: str) -> None:
        if not isinstance(raw, dict):
            raise CatalogueError(f"{where}: expected a table, got {_what(raw)}")
        self.raw: dict[str, object] = raw
        self.where = where
        self._asked: list[str] = []

    def get(self, key: str) -> object | None:
        self._asked.append(key)
        return self.raw.get(key)

    def fail(self, key: str, problem: str) -> CatalogueError:
        return CatalogueError(f"{self.where}: {key}: {problem}")

    def text(self, key: str) -> str:
        value = self.optional_text(key)
        if value is None:
            raise self.fail(key, "missing")
        return value

    def optional_text(self, key: str) -> str | None:
        value = self.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, f"expected a non-empty string, got {_what(value)} {value!r}")
        return value

    def flag(self, key: str) -> bool | None:
        value = self.get(key)
        if value is not None and not isinstance(value, bool):
            raise self.fail(key, f"expected true or false, got {_what(value)} {value!r}")
        return value

    def choice(self, key: str, options: Mapping[str, _T], default: _T | None = None) -> _T:
        value = self.get(key)
        if value is None and default is not None:
            return default
        if not isinstance(value, str) or value not in options:
            shown = "missing" if value is None else f"{_what(value)} {value!r}"
            raise self.fail(key, f"expected one of {', '.join(map(repr, options))}, got {shown}")
        return options[value]

    def tables(self, key: str) -> list[object]:
        value = self.get(key)
        if not isinstance(value, list) or not value:
            shown = "missing" if value is None else f"{_what(value)}"
            raise self.fail(key, f"expected one [[{key}]] table or more, got {shown}")
        return value

    def strings(self, key: str) -> list[str]:
        value = self.get(key)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
            raise self.fail(key, f"expected an array of non-empty strings, got {value!r}")
        return value

    def done(self) -> None:
        """Every key of the table was asked for: a misspelt one is an error, not a silent default."""
        unknown = [key for key in self.raw if key not in self._asked]
        if unknown:
            raise CatalogueError(
                f"{self.where}: unknown key {', '.join(map(repr, unknown))} (known: {', '.join(sorted(self._asked))})"
            )


class _Builder:
    """Builds entries from their tables, expanding the names of [references] and [phrases] they use."""

    def __init__(self, references: dict[str, str], phrases: dict[str, str], source: str) -> None:
        self.references = references
        self.phrases = phrases
        self.source = source
        self.used: set[str] = set()

    def entry(self, raw: object, index: int) -> Entry:
        table = _Table(raw, f"{self.source}: entry {index}")
        key = table.text("key")
        if not _KEY.match(key):
            raise table.fail("key", f"expected lower-case words joined by '-', got {key!r}")
        table.where = f"{self.source}: entry {key!r}"
        kind = table.choice("kind", _ENTRY_KINDS)
        entry = Entry(
            key=key,
            vendor=table.text("vendor"),
            name=table.text("name"),
            kind=kind,
            recognised_by=table.text("recognised_by"),
            advice=tuple(self.expand(table, "advice", line) for line in table.strings("advice")),
            numbers=tuple(
                self.number(raw_number, f"{table.where}, number {n}")
                for n, raw_number in enumerate(table.tables("number"), 1)
            ),
            pooler=self.pooler(table.get("pooler"), f"{table.where}, pooler"),
            fails_over=self.expand(table, "fails_over", text) if (text := table.optional_text("fails_over")) else None,
        )
        table.done()
        if kind is EntryKind.MIDDLEBOX and not entry.limits():
            # A [network] middlebox preset supplies its first published number as the idle timeout.
            raise CatalogueError(f"{table.where}: a middlebox needs a number with 'seconds'")
        return entry

    def number(self, raw: object, where: str) -> Number:
        table = _Table(raw, where)
        seconds = table.get("seconds")
        # An int stays an int (350, not 350.0): the JSON report shows the number as written.
        if seconds is not None and (
            isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 < seconds < math.inf
        ):
            raise table.fail("seconds", f"expected a positive number of seconds, got {seconds!r}")
        note = table.optional_text("note")
        if seconds is None and note is None:
            raise CatalogueError(
                f"{where}: no 'seconds' says the vendor publishes no number, and then a 'note' must say so"
            )
        number = Number(
            name=table.text("name"),
            seconds=seconds,
            shape=table.choice("shape", _SHAPES),
            label=table.text("label"),
            reference=self.reference(table),
            layer=table.choice("layer", _LAYERS, Layer.NETWORK),
            refreshed_by_keepalives=table.flag("refreshed_by_keepalives") or False,
            kind=table.choice("kind", _NUMBER_KINDS, "idle"),
            configurable=table.optional_text("configurable"),
            note=None if note is None else self.expand(table, "note", note),
            verified=table.flag("verified") or False,
        )
        table.done()
        return number

    def pooler(self, raw: object | None, where: str) -> Pooler | None:
        if raw is None:
            return None
        table = _Table(raw, where)
        mode = None if table.get("mode") is None else table.choice("mode", _POOL_MODES)
        note = table.optional_text("note")
        if mode is None and note is None:
            raise CatalogueError(f"{where}: no 'mode' says the user chooses it, and then a 'note' must say so")
        settings = _strings_table(table.get("settings"), f"{where}.settings")
        pooler = Pooler(
            software=table.text("software"),
            mode=mode,
            prepared_statements=table.flag("prepared_statements"),
            settings=tuple(settings.items()),
            note=None if note is None else self.expand(table, "note", note),
        )
        table.done()
        return pooler

    def reference(self, table: _Table) -> str:
        """`reference` names one document of [references], or several (joined with "; ")."""
        value = table.get("reference")
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, list) or not names or not all(isinstance(name, str) for name in names):
            raise table.fail("reference", f"expected a [references] name or an array of them, got {value!r}")
        for name in names:
            if name not in self.references:
                raise table.fail("reference", f"{name!r} is not in [references]")
            self.used.add(name)
        return "; ".join(self.references[name] for name in names)

    def expand(self, table: _Table, key: str, text: str) -> str:
        """`{name}` stands for a [phrases] text or a [references] document; any other brace is an error."""

        def named(match: re.Match[str]) -> str:
            name = match.group(1)
            known = self.phrases.get(name, self.references.get(name))
            if known is None:
                raise table.fail(key, f"{{{name}}} is not in [phrases] or [references]")
            self.used.add(name)
            return known

        if "{" in _PLACEHOLDER.sub("", text) or "}" in _PLACEHOLDER.sub("", text):
            raise table.fail(key, f"a brace that is not a {{name}}: {text!r}")
        return _PLACEHOLDER.sub(named, text)


def _strings_table(raw: object, where: str) -> dict[str, str]:
    if raw is None:
        return {}
    table = _Table(raw, where)
    strings: dict[str, str] = {}
    for key, value in table.raw.items():  # in the file's order: a pooler's settings are shown in it
        if not isinstance(value, str):
            raise table.fail(key, f"expected a string, got {_what(value)} {value!r}")
        strings[key] = value
    return strings


def parse_catalogue(text: str, source: str = CATALOGUE_FILE) -> tuple[Entry, ...]:
    """The entries the catalogue's TOML text holds, in its order; CatalogueError says what is wrong, and where."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # a key given twice in one table is one of these
        raise CatalogueError(f"{source}: not valid TOML: {exc}") from None
    top = _Table(raw, source)
    references = _strings_table(top.get("references"), f"{source}: [references]")
    phrases = _strings_table(top.get("phrases"), f"{source}: [phrases]")
    both = sorted(references.keys() & phrases.keys())
    if both:
        raise CatalogueError(f"{source}: {', '.join(map(repr, both))} both in [references] and in [phrases]")
    raw_entries = top.tables("entry")
    top.done()
    builder = _Builder(references, phrases, source)
    entries: list[Entry] = []
    first_index: dict[str, int] = {}
    for index, raw_entry in enumerate(raw_entries, 1):
        entry = builder.entry(raw_entry, index)
        if entry.key in first_index:
            raise CatalogueError(f"{source}: entries {first_index[entry.key]} and {index} both have key {entry.key!r}")
        first_index[entry.key] = index
        entries.append(entry)
    for table_name, names in (("references", references), ("phrases", phrases)):
        for name in names:
            if name not in builder.used:
                raise CatalogueError(f"{source}: [{table_name}] {name!r} is used by no entry")
    return tuple(entries)


@cache
def load_catalogue() -> tuple[Entry, ...]:
    """The catalogue shipped with pool-doctor, read and checked once per process."""
    text = resources.files("pool_doctor.platforms").joinpath(CATALOGUE_FILE).read_text(encoding="utf-8")
    return parse_catalogue(text)


# Read when pool_doctor.platforms is first imported, which the CLI does only in the commands that need it.
CATALOGUE: tuple[Entry, ...] = load_catalogue()

_BY_KEY: Mapping[str, Entry] = MappingProxyType({entry.key: entry for entry in CATALOGUE})


def keys(kind: EntryKind | None = None) -> list[str]:
    """The known keys, in catalogue order (of one kind, if given)."""
    return [entry.key for entry in CATALOGUE if kind is None or entry.kind is kind]


def _lookup(key: str, kind: EntryKind, what: str) -> Entry:
    entry = _BY_KEY.get(key.strip().lower())
    if entry is None or entry.kind is not kind:
        raise ValueError(f"unknown {what} {key!r}; known: {', '.join(keys(kind))}")
    return entry


def by_key(key: str) -> Entry:
    """The platform `--platform KEY` / `[network] platform = "KEY"` names; ValueError lists the known keys."""
    return _lookup(key, EntryKind.PLATFORM, "platform")


def middlebox_preset(key: str) -> Entry:
    """The middlebox `[network] middlebox = "KEY"` names; ValueError lists the known keys."""
    return _lookup(key, EntryKind.MIDDLEBOX, "middlebox")
