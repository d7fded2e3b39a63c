"""One self-contained HTML page describing a score table: inline SVG, no scripts, no network.

Per metric it shows the headline numbers, a forest plot of outlet biases with 90% intervals
grouped by outlet group, bias against sd, calibration (nominal against empirical coverage and
the PIT histogram), the reporting-lag curve and per-stratum biases.
"""

from __future__ import annotations

from html import escape

import polars as pl

from reliability.svgplots import ForestRow, Point, band_plot, forest_plot, histogram, scatter_plot
from reliability.table import Accuracy, MetricDiagnostics, MetricParams, ScoreTable
from reliability.tablediff import outlet_frame

#: Forest plots show at most this many outlets per metric (those with the most reports).
FOREST_LIMIT = 40
#: The scatter shows at most this many outlets per metric (those with the most reports).
SCATTER_LIMIT = 2000
NO_GROUP = "(no group)"

_STYLE = """
body { font-family: sans-serif; max-width: 760px; margin: 2em auto; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
td, th { border-bottom: 1px solid #ddd; padding: 2px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.note { color: #555; font-style: italic; }
svg.chart { display: block; margin: 1em 0; }
"""


def _cell(value: object) -> str:
    if value is None:
        return "<td>n/a</td>"
    if isinstance(value, float):
        return f"<td>{value:.3g}</td>"
    return f"<td>{escape(str(value))}</td>"


