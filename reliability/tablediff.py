"""What changed between two score tables: shifted, new and dropped outlets, and calibration.

An outlet's bias (or sd) *shifted* when the change exceeds the uncertainty of both estimates:
with 90% half-widths ``h = (hi90 - lo90) / 2`` of the old and new interval,

    |new - old| > sqrt(h_old² + h_new²)

Smaller moves are noise a newsroom should not react to. ``docs/batch-job.md`` explains this.
"""

from __future__ import annotations

import msgspec
import polars as pl

from reliability.table import Accuracy, ScoreTable

PARAMETERS = ("bias", "sd")


class ParameterShift(msgspec.Struct, frozen=True, kw_only=True):
    """An outlet parameter that moved by more than its combined 90% half-widths."""

    outlet: str
    metric: str
    parameter: str
    old: float
    new: float
    delta: float
    threshold: float


class OutletKey(msgspec.Struct, frozen=True, kw_only=True):
    outlet: str
    metric: str
    n_reports: int


class CalibrationChange(msgspec.Struct, frozen=True, kw_only=True):
    """Cross-validated accuracy of the model for one metric, before and after."""

    metric: str
    old: Accuracy | None
    new: Accuracy | None


class TableDiff(msgspec.Struct, frozen=True, kw_only=True):
    old_version: str
    new_version: str
    metrics_added: list[str]
    metrics_dropped: list[str]
    outlets_added: list[OutletKey]
    outlets_dropped: list[OutletKey]
    shifted: list[ParameterShift]
    n_compared: int
    calibration: list[CalibrationChange]


def outlet_frame(table: ScoreTable) -> pl.DataFrame:
    """One row per (outlet, metric) with the table's estimates and 90% bounds as columns.

    >>> from reliability.table import ScoreTable
    >>> from datetime import datetime, UTC
    >>> empty = ScoreTable(schema_version=1, version="v", created_at=datetime.now(UTC), config={},
    ...     inputs=None, metrics=[], groups=[], outlets=[], diagnostics=[])
    >>> outlet_frame(empty).columns[:4]
    ['outlet', 'metric', 'group', 'n_reports']
    """
    rows = table.outlets
    return pl.DataFrame(
        {
            "outlet": [o.outlet for o in rows],
            "metric": [o.metric for o in rows],
            "group": [o.group for o in rows],
            "n_reports": [o.n_reports for o in rows],
            "bias": [o.bias.estimate for o in rows],
            "bias_lo90": [o.bias.lo90 for o in rows],
            "bias_hi90": [o.bias.hi90 for o in rows],
            "factor": [o.factor.estimate if o.factor else None for o in rows],
            "sd": [o.sd.estimate for o in rows],
            "sd_lo90": [o.sd.lo90 for o in rows],
            "sd_hi90": [o.sd.hi90 for o in rows],
            "weight": [o.weight for o in rows],
            "cold_start": [o.cold_start for o in rows],
        },
        schema={
            "outlet": pl.String(),
            "metric": pl.String(),
            "group": pl.String(),
            "n_reports": pl.Int64(),
            "bias": pl.Float64(),
            "bias_lo90": pl.Float64(),
            "bias_hi90": pl.Float64(),
            "factor": pl.Float64(),
            "sd": pl.Float64(),
            "sd_lo90": pl.Float64(),
            "sd_hi90": pl.Float64(),
            "weight": pl.Float64(),
            "cold_start": pl.Boolean(),
        },
    )


def _keys(frame: pl.DataFrame) -> list[OutletKey]:
    ordered = frame.sort("metric", "outlet")
    return [
        OutletKey(outlet=o, metric=m, n_reports=n)
        for o, m, n in ordered.select("outlet", "metric", "n_reports").iter_rows()
    ]


