"""Claims: the flat (event, source, value) triples every truth-discovery baseline consumes.

Baselines see one point per report on the metric's model scale. They cannot use censoring:
an ``at_least`` figure becomes its lower bound and an ``at_most`` figure its upper bound, so
"more than 50" is read as 50. The outlet model keeps the interval; that is part of why it
should beat these baselines.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from reliability.frames import QUANTITY_KEY
from reliability.records import FigureKind
from reliability.scales import FloatArray, Scale

IntArray = npt.NDArray[np.intp]

_REQUIRED_COLUMNS = (*QUANTITY_KEY, "outlet", "low", "high", "kind")
_KINDS = tuple(kind.value for kind in FigureKind)


@dataclass(frozen=True)
class Claims:
    """Claims as parallel arrays: claim ``i`` says source ``source[i]`` put event
    ``event[i]`` at ``value[i]`` (model scale).

    Every event and every source must have at least one claim, so each truth and each source
    score is defined.

    >>> import numpy as np
    >>> claims = Claims(
    ...     event=np.array([0, 0, 1]), source=np.array([0, 1, 1]),
    ...     value=np.array([1.0, 3.0, 2.0]), n_events=2, n_sources=2,
    ... )
    >>> claims.n_claims
    3
    """

    event: IntArray
    source: IntArray
    value: FloatArray
    n_events: int
    n_sources: int

    def __post_init__(self) -> None:
        for name in ("event", "source", "value"):
            array = getattr(self, name)
            if not isinstance(array, np.ndarray) or array.ndim != 1:
                raise ValueError(f"Claims.{name} must be a one-dimensional numpy array")
        if not (len(self.event) == len(self.source) == len(self.value)):
            raise ValueError(
                "Claims.event, Claims.source and Claims.value must have the same length, got "
                f"{len(self.event)}, {len(self.source)} and {len(self.value)}"
            )
        if len(self.value) == 0:
            raise ValueError("Claims must hold at least one claim")
        if not np.issubdtype(self.value.dtype, np.floating):
            raise ValueError(f"Claims.value must be float, got dtype {self.value.dtype}")
        bad = np.flatnonzero(~np.isfinite(self.value))
        if bad.size:
            raise ValueError(f"Claims.value[{bad[0]}] is {self.value[bad[0]]}, not finite")
        _check_codes("event", self.event, self.n_events)
        _check_codes("source", self.source, self.n_sources)

    @property
    def n_claims(self) -> int:
        return len(self.value)

    def event_std(self) -> FloatArray:
        """Population standard deviation of each event's claims (0 for single-claim events)."""
        count = np.bincount(self.event, minlength=self.n_events)
        mean = np.bincount(self.event, weights=self.value, minlength=self.n_events) / count
        squared = (self.value - mean[self.event]) ** 2
        variance = np.bincount(self.event, weights=squared, minlength=self.n_events) / count
        return np.sqrt(variance)

    @classmethod
    def from_frame(
        cls, reports: pl.DataFrame, scale: Scale
    ) -> tuple[Claims, pl.DataFrame, pl.DataFrame]:
        """Point claims from a canonical reports frame (:data:`reliability.frames.REPORTS`).

        Each report becomes one point on ``scale``: ``at_least`` -> f(low), ``at_most`` ->
        f(high), and ``exact``/``range``/``approximate`` -> the midpoint of f(low) and f(high)
        (for an exact figure low = high, so this is the value itself).

        Returns the claims, the event key frame (``event_id``, ``metric``, ``stratum``; row
        ``k`` is event code ``k``) and the source frame (``outlet``; row ``k`` is source code
        ``k``). Codes follow the sorted keys, so reordering the reports does not change them.

        >>> import polars as pl
        >>> reports = pl.DataFrame({
        ...     "event_id": ["e1", "e1", "e2"], "metric": ["killed"] * 3,
        ...     "stratum": [None, None, None], "outlet": ["b", "a", "a"],
        ...     "low": [9.0, 10.0, 4.0], "high": [9.0, float("inf"), 8.0],
        ...     "kind": ["exact", "at_least", "range"],
        ... })
        >>> claims, events, sources = Claims.from_frame(reports, Scale.LINEAR)
        >>> claims.value.tolist(), claims.event.tolist(), claims.source.tolist()
        ([9.0, 10.0, 6.0], [0, 0, 1], [1, 0, 0])
        >>> sources["outlet"].to_list()
        ['a', 'b']
        """
        missing = [name for name in _REQUIRED_COLUMNS if name not in reports.columns]
        if missing:
            raise ValueError(f"reports frame is missing column(s) {missing}")
        if reports.height == 0:
            raise ValueError("reports frame has no rows: there is nothing to fit")
        for name in ("event_id", "metric", "outlet", "kind"):
            _fail_on_first(reports[name].is_null().to_numpy(), name, "is null")
        kind = reports["kind"].cast(pl.String)
        _fail_on_first(
            (~kind.is_in(_KINDS)).to_numpy(), "kind", f"is not one of {', '.join(_KINDS)}"
        )
        value = _point(reports, kind, scale)

        keys = reports.select(QUANTITY_KEY).unique().sort(QUANTITY_KEY, nulls_last=True)
        events = keys.with_row_index("code")
        sources = reports.select("outlet").unique().sort("outlet").with_row_index("code")
        coded = reports.select(*QUANTITY_KEY, "outlet").with_row_index("row")
        coded = (
            coded.join(events, on=QUANTITY_KEY, how="left", nulls_equal=True)
            .rename({"code": "event"})
            .join(sources, on="outlet", how="left")
            .rename({"code": "source"})
            .sort("row")
        )
        claims = cls(
            event=coded["event"].to_numpy().astype(np.intp),
            source=coded["source"].to_numpy().astype(np.intp),
            value=value,
            n_events=events.height,
            n_sources=sources.height,
        )
        return claims, keys, sources.drop("code")


