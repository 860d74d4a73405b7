"""What reaches the terminal: secrets masked in every form, text from a server with its control characters
escaped (a real server's names, a stand-in server's error message), output spelt in ASCII where the locale
wants it; and the pure parts (redact, output) table-driven.
"""

from __future__ import annotations

import io
import json
import socket
import struct
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from cli_runner import clean_environment, command, run_in_process
from harness import LocalPostgres

from pool_doctor.output import GuardedStream, encodable, safe_text
from pool_doctor.redact import MASK, is_secret_key, masked, printable, scrub, secret_forms, without_secrets

SECRET = 'Zq9-guard-s3cret:@/ "\\x'


@pytest.mark.parametrize(
    "form",
    [
        SECRET,
        quote(SECRET, safe=""),
        quote(SECRET),
        json.dumps(SECRET)[1:-1],
        repr(SECRET)[1:-1],
        SECRET.replace("\\", "\\\\").replace(":", "\\:"),
    ],
    ids=["raw", "percent", "percent-path", "json", "python", "pgpass"],
)
def test_every_form_of_a_secret_is_masked(form: str) -> None:
    assert form in secret_forms(SECRET)
    assert scrub(f"before {form} after", [SECRET]) == f"before {MASK} after"


def test_keys_named_like_secrets() -> None:
    assert all(is_secret_key(k) for k in ("password", "PASSWORD", "sslpassword", "connect_args.password", "api_token"))
    assert not any(is_secret_key(k) for k in ("passfile", "pool_size", "user", "sslmode"))
    data = {"password": "x", "kwargs": {"sslpassword": "y", "keepalives": 1}, "user": "app"}
    assert masked(data) == {"password": MASK, "kwargs": {"sslpassword": MASK, "keepalives": 1}, "user": "app"}
    assert without_secrets(data) == {"kwargs": {"keepalives": 1}, "user": "app"}


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("\x1b[2J\x1b[Hcleared", "\\x1b[2J\\x1b[Hcleared"),  # clear screen, cursor home
        ("\x1b]0;pwned\x07title", "\\x1b]0;pwned\\x07title"),  # the window's title
        ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),  # colours from a server are text, not colour
        ("tab\tand\nnewline", "tab\tand\nnewline"),
        ("bell\x07 nul\x00 del\x7f c1\x9b", "bell\\x07 nul\\x00 del\\x7f c1\\x9b"),
    ],
)
def test_server_text_is_made_printable(text: str, shown: str) -> None:
    assert printable(text) == shown


def test_the_guard_keeps_its_own_colours_and_escapes_the_rest() -> None:
    own = "\x1b[1;31mcritical\x1b[0m \x1b[2K\x1b[1A"  # rich's colours and a progress bar's redraw
    assert safe_text(own) == own
    assert safe_text("\x1b]0;x\x07\x1b[2J") == "\\x1b]0;x\\x07\\x1b[2J"
    assert encodable("a \u00b7 b \u2500\u2500 \u2026 \u2265 caf\u00e9", "ascii") == "a - b -- ... >= caf\\xe9"
    assert encodable("plain", "ascii") == "plain"
    sink = io.StringIO()
    stream = GuardedStream(sink, [SECRET])
    stream.write(json.dumps({"password": SECRET}) + "\x1b]0;t\x07\n")
    assert sink.getvalue() == '{"password": "***"}\\x1b]0;t\\x07\n'
    with pytest.raises(TypeError):
        stream.write(b"")  # type: ignore[arg-type]  # click's test for a binary stream
    assert not hasattr(stream, "buffer")  # click must not write around the guard


# ------------------------------------------------------------------------------------------------
# A stand-in server whose error message carries escape sequences


EVIL = "\x1b]0;pwned\x07\x1b[2J\x1b[31mno entry\x1b[0m"


