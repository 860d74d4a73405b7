"""Reading a file a user names, bounded: a regular file only (a FIFO would block, /dev/zero never ends), up to
a size, as UTF-8 text; every failure one UsageError naming the file. And nested data checked for depth, so
no reader of it recurses past Python's limit.

No open() here can block: the file is opened non-blocking and checked with fstat before a byte is read.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from pool_doctor.errors import PoolDoctorError, UsageError

CONFIG_LIMIT = 1 << 20  # a config, a service file or a pgpass file past 1 MiB is not one
LINE_LIMIT = 1 << 20  # one JSON line the monitor writes is a few KiB
MAX_DEPTH = 32  # tables and arrays nested deeper than any config or record pool-doctor reads


def kind_of(mode: int) -> str:
    """What a non-regular file is, for the error."""
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def open_regular(path: str | os.PathLike[str], what: str, error: type[PoolDoctorError] = UsageError) -> IO[bytes]:
    """`path` opened for reading, refused unless it is a regular file (without blocking on a FIFO); `error`:
    the error to raise (ConfigError for a config file; both exit 2)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise error(f"{what} {path} does not exist") from None
    except IsADirectoryError:
        raise error(f"{what} {path} is a directory, not a file") from None
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise error(f"{what} {path} is {kind_of(mode)}, not a regular file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bytes(
    path: str | os.PathLike[str], what: str, limit: int = CONFIG_LIMIT, error: type[PoolDoctorError] = UsageError
) -> bytes:
    """The whole of a regular file of at most `limit` bytes."""
    with open_regular(path, what, error) as stream:
        try:
            data = stream.read(limit + 1)
        except OSError as exc:
            raise error(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise error(f"{what} {path} is larger than {limit // 1024} KiB: not a {what}")
    return data


def read_text(
    path: str | os.PathLike[str], what: str, limit: int = CONFIG_LIMIT, error: type[PoolDoctorError] = UsageError
) -> str:
    """read_bytes, as UTF-8 text."""
    try:
        return read_bytes(path, what, limit, error).decode("utf-8")
    except UnicodeDecodeError:
        raise error(f"{what} {path} is not UTF-8 text") from None


def lines(stream: IO[str], name: str, limit: int = LINE_LIMIT) -> Iterator[tuple[int, str]]:
    """(number, line) of a text stream, one at a time, none longer than `limit` characters: memory stays
    bounded whatever the stream holds (/dev/zero through stdin is one endless line)."""
    number = 0
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        number += 1
        if len(line) > limit and not line.endswith("\n"):
            raise UsageError(f"{name} line {number} is longer than {limit // 1024} KiB: not a pool_doctor.monitor log")
        yield number, line


_SCALARS = (str, int, float, bool, type(None))


def depth(data: Any) -> int:
    """How deeply tables and arrays nest in `data` (0 for a plain value), without recursion. (Built-in types
    are tested first: the monitor's every record passes here, and an ABC check costs ten times more.)"""
    deepest = 0
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, level = stack.pop()
        if type(value) is dict or (not isinstance(value, _SCALARS) and isinstance(value, Mapping)):
            children: Any = value.values()
        elif isinstance(value, list | tuple):
            children = value
        else:
            continue
        level += 1
        deepest = max(deepest, level)
        if level > MAX_DEPTH:
            return level
        stack.extend((child, level) for child in children if not isinstance(child, _SCALARS))
    return deepest


def check_depth(data: Any, what: str, error: type[PoolDoctorError] = UsageError) -> None:
    """A UsageError when `data` nests deeper than MAX_DEPTH."""
    if depth(data) > MAX_DEPTH:
        raise error(f"{what} nests tables or arrays more than {MAX_DEPTH} deep")


def is_regular(path: Path) -> bool:
    """True for a regular file (without opening it)."""
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return False


def is_python_script(path: Path) -> bool:
    """An executable script of Python with no `.py` in its name (`bin/manage-db`): a regular file whose first
    line is a `#!` naming python (read without blocking on a FIFO or a device)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        first = os.read(fd, 128).split(b"\n", 1)[0]
    except OSError:
        return False
    finally:
        os.close(fd)
    return first.startswith(b"#!") and b"python" in first
