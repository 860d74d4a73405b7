"""The recommendation as edits of the app's code: a unified diff (`recommend --format diff`, `fix --dry-run`),
or what `fix` changed. What no edit could do goes to stderr as warnings, so the diff stays clean."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text

from pool_doctor.render import stderr_console, write

if TYPE_CHECKING:
    from rich.console import Console

    from pool_doctor.edit import AppEdit


def render_diff(found: AppEdit, out: Console) -> None:
    _notes(found)
    write(out, found.diff())


def render_fix(found: AppEdit, written: list[str], out: Console) -> None:
    _notes(found)
    if not written and found.notes:  # (the recommended values are not in the code: not an all-clear)
        out.print(Text("Nothing changed: set by hand what the warnings above name.", style="yellow"))
        return
    if not written:
        out.print(Text("Nothing to change: the app's code already has the recommended values.", style="green"))
        return
    out.print(Text(f"Changed {len(written)} file(s): {', '.join(written)}", style="bold"), soft_wrap=True)
    for where, changes in found.changes.items():
        out.print(Text(where, style="bold"))
        for change in changes:
            out.print(Text(f"  {change}"), soft_wrap=True)


def _notes(found: AppEdit) -> None:
    for note in found.notes:
        stderr_console().print(f"pool-doctor: warning: {note}", style="yellow", markup=False, soft_wrap=True)
