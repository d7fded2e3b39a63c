"""Input problems: what is wrong, and where, in a file a user gave us.

Every loader, the batch job and the CLI report bad input as :class:`Problem` values collected
into one :class:`InputError`, so a user sees all the problems of a file in one run instead of
fixing them one at a time.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

#: How many problems an :class:`InputError` message lists before summarising the rest.
SHOWN_PROBLEMS = 20


class Problem(msgspec.Struct, frozen=True, kw_only=True):
    """One thing wrong with an input file.

    ``row`` is the 1-based data row as a user counts it in the file, not counting the header:
    the first record of a CSV (its second line) is row 1, the first line of an NDJSON file is
    row 1, the first object of a JSON array is row 1. ``None`` means the problem concerns the
    whole file (or the whole column).

    >>> str(Problem(file="reports.csv", row=12, column="value", reason="negative count -3"))
    "reports.csv row 12, column 'value': negative count -3"
    >>> str(Problem(file="reports.csv", reason="file is empty"))
    'reports.csv: file is empty'
    """

    file: str
    row: int | None = None
    column: str | None = None
    reason: str

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        location = " ".join(where)
        if self.column is not None:
            location = f"{location}, column {self.column!r}"
        return f"{location}: {self.reason}"


class InputError(Exception):
    """Input failed validation. ``problems`` holds every problem found, in file order.

    >>> err = InputError([Problem(file="a.csv", row=1, column="outlet", reason="empty outlet")])
    >>> print(err)
    1 problem in the input:
      a.csv row 1, column 'outlet': empty outlet
    """

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__(describe(self.problems))


def describe(problems: list[Problem]) -> str:
    """List up to :data:`SHOWN_PROBLEMS` problems, one a line, and count the rest."""
    count = len(problems)
    lines = [f"{count} problem{'s' if count != 1 else ''} in the input:"]
    lines += [f"  {problem}" for problem in problems[:SHOWN_PROBLEMS]]
    if count > SHOWN_PROBLEMS:
        lines.append(f"  … and {count - SHOWN_PROBLEMS} more")
    return "\n".join(lines)
