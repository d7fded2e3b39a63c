"""Column schemas of the validated, canonical frames.

Loaders produce these frames; the estimator, synthetic generator, dataset converters and the
batch job consume them. Figures are always resolved: ``low``/``high`` are in natural units
(infinite where open) and ``kind`` is a :class:`reliability.records.FigureKind` value.
"""

from __future__ import annotations

import polars as pl

REPORTS: dict[str, pl.DataType] = {
    "report_id": pl.String(),
    "event_id": pl.String(),
    "outlet": pl.String(),
    "metric": pl.String(),
    "stratum": pl.String(),
    "value": pl.Float64(),
    "low": pl.Float64(),
    "high": pl.Float64(),
    "kind": pl.String(),
    "figure_text": pl.String(),
    "published_at": pl.Datetime("us", "UTC"),
    "event_date": pl.Date(),
    "cites": pl.String(),
}

CONSENSUS: dict[str, pl.DataType] = {
    "event_id": pl.String(),
    "metric": pl.String(),
    "stratum": pl.String(),
    "value": pl.Float64(),
    "low": pl.Float64(),
    "high": pl.Float64(),
    "kind": pl.String(),
    "established_at": pl.Datetime("us", "UTC"),
    "source": pl.String(),
}

OUTLETS: dict[str, pl.DataType] = {
    "outlet": pl.String(),
    "name": pl.String(),
    "group": pl.String(),
    "aliases": pl.List(pl.String()),
    "country": pl.String(),
}

#: The key of one reported quantity: reports and consensus match on it.
QUANTITY_KEY = ("event_id", "metric", "stratum")


def conform(frame: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Add missing optional columns as nulls and order and cast columns to ``schema``."""
    missing = [
        pl.lit(None, dtype).alias(n) for n, dtype in schema.items() if n not in frame.columns
    ]
    # with_columns keeps the frame's height, where a select of literals alone would give one row.
    return frame.with_columns(missing).select(
        pl.col(name).cast(dtype) for name, dtype in schema.items()
    )
