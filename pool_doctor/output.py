"""Every character a run writes to stdout and stderr passes here: the run's passwords masked in each of their
forms (redact.scrub), control characters that are not pool-doctor's own layout or colour escaped, and text
the stream's encoding cannot hold (PYTHONIOENCODING=ascii, a Latin-1 terminal) spelt in ASCII.

The renderers never print a secret or raw server text by construction; this is the last line of defence, for
the JSON document, the TOML file written through `>`, the table, a driver's warning and the error line alike.
cli.main wraps the run in `guarded(secrets)`, which puts the streams back however the run ends.
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Iterable, Iterator
from typing import IO, Any

from pool_doctor.redact import scrub

# The escape sequences rich writes itself: colours and styles (SGR), and what a live progress bar needs to
# redraw its line (erase in line, cursor moves, hide and show the cursor). A server's clear-screen, window title
# or colours are text pool-doctor read, escaped where it was read (redact.printable); this catches the rest.
_OWN_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[mKABCDGhl]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # \t, \n and \r are layout

# What an ASCII (or other narrow) stream gets instead of the characters pool-doctor's own text uses.
_ASCII = str.maketrans(
    {
        "\u00b7": "-",
        "\u2500": "-",
        "\u2501": "-",
        "\u2502": "|",
        "\u2503": "|",
        "\u2026": "...",
        "\u2014": "--",
        "\u2013": "-",
        "\u2264": "<=",
        "\u2265": ">=",
        "\u2248": "~",
        "\u00d7": "x",
        "\u2192": "->",
        "\u2190": "<-",
        "\u2713": "ok",
        "\u2714": "ok",
        "\u2717": "x",
        "\u2718": "x",
        "\u00b1": "+/-",
        "\u00b5": "u",
        "\u201c": '"',
        "\u201d": '"',
        "\u2018": "'",
        "\u2019": "'",
        "\u2588": "#",
        "\u2591": ".",
        "\u258f": "|",
        "\u2578": "-",
        "\u257a": "-",
    }
)


def safe_text(text: str) -> str:
    """Control characters that are not layout or pool-doctor's own escapes, written as escapes."""
    if not _CONTROL.search(text):
        return text
    out, last = [], 0
    for match in _OWN_ESCAPE.finditer(text):
        out.append(_escape(text[last : match.start()]))
        out.append(match.group())
        last = match.end()
    out.append(_escape(text[last:]))
    return "".join(out)


def _escape(text: str) -> str:
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def encodable(text: str, encoding: str) -> str:
    """`text` as `encoding` can write it: pool-doctor's own symbols in ASCII, anything else as an escape."""
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return text.translate(_ASCII).encode(encoding, "backslashreplace").decode(encoding)
    except LookupError:  # an encoding Python does not know: ASCII is what any terminal shows
        return text.translate(_ASCII).encode("ascii", "backslashreplace").decode("ascii")
    return text


_TRAILING = re.compile(r" +((?:\x1b\[[0-9;]*m)*)\n")


class GuardedStream:
    """A text stream that scrubs, escapes and encodes what is written, then hands it to `stream`.

    It has no `buffer`: click would write around a text stream whose encoding it finds wanting through the
    binary buffer beneath it, and so around the guard."""

    def __init__(self, stream: IO[str], secrets: Iterable[str]) -> None:
        self._stream = stream
        self._secrets = secrets
        self._spaces = ""  # spaces at the end of the last write: dropped if a newline comes next

    @property
    def encoding(self) -> str:
        return getattr(self._stream, "encoding", None) or "utf-8"

    @property
    def errors(self) -> str:
        return "strict"

    def write(self, text: str) -> int:
        if not isinstance(text, str):  # click asks whether this is a binary stream by writing b""
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        if text:
            self._stream.write(encodable(safe_text(scrub(self._trimmed(text), tuple(self._secrets))), self.encoding))
        return len(text)

    def _trimmed(self, text: str) -> str:
        """No line ends in spaces (rich pads table rows and wrapped text to the width): spaces before a newline,
        before the colour codes that end a line, or at the end of this write when the next starts a line."""
        text = _TRAILING.sub(r"\1\n", self._spaces + text)
        stripped = text.rstrip(" ")
        self._spaces = text[len(stripped) :]
        return stripped

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self._spaces:  # a prompt's "Password: " waits no longer
            self._stream.write(self._spaces)
            self._spaces = ""
        self._stream.flush()

    def isatty(self) -> bool:
        return bool(self._stream.isatty())

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    def __getattr__(self, name: str) -> Any:
        if name == "buffer":
            raise AttributeError(name)
        return getattr(self._stream, name)


MAX_ERROR = 1000  # characters of an error line: a 120 KB URL is not worth a 120 KB line


def error_line(message: str, secrets: Iterable[str]) -> str:
    """`pool-doctor: error: <one line>`: scrubbed whole, then cut (no cut can leave part of a secret)."""
    line = " ".join(scrub(message, tuple(secrets)).split())
    if len(line) > MAX_ERROR:
        line = f"{line[:MAX_ERROR]}... ({len(line) - MAX_ERROR} more characters)"
    return f"pool-doctor: error: {line}\n"


@contextlib.contextmanager
def guarded(secrets: Iterable[str]) -> Iterator[None]:
    """Meanwhile, sys.stdout and sys.stderr are GuardedStreams over what they were; put back afterwards."""
    saved = sys.stdout, sys.stderr
    sys.stdout = GuardedStream(saved[0], secrets)
    sys.stderr = GuardedStream(saved[1], secrets)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
