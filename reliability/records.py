"""The canonical records: one outlet's report, a settled consensus figure, an outlet entry.

Files use the same column names as these Structs, so the loaders, the estimator, the batch job
and the API agree on what a report is.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Annotated

import msgspec

DEFAULT_METRIC = "killed"

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Text = Annotated[str, msgspec.Meta(max_length=1000)]


class FigureKind(enum.StrEnum):
    """How a figure bounds the quantity it reports."""

    EXACT = "exact"
    AT_LEAST = "at_least"
    AT_MOST = "at_most"
    RANGE = "range"
    APPROXIMATE = "approximate"


class Figure(msgspec.Struct, frozen=True):
    """A reported figure resolved to an interval ``[low, high]`` (infinite bounds allowed)."""

    low: float
    high: float
    kind: FigureKind


class Report(msgspec.Struct, frozen=True, kw_only=True):
    """One outlet's claim about one quantity of one event.

    The figure is given as ``value``, or as ``low``/``high`` bounds, or as ``figure_text``
    (for example ``"more than 50"``), which is parsed when there are no numbers.
    """

    event_id: Name
    outlet: Name
    metric: Name = DEFAULT_METRIC
    value: float | None = None
    low: float | None = None
    high: float | None = None
    figure_text: Text | None = None
    stratum: Name | None = None
    published_at: datetime | None = None
    event_date: date | None = None
    cites: Name | None = None
    report_id: Name | None = None


class Consensus(msgspec.Struct, frozen=True, kw_only=True):
    """The later settled figure for one quantity of an event (``stratum`` null = all sides)."""

    event_id: Name
    metric: Name = DEFAULT_METRIC
    value: float | None = None
    low: float | None = None
    high: float | None = None
    stratum: Name | None = None
    established_at: datetime | None = None
    source: Text | None = None


class Outlet(msgspec.Struct, frozen=True, kw_only=True):
    """An entry of the optional outlet registry. Aliases resolve to ``outlet`` everywhere."""

    outlet: Name
    name: Text | None = None
    group: Name | None = None
    aliases: list[Name] = msgspec.field(default_factory=list)
    country: Name | None = None
