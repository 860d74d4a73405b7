"""Progress of the slow commands on stderr, so stdout stays the report."""

from __future__ import annotations

import sys
from typing import IO, Any

from rich.console import Console


class ProbeProgressBar:
    """The probe's steps on stderr (stdout stays the report): a rich bar on a terminal, else one plain line
    a step (CI logs and pipes see that work is going on), or nothing with --quiet."""

    def __init__(self, quiet: bool = False, label: str = "probe", stream: IO[str] | None = None) -> None:
        self._stream = stream or sys.stderr
        self._quiet = quiet
        self._live = not quiet and self._stream.isatty()
        self._label = label
        self._task: Any = None
        self._steps = 0
        self._total = 0
        if self._live:
            from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                TimeElapsedColumn(),
                console=Console(file=self._stream),
                transient=True,
            )

    def __enter__(self) -> ProbeProgressBar:
        if self._live:
            self._progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._live:
            self._progress.stop()

    def start(self, steps: int) -> None:
        self._total = steps
        if self._live:
            self._task = self._progress.add_task(self._label, total=steps)

    def step(self, description: str) -> None:
        self._steps += 1
        if self._quiet:
            return
        if not self._live:
            self._stream.write(f"pool-doctor: {self._label} [{self._steps}/{self._total}] {description}\n")
            self._stream.flush()
            return
        if self._steps > 1:
            self._progress.advance(self._task)
        self._progress.update(self._task, description=description)
