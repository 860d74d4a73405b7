"""The recommendation applied to the app's own code (`recommend --app --format diff`, `fix --app`): each pool's
call edited in place with libcst, its values merged key by key, everything else kept as it is.

    found = edit_app(report)      # a CheckReport with --app pools, each with its recommendation
    found.diff()                  # a unified diff: `git apply` and `patch -p1` take it
    found.write()                 # fix: the changed files written, the others untouched
"""

from __future__ import annotations

import difflib
import os
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pool_doctor.edit.plan import Edit, PoolPlan, plan
from pool_doctor.edit.source import apply
from pool_doctor.errors import UsageError
from pool_doctor.stacks import stack_of

if TYPE_CHECKING:
    from pool_doctor.check import CheckReport

MAX_SOURCE_BYTES = 4_000_000  # a pool's file larger than this is not one pool-doctor edits


@dataclass
class AppEdit:
    """The app's files before and after, and what no edit could do."""

    files: dict[str, tuple[str, str]] = field(default_factory=dict)  # path as the scan shows it -> (old, new)
    # Each pool (file:line) -> what changed: "pool_recycle = 300 (was 3600, app/config.py:9)".
    changes: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # Each pool's file:line -> its call as the code reads after the edits, with each edited line elsewhere.
    snippets: dict[str, str] = field(default_factory=dict)

    @property
    def changed(self) -> dict[str, tuple[str, str]]:
        return {path: (old, new) for path, (old, new) in self.files.items() if old != new}

    def diff(self) -> str:
        """A unified diff of every changed file, `a/` and `b/` before the path as the scan shows it."""
        out: list[str] = []
        for path, (old, new) in self.changed.items():
            name = _relative(path)
            out += difflib.unified_diff(
                old.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{name}", f"b/{name}"
            )
        return "".join(out)

    def write(self) -> list[str]:
        """The changed files written in place (each whole, through a temporary file); the paths written."""
        written = []
        for path, (_, new) in self.changed.items():
            target = Path(path)
            temporary = target.with_name(f".{target.name}.pool-doctor")
            temporary.write_text(new, encoding="utf-8")
            os.replace(temporary, target)
            written.append(path)
        return written


def edit_app(report: CheckReport) -> AppEdit:
    """Each --app pool's recommendation as edits of the app's code."""
    found = AppEdit()
    by_file: dict[str, list[Edit]] = {}
    planned_pools = []
    wanted = {
        pool.app.where: {
            key: value for reason in pool.recommendation.reasons for key, value in reason.changes().items()
        }
        for pool in report.pools
        if pool.recommendation is not None and pool.app.scanned is not None
    }
    for pool in report.pools:
        scanned, changes = pool.app.scanned, wanted.get(pool.app.where)
        if scanned is None or changes is None:
            continue
        shared = pool.app.shared  # (a key every pool of a wrapper's engine call is to get alike is added there)
        agreed = {
            key for key, value in changes.items() if all(wanted.get(o, {}).get(key, ...) == value for o in shared)
        }
        planned = plan(scanned, stack_of(pool.app.settings.pool), changes, shared, agreed)
        planned_pools.append(planned)
        found.notes += planned.notes
        for edit in planned.edits:
            if edit not in by_file.setdefault(edit.file, []):  # (the pools sharing the call add the key once)
                by_file[edit.file].append(edit)
    skipped: list[Edit] = []
    for path, edits in by_file.items():
        old = _read(path)
        applied = apply(old, edits, path)
        found.files[path] = (old, applied.source)
        found.notes += applied.missed
        skipped += applied.skipped
    for planned in planned_pools:
        for edit in (e for e in planned.edits if e not in skipped):  # (what was changed)
            where = "" if edit.kind == "add" or edit.file == planned.pool.file else f", {edit.file}:{edit.line}"
            was = "" if edit.kind == "add" else f" (was {edit.old!r}{where})"
            found.changes.setdefault(planned.pool.where, []).append(f"{'.'.join(edit.keys)} = {_shown(edit.new)}{was}")
        found.snippets[planned.pool.where] = _snippet(found, planned)
    return found


def _snippet(found: AppEdit, planned: PoolPlan) -> str:
    """The pool's call as its file reads after the edits (dedented), then each line edited elsewhere under
    a `# file:line` comment: what `--format python` shows for a pool --app found."""
    pool = planned.pool
    old, new = found.files.get(pool.file) or (_read(pool.file),) * 2
    start, end = _moved(old, new, pool.line, max(pool.end_line, pool.line))
    lines = [textwrap.dedent("".join(new.splitlines(keepends=True)[start - 1 : end])).rstrip("\n")]
    for edit in planned.edits:
        if edit.file == pool.file and pool.line <= edit.line <= pool.end_line:
            continue  # (an add in a wrapper's engine call is shown as an edit elsewhere)
        file_old, file_new = found.files[edit.file]
        line = _moved(file_old, file_new, edit.line, edit.line)[0]
        lines += ["", f"# {edit.file}:{line}", file_new.splitlines()[line - 1].strip()]
    return "\n".join(lines) + "\n"


def _moved(old: str, new: str, start: int, end: int) -> tuple[int, int]:
    """Where lines start..end (1-based) of `old` are in `new`: shifted by lines added above, and the end
    past the lines an edit added inside them."""
    matcher = difflib.SequenceMatcher(None, old.splitlines(), new.splitlines(), autojunk=False)

    def mapped(line: int, last: bool) -> int:
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if i1 <= line - 1 < i2:  # an insert spans no old line: lines added above only shift this one
                return j1 + (line - 1 - i1) + 1 if tag == "equal" else (max(j2, j1 + 1) if last else j1 + 1)
        return line

    return mapped(start, False), mapped(end, True)


def _read(path: str) -> str:
    file = Path(path)
    try:
        if file.stat().st_size > MAX_SOURCE_BYTES:
            raise UsageError(f"{path} is over {MAX_SOURCE_BYTES // 1_000_000} MB: pool-doctor does not edit it")
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path} to edit it: {exc}") from None


def _relative(path: str) -> str:
    """The path for a diff: relative to the working directory (the project root a diff is applied in)."""
    absolute = Path(path).resolve()
    try:
        return absolute.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return Path(path).as_posix().lstrip("/")


def _shown(value: object) -> str:
    return str(value) if type(value).__name__ == "PythonCode" else repr(value)
