"""Progress display for long commands: a spinner and elapsed time per phase, on stderr.

It shows only when stderr is a terminal, so logs and pipes stay clean, and ``--quiet``
switches it off. Phases also record their wall time for the job summary.

>>> phases = Phases(enabled=False)
>>> with phases.phase("loading"):
...     pass
>>> list(phases.seconds)
['loading']
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

#: Reports a step inside a phase: its label, steps done and steps in all.
Advance = Callable[[str, int, int], None]


def _ignore(label: str, done: int, total: int) -> None:
    """The progress callback when nothing is shown."""


def wanted(*, quiet: bool) -> bool:
    """Whether to show progress: stderr is a terminal and the user did not ask for quiet."""
    return not quiet and sys.stderr.isatty()


class Phases:
    """Named phases of a job, each timed and, when enabled, shown with a spinner."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self.seconds: dict[str, float] = {}

    @contextmanager
    def phase(self, description: str) -> Iterator[Advance]:
        """Time a phase; the yielded callback shows its steps (for example folds) as they end."""
        start = time.perf_counter()
        if not self.enabled:
            yield _ignore
            self.seconds[description] = time.perf_counter() - start
            return
        columns = (
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=Console(stderr=True)) as bar:
            task = bar.add_task(description, total=None)

            def advance(label: str, done: int, total: int) -> None:
                bar.update(task, description=f"{description}: {label}", completed=done, total=total)

            yield advance
            bar.update(task, description=description, total=1, completed=1)
        self.seconds[description] = time.perf_counter() - start