def _table(header: list[str], rows: list[list[object]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _note(text: str) -> str:
    return f'<p class="note">{escape(text)}</p>'


def _accuracy_rows(diagnostics: MetricDiagnostics) -> list[list[object]]:
    def row(accuracy: Accuracy) -> list[object]:
        return [
            accuracy.method,
            accuracy.n_events,
            accuracy.mae,
            accuracy.rmse,
            accuracy.coverage50,
            accuracy.coverage90,
        ]

    return [row(diagnostics.model)] + [row(b) for b in diagnostics.baselines]


def _headline(table: ScoreTable) -> str:
    parts = [
        f"<h1>Score table {escape(table.version)}</h1>",
        f"<p>Created {escape(table.created_at.isoformat())}.</p>",
    ]
    if table.inputs is not None:
        inputs = table.inputs
        span = ""
        if inputs.first_report_at and inputs.last_report_at:
            span = (
                f", published {inputs.first_report_at.date().isoformat()} to "
                f"{inputs.last_report_at.date().isoformat()}"
            )
        parts.append(
            f"<p>Learned from {inputs.n_reports:,} reports by {inputs.n_outlets:,} outlets and "
            f"{inputs.n_consensus:,} consensus figures{escape(span)}.</p>"
        )
    model = {d.metric: d.model for d in table.diagnostics}
    rows: list[list[object]] = []
    for metric in table.metrics:
        accuracy = model.get(metric.metric)
        rows.append(
            [
                metric.metric,
                metric.scale,
                metric.n_reports,
                metric.n_events,
                metric.n_outlets,
                accuracy.coverage50 if accuracy else None,
                accuracy.coverage90 if accuracy else None,
                accuracy.mae if accuracy else None,
            ]
        )
    parts.append(
        _table(
            ["metric", "scale", "reports", "events", "outlets", "cov. 50%", "cov. 90%", "MAE"],
            rows,
        )
    )
    return "\n".join(parts)


def _bias_label(metric: MetricParams) -> str:
    if metric.scale == "log":
        return "bias on the log scale (factor = e^bias; 0 = no bias)"
    return "bias in natural units (0 = no bias)"


def _forest(outlets: pl.DataFrame, metric: MetricParams) -> str:
    if outlets.is_empty():
        return _note("No outlets were scored for this metric.")
    shown = outlets.sort("n_reports", "outlet", descending=[True, False]).head(FOREST_LIMIT)
    shown = shown.with_columns(pl.col("group").fill_null(NO_GROUP)).sort("group", "bias")
    rows = [
        ForestRow(
            label=r["outlet"],
            estimate=r["bias"],
            lo=r["bias_lo90"],
            hi=r["bias_hi90"],
            section=r["group"],
        )
        for r in shown.iter_rows(named=True)
    ]
    parts = [
        forest_plot(
            rows,
            kind=f"forest-{metric.metric}",
            title=f"Outlet bias with 90% interval: {metric.metric}",
            x_label=_bias_label(metric),
        )
    ]
    if outlets.height > FOREST_LIMIT:
        parts.append(
            _note(
                f"Showing the {FOREST_LIMIT} outlets with the most reports of "
                f"{outlets.height:,}; the table has them all."
            )
        )
    return "\n".join(parts)


def _scatter(outlets: pl.DataFrame, metric: MetricParams) -> str:
    if outlets.is_empty():
        return ""
    shown = outlets.sort("n_reports", "outlet", descending=[True, False]).head(SCATTER_LIMIT)
    points = [
        Point(
            x=r["bias"],
            y=r["sd"],
            label=f"{r['outlet']}: bias {r['bias']:.3g}, sd {r['sd']:.3g}, n {r['n_reports']}",
            series=r["group"] or NO_GROUP,
        )
        for r in shown.iter_rows(named=True)
    ]
    parts = [
        scatter_plot(
            points,
            kind=f"scatter-{metric.metric}",
            title=f"Bias against spread (sd): {metric.metric}",
            x_label=_bias_label(metric),
            y_label="sd (noise of one report)",
        )
    ]
    if outlets.height > SCATTER_LIMIT:
        parts.append(_note(f"Showing {SCATTER_LIMIT:,} of {outlets.height:,} outlets."))
    return "\n".join(parts)


def _calibration(diagnostics: MetricDiagnostics | None, metric: str) -> str:
    if diagnostics is None:
        return _note("Not cross-validated (the table was fitted with cv_folds = 0).")
    model = diagnostics.model
    points = [
        Point(x=nominal, y=empirical, label=f"{nominal:.0%} interval covered {empirical:.1%}")
        for nominal, empirical in ((0.5, model.coverage50), (0.9, model.coverage90))
        if empirical is not None
    ]
    parts = [
        f"<p>{diagnostics.folds}-fold cross-validation on {model.n_events:,} events "
        "(errors on the model scale).</p>",
        _table(
            ["method", "events", "MAE", "RMSE", "cov. 50%", "cov. 90%"], _accuracy_rows(diagnostics)
        ),
        scatter_plot(
            points,
            kind=f"coverage-{metric}",
            title=f"Calibration: nominal against empirical coverage, {metric}",
            x_label="nominal coverage",
            y_label="empirical coverage",
            diagonal=True,
            bounds=(0.0, 1.0),
        ),
    ]
    if diagnostics.by_n_reports:
        parts.append(
            _table(
                ["reports per event", "events", "cov. 50%", "cov. 90%", "MAE"],
                [
                    [
                        f"{b.min_reports}-{b.max_reports}",
                        b.n_events,
                        b.coverage50,
                        b.coverage90,
                        b.mae,
                    ]
                    for b in diagnostics.by_n_reports
                ],
            )
        )
    if diagnostics.pit_histogram:
        bins = len(diagnostics.pit_histogram)
        total = sum(diagnostics.pit_histogram) or 1.0
        parts.append(
            histogram(
                [share / total * bins for share in diagnostics.pit_histogram],
                kind=f"pit-{metric}",
                title=f"PIT histogram (flat = calibrated): {metric}",
                x_label="probability integral transform of the consensus",
                reference=1.0,
            )
        )
    return "\n".join(parts)


def _lag(metric: MetricParams) -> str:
    if metric.lag is None or not metric.lag.days:
        return _note("No lag effect estimated.")
    lag = metric.lag
    return band_plot(
        lag.days,
        lag.effect,
        lag.lo90,
        lag.hi90,
        kind=f"lag-{metric.metric}",
        title=f"Reporting lag: mean error against days after the event, {metric.metric}",
        x_label="days after the event",
        y_label="mean error (model scale)",
    )


def _strata(table: ScoreTable, metric: MetricParams) -> str:
    stratified = sorted(
        (o for o in table.outlets if o.metric == metric.metric and o.strata),
        key=lambda o: (-o.n_reports, o.outlet),
    )
    if not stratified:
        return _note("No outlet has per-stratum biases for this metric.")
    shown = stratified[:FOREST_LIMIT]
    rows = [
        ForestRow(
            label=s.stratum,
            estimate=s.bias.estimate,
            lo=s.bias.lo90,
            hi=s.bias.hi90,
            section=o.outlet,
        )
        for o in shown
        for s in o.strata
    ]
    parts = [
        forest_plot(
            rows,
            kind=f"strata-{metric.metric}",
            title=f"Bias by stratum with 90% interval: {metric.metric}",
            x_label=_bias_label(metric),
        )
    ]
    if len(stratified) > FOREST_LIMIT:
        parts.append(_note(f"Showing {FOREST_LIMIT} of {len(stratified):,} stratified outlets."))
    return "\n".join(parts)


def render_report(table: ScoreTable) -> str:
    """The whole report as one HTML document."""
    outlets = outlet_frame(table)
    diagnostics = {d.metric: d for d in table.diagnostics}
    body = [_headline(table)]
    for metric in table.metrics:
        mine = outlets.filter(pl.col("metric") == metric.metric)
        name = escape(metric.metric)
        body += [
            f"<h2>Metric: {name}</h2>",
            "<h3>Outlet bias</h3>",
            _forest(mine, metric),
            "<h3>Bias and spread</h3>",
            _scatter(mine, metric),
            "<h3>Calibration</h3>",
            _calibration(diagnostics.get(metric.metric), metric.metric),
            "<h3>Reporting lag</h3>",
            _lag(metric),
            "<h3>Strata</h3>",
            _strata(table, metric),
        ]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>Score table {escape(table.version)}</title>\n<style>{_STYLE}</style>\n"
        "</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n"
    )