def _point(reports: pl.DataFrame, kind: pl.Series, scale: Scale) -> FloatArray:
    """One model-scale point per report, failing on the first bound a kind needs but lacks."""
    kinds = kind.to_numpy()
    low = reports["low"].cast(pl.Float64).to_numpy()
    high = reports["high"].cast(pl.Float64).to_numpy()
    needs_low = kinds != FigureKind.AT_MOST.value
    needs_high = kinds != FigureKind.AT_LEAST.value
    for name, bound, needed in (("low", low, needs_low), ("high", high, needs_high)):
        _fail_on_first(
            needed & ~np.isfinite(bound),
            name,
            "is null or infinite, but the figure kind needs a finite bound there",
        )
    f_low = scale.forward(np.where(needs_low, low, 0.0))
    f_high = scale.forward(np.where(needs_high, high, 0.0))
    return np.where(
        kinds == FigureKind.AT_LEAST.value,
        f_low,
        np.where(kinds == FigureKind.AT_MOST.value, f_high, (f_low + f_high) / 2),
    )


def _fail_on_first(bad: npt.NDArray[np.bool_], column: str, problem: str) -> None:
    rows = np.flatnonzero(bad)
    if rows.size:
        more = f" (and {rows.size - 1} more rows)" if rows.size > 1 else ""
        raise ValueError(f"reports row {rows[0]} (0-based), column {column!r}: {problem}{more}")


def _check_codes(name: str, codes: IntArray, n: int) -> None:
    if not np.issubdtype(codes.dtype, np.integer):
        raise ValueError(f"Claims.{name} must hold integer codes, got dtype {codes.dtype}")
    out = np.flatnonzero((codes < 0) | (codes >= n))
    if out.size:
        raise ValueError(f"Claims.{name}[{out[0]}] = {codes[out[0]]} is outside 0..{n - 1}")
    empty = np.flatnonzero(np.bincount(codes, minlength=n) == 0)
    if empty.size:
        raise ValueError(f"{name} {empty[0]} has no claims: every {name} needs at least one")


def check_iteration(max_iter: int, tol: float) -> None:
    """Reject an iteration schedule the iterative baselines cannot run."""
    if max_iter < 1:
        raise ValueError(f"max_iter must be at least 1, got {max_iter}")
    if not 0 <= tol < np.inf:
        raise ValueError(f"tol must be a finite non-negative number, got {tol}")
