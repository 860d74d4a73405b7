"""The managed services and middleboxes an app's connections cross, as their vendors document them.

    entry      - one entry per service: its documented limits (as path `Limit`s), pooler facts, advice
    catalogue  - the entries, read once from catalogue.toml (package data) and checked; lookups by key
    recognise  - which entry a URL's host and port name, with the evidence; overrides by key
    runtime    - where the app itself runs (serverless, Kubernetes) and what that does to a pool

Pure data and pure functions: no I/O beyond reading the catalogue's own file, no name resolution.
"""

from pool_doctor.platforms.catalogue import CATALOGUE, by_key, keys, middlebox_preset
from pool_doctor.platforms.entry import Entry, EntryKind, Number, Pooler
from pool_doctor.platforms.recognise import Recognised, chosen, recognise
from pool_doctor.platforms.runtime import Runtime, detect_runtime

__all__ = [
    "CATALOGUE",
    "Entry",
    "EntryKind",
    "Number",
    "Pooler",
    "Recognised",
    "Runtime",
    "by_key",
    "chosen",
    "detect_runtime",
    "keys",
    "middlebox_preset",
    "recognise",
]