def _shifts(both: pl.DataFrame, parameter: str) -> pl.DataFrame:
    def half(side: str) -> pl.Expr:
        return (pl.col(f"{parameter}_hi90{side}") - pl.col(f"{parameter}_lo90{side}")) / 2

    return (
        both.select(
            "outlet",
            "metric",
            pl.lit(parameter).alias("parameter"),
            pl.col(parameter).alias("old"),
            pl.col(f"{parameter}_new").alias("new"),
            (pl.col(f"{parameter}_new") - pl.col(parameter)).alias("delta"),
            (half("") ** 2 + half("_new") ** 2).sqrt().alias("threshold"),
        )
        .filter(pl.col("delta").abs() > pl.col("threshold"))
        .sort(pl.col("delta").abs(), descending=True)
    )


def diff_tables(old: ScoreTable, new: ScoreTable) -> TableDiff:
    """Compare two tables outlet by outlet and metric by metric.

    >>> from reliability.table import ScoreTable
    >>> from datetime import datetime, UTC
    >>> t = ScoreTable(schema_version=1, version="v1", created_at=datetime.now(UTC), config={},
    ...     inputs=None, metrics=[], groups=[], outlets=[], diagnostics=[])
    >>> diff_tables(t, t).shifted
    []
    """
    before, after = outlet_frame(old), outlet_frame(new)
    key = ["outlet", "metric"]
    both = before.join(after, on=key, how="inner", suffix="_new")
    shifted = pl.concat([_shifts(both, parameter) for parameter in PARAMETERS])
    old_metrics = {m.metric for m in old.metrics}
    new_metrics = {m.metric for m in new.metrics}
    old_accuracy = {d.metric: d.model for d in old.diagnostics}
    new_accuracy = {d.metric: d.model for d in new.diagnostics}
    return TableDiff(
        old_version=old.version,
        new_version=new.version,
        metrics_added=sorted(new_metrics - old_metrics),
        metrics_dropped=sorted(old_metrics - new_metrics),
        outlets_added=_keys(after.join(before, on=key, how="anti")),
        outlets_dropped=_keys(before.join(after, on=key, how="anti")),
        shifted=[ParameterShift(**row) for row in shifted.iter_rows(named=True)],
        n_compared=both.height,
        calibration=[
            CalibrationChange(metric=m, old=old_accuracy.get(m), new=new_accuracy.get(m))
            for m in sorted(old_accuracy.keys() | new_accuracy.keys())
        ],
    )


def _accuracy_text(accuracy: Accuracy | None) -> str:
    if accuracy is None:
        return "not cross-validated"
    coverage = "n/a" if accuracy.coverage90 is None else f"{accuracy.coverage90:.0%}"
    return f"90% coverage {coverage}, MAE {accuracy.mae:.3f}"


def render_diff(diff: TableDiff, *, limit: int = 20) -> str:
    """The diff as plain text for a terminal, at most ``limit`` lines per list."""
    lines = [f"Changes from {diff.old_version} to {diff.new_version}:"]
    if diff.metrics_added:
        lines.append(f"  new metrics: {', '.join(diff.metrics_added)}")
    if diff.metrics_dropped:
        lines.append(f"  dropped metrics: {', '.join(diff.metrics_dropped)}")
    lines.append(
        f"  {len(diff.shifted)} significant shifts among {diff.n_compared} outlet-metrics "
        f"in both tables; {len(diff.outlets_added)} new, {len(diff.outlets_dropped)} dropped"
    )
    for shift in diff.shifted[:limit]:
        lines.append(
            f"    {shift.outlet} [{shift.metric}] {shift.parameter}: {shift.old:+.3f} -> "
            f"{shift.new:+.3f} (change {shift.delta:+.3f}, threshold {shift.threshold:.3f})"
        )
    if len(diff.shifted) > limit:
        lines.append(f"    ... and {len(diff.shifted) - limit} more shifts")
    for title, keys in (("new", diff.outlets_added), ("dropped", diff.outlets_dropped)):
        for item in keys[:limit]:
            lines.append(f"    {title}: {item.outlet} [{item.metric}] ({item.n_reports} reports)")
        if len(keys) > limit:
            lines.append(f"    ... and {len(keys) - limit} more {title}")
    for change in diff.calibration:
        lines.append(
            f"  calibration [{change.metric}]: {_accuracy_text(change.old)} -> "
            f"{_accuracy_text(change.new)}"
        )
    return "\n".join(lines)
