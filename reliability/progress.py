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
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn


def wanted(*, quiet: bool) -> bool:
    """Whether to show progress: stderr is a terminal and the user did not ask for quiet."""
    return not quiet and sys.stderr.isatty()


class Phases:
    """Named phases of a job, each timed and, when enabled, shown with a spinner."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self.seconds: dict[str, float] = {}

    @contextmanager
    def phase(self, description: str) -> Iterator[None]:
        start = time.perf_counter()
        if not self.enabled:
            yield
            self.seconds[description] = time.perf_counter() - start
            return
        columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
        with Progress(*columns, console=Console(stderr=True)) as bar:
            task = bar.add_task(description, total=None)
            yield
            bar.update(task, total=1, completed=1)
        self.seconds[description] = time.perf_counter() - start