class EvilServer:
    """Answers the startup (after turning down TLS and GSS) with a FATAL whose message is EVIL."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            try:
                while True:
                    head = conn.recv(4, socket.MSG_WAITALL)
                    if len(head) < 4:
                        return
                    body = conn.recv(struct.unpack("!I", head)[0] - 4, socket.MSG_WAITALL)
                    if body[:4] in (struct.pack("!I", 80877103), struct.pack("!I", 80877104)):
                        conn.sendall(b"N")  # no TLS, no GSS encryption
                        continue
                    fields = b"".join(
                        key + value.encode() + b"\0"
                        for key, value in ((b"S", "FATAL"), (b"V", "FATAL"), (b"C", "28000"), (b"M", EVIL))
                    )
                    conn.sendall(b"E" + struct.pack("!I", len(fields) + 5) + fields + b"\0")
                    return
            except OSError:
                return

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def evil() -> Iterator[EvilServer]:
    server = EvilServer()
    yield server
    server.close()


@pytest.mark.parametrize("driver", ["asyncpg", "psycopg", "psycopg2"])
def test_a_servers_escape_sequences_never_reach_the_terminal(driver: str, evil: EvilServer, tmp_path: Path) -> None:
    url = f"postgresql+{driver}://app:pw@127.0.0.1:{evil.port}/app"
    done = run_in_process(["check", "--url", url, "--timeout", "5"], env=clean_environment({"HOME": str(tmp_path)}))
    assert done.returncode == 3, done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith("pool-doctor: error: cannot connect to ")
    assert "\\x1b]0;pwned\\x07" in line and "no entry" in line  # shown, as escapes
    assert not any(ch in line for ch in "\x1b\x07"), repr(line)


@pytest.fixture(scope="module")
def server(pg_bindirs: list[Path]) -> Iterator[LocalPostgres]:
    with LocalPostgres(pg_bindirs[0]) as pg:
        yield pg


def test_a_role_named_with_escapes_is_shown_escaped(server: LocalPostgres, tmp_path: Path) -> None:
    """Names come back from the server in the facts (judged as role X, set by ALTER ROLE X)."""
    role = "og_\x1b]0;pwned\x07\x1b[2J"
    server.create_role(role, "og-pw", settings={"idle_session_timeout": "5min"})
    url = f"postgresql+asyncpg://{quote(role, safe='')}:og-pw@127.0.0.1:{server.port}/postgres"
    for fmt in ("table", "markdown"):
        done = run_in_process(
            ["check", "--url", url, "--format", fmt, "--fail-on", "never"],
            env=clean_environment({"HOME": str(tmp_path)}),
        )
        assert done.returncode == 0, done.stderr
        assert "og_\\x1b]0;pwned\\x07\\x1b[2J" in done.stdout
        assert not any(ch in done.stdout + done.stderr for ch in "\x1b\x07")


def test_check_in_an_ascii_locale(server: LocalPostgres, tmp_path: Path) -> None:
    """PYTHONIOENCODING=ascii made check exit 4 (UnicodeEncodeError on "\u00b7"): its report is spelt in ASCII."""
    server.create_role("og_ascii", "og-ascii-pw", settings={"idle_session_timeout": "5min"})
    url = f"postgresql+asyncpg://og_ascii:og-ascii-pw@127.0.0.1:{server.port}/postgres"
    env = clean_environment({"PYTHONIOENCODING": "ascii", "HOME": str(tmp_path)})
    for args in (["check"], ["check", "--format", "markdown"], ["recommend"]):
        done = subprocess.run([*command(), *args, "--url", url], capture_output=True, env=env, timeout=60, check=False)
        assert done.returncode in (0, 1), done.stderr  # recommend: 0, the critical finding has a fix
        text = done.stdout.decode("ascii")  # raises if any byte is not ASCII
        assert "og_ascii" in text and ("idle-session-timeout" in text or "pool_recycle" in text), text
        assert b"Traceback" not in done.stderr
