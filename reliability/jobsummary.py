"""What a recalibration run reports: the human summary and its machine (``--json``) form.

``docs/batch-job.md`` documents every field of :class:`JobSummary`.
"""

from __future__ import annotations

import msgspec
import polars as pl

from reliability.table import MetricDiagnostics, ScoreTable
from reliability.tablediff import TableDiff, outlet_frame, render_diff

#: Outlets listed as most and least reliable per metric.
SHOWN_OUTLETS = 5
SHOWN_NOTES = 20


class OutletBrief(msgspec.Struct, frozen=True, kw_only=True):
    outlet: str
    group: str | None
    n_reports: int
    weight: float
    bias: float
    factor: float | None
    sd: float


class MetricSummary(msgspec.Struct, frozen=True, kw_only=True):
    metric: str
    scale: str
    n_reports: int
    n_events: int
    n_outlets: int
    most_reliable: list[OutletBrief]
    least_reliable: list[OutletBrief]
    calibration: MetricDiagnostics | None


class JobSummary(msgspec.Struct, frozen=True, kw_only=True):
    version: str
    table_path: str
    latest_path: str
    n_reports: int
    n_events: int
    n_outlets: int
    n_consensus: int
    metrics: list[MetricSummary]
    previous_version: str | None
    diff: TableDiff | None
    diff_skipped: str | None
    pruned: list[str]
    report_path: str | None
    notes: list[str]
    warnings: list[str]
    seconds: dict[str, float]


def _briefs(frame: pl.DataFrame) -> list[OutletBrief]:
    return [
        OutletBrief(**row)
        for row in frame.select(
            "outlet", "group", "n_reports", "weight", "bias", "factor", "sd"
        ).iter_rows(named=True)
    ]


def metric_summaries(table: ScoreTable) -> list[MetricSummary]:
    """Per metric: counts, the most and least reliable outlets by weight, and calibration.

    Cold-start outlets are left out of the rankings: their weight is a prior, not a record.
    """
    outlets = outlet_frame(table).filter(~pl.col("cold_start"))
    diagnostics = {d.metric: d for d in table.diagnostics}
    summaries = []
    for metric in table.metrics:
        ranked = outlets.filter(pl.col("metric") == metric.metric).sort(
            "weight", "outlet", descending=[True, False]
        )
        summaries.append(
            MetricSummary(
                metric=metric.metric,
                scale=metric.scale,
                n_reports=metric.n_reports,
                n_events=metric.n_events,
                n_outlets=metric.n_outlets,
                most_reliable=_briefs(ranked.head(SHOWN_OUTLETS)),
                least_reliable=_briefs(ranked.reverse().head(SHOWN_OUTLETS)),
                calibration=diagnostics.get(metric.metric),
            )
        )
    return summaries


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _outlet_line(brief: OutletBrief) -> str:
    factor = f" (x{brief.factor:.2f})" if brief.factor is not None else ""
    return (
        f"      {brief.outlet:<28} weight {brief.weight:9.3g}  bias {brief.bias:+.3f}{factor}  "
        f"sd {brief.sd:.3f}  n={brief.n_reports}"
    )


def _calibration_lines(diagnostics: MetricDiagnostics | None) -> list[str]:
    if diagnostics is None:
        return ["    calibration: not cross-validated (cv_folds = 0)"]
    model = diagnostics.model
    lines = [
        f"    calibration ({diagnostics.folds}-fold CV, {model.n_events} events): coverage "
        f"50% {_percent(model.coverage50)}, 90% {_percent(model.coverage90)}",
        f"      {'method':<12} {'MAE':>8} {'RMSE':>8}",
    ]
    for accuracy in (model, *diagnostics.baselines):
        lines.append(f"      {accuracy.method:<12} {accuracy.mae:8.3f} {accuracy.rmse:8.3f}")
    if diagnostics.by_n_reports:
        lines.append("      by reports per event: coverage 50% / 90%, MAE")
        for b in diagnostics.by_n_reports:
            lines.append(
                f"        {b.min_reports:>3}-{b.max_reports:<3} ({b.n_events} events): "
                f"{_percent(b.coverage50)} / {_percent(b.coverage90)}, {b.mae:.3f}"
            )
    return lines


def render_summary(summary: JobSummary) -> str:
    """The summary as text for a terminal."""
    lines = [
        f"Published {summary.version}",
        f"  table:  {summary.table_path}",
        f"  latest: {summary.latest_path}",
        f"Input: {summary.n_reports:,} reports of {summary.n_events:,} events by "
        f"{summary.n_outlets:,} outlets; {summary.n_consensus:,} consensus figures",
    ]
    for metric in summary.metrics:
        lines.append(
            f"  metric {metric.metric} ({metric.scale} scale): {metric.n_reports:,} reports, "
            f"{metric.n_events:,} events, {metric.n_outlets:,} outlets"
        )
        lines.append("    most reliable:")
        lines += [_outlet_line(b) for b in metric.most_reliable]
        lines.append("    least reliable:")
        lines += [_outlet_line(b) for b in metric.least_reliable]
        lines += _calibration_lines(metric.calibration)
    if summary.diff is not None:
        lines.append(render_diff(summary.diff))
    else:
        lines.append(f"No diff: {summary.diff_skipped}.")
    if summary.notes:
        lines.append("Notes on the input:")
        lines += [f"  - {note}" for note in summary.notes[:SHOWN_NOTES]]
        if len(summary.notes) > SHOWN_NOTES:
            lines.append(f"  ... and {len(summary.notes) - SHOWN_NOTES} more")
    if summary.pruned:
        lines.append(f"Retention deleted {len(summary.pruned)} old version(s).")
    if summary.report_path:
        lines.append(f"Report: {summary.report_path}")
    return "\n".join(lines)
