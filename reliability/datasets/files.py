"""Write canonical frames as the diffable CSV files the loaders read.

Converters build frames in the validated schemas of :mod:`reliability.frames` and write them
here, so every shipped dataset uses one column order, one number format and one datetime
format, and regenerating a dataset reproduces its files byte for byte.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path

import polars as pl

from reliability.frames import CONSENSUS, OUTLETS, REPORTS, conform
from reliability.records import FigureKind

#: The columns of a report file: the canonical report frame less the derived figure kind.
REPORT_COLUMNS = tuple(name for name in REPORTS if name != "kind")
CONSENSUS_COLUMNS = (
    "event_id",
    "metric",
    "stratum",
    "value",
    "low",
    "high",
    "established_at",
    "source",
)
OUTLET_COLUMNS = ("outlet", "name", "group", "aliases", "country")

_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def number_text(column: str) -> pl.Expr:
    """Whole numbers without a decimal point, others in polars' shortest form; inf -> empty.

    >>> pl.DataFrame({"x": [3.0, 2.5, float("inf")]}).select(number_text("x"))["x"].to_list()
    ['3', '2.5', None]
    """
    x = pl.col(column)
    return (
        pl.when(x.is_infinite())
        .then(pl.lit(None, pl.String()))
        .when((x == x.round()) & (x.abs() < 2.0**53))
        .then(x.cast(pl.Int64, strict=False).cast(pl.String))
        .otherwise(x.cast(pl.String))
        .alias(column)
    )


def _figure_columns() -> list[pl.Expr]:
    # Exact figures are written as a value alone and intervals as bounds alone, because the
    # loaders resolve a row from whichever of value / low / high is present.
    exact = pl.col("kind") == FigureKind.EXACT.value
    return [
        pl.when(exact).then(pl.col("low")).alias("value"),
        pl.when(~exact).then(pl.col("low")).alias("low"),
        pl.when(~exact).then(pl.col("high")).alias("high"),
    ]


def reports_file_frame(reports: pl.DataFrame) -> pl.DataFrame:
    """The canonical reports frame in file form: the columns of :data:`REPORT_COLUMNS`, as text."""
    frame = conform(reports, REPORTS).with_columns(_figure_columns())
    return frame.select(
        *[
            number_text(name) if name in ("value", "low", "high") else pl.col(name)
            for name in REPORT_COLUMNS
            if name not in ("published_at", "event_date")
        ],
        pl.col("published_at").dt.strftime(_DATETIME_FORMAT),
        pl.col("event_date").dt.strftime("%Y-%m-%d"),
    ).select(REPORT_COLUMNS)


def consensus_file_frame(consensus: pl.DataFrame) -> pl.DataFrame:
    """The canonical consensus frame in file form (:data:`CONSENSUS_COLUMNS`, as text)."""
    frame = conform(consensus, CONSENSUS).with_columns(_figure_columns())
    return frame.select(
        "event_id",
        "metric",
        "stratum",
        number_text("value"),
        number_text("low"),
        number_text("high"),
        pl.col("established_at").dt.strftime(_DATETIME_FORMAT),
        "source",
    )


def outlets_file_frame(outlets: pl.DataFrame) -> pl.DataFrame:
    """The registry in file form: ``aliases`` joined with ``;`` (empty field when none)."""
    frame = conform(outlets, OUTLETS)
    aliases = pl.col("aliases")
    joined = pl.when(aliases.list.len() > 0).then(aliases.list.join(";"))
    return frame.with_columns(joined.alias("aliases")).select(OUTLET_COLUMNS)


def write_csv(frame: pl.DataFrame, path: Path) -> None:
    """Write ``frame`` as UTF-8 CSV with ``\\n`` line ends, empty fields for nulls."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_csv(path, line_terminator="\n", null_value="")


def write_dataset(
    out_dir: Path,
    reports: pl.DataFrame,
    consensus: pl.DataFrame,
    outlets: pl.DataFrame,
    dataset_toml: str,
    extra: Mapping[str, pl.DataFrame] | None = None,
) -> None:
    """Write a converted dataset: reports, consensus, outlets, its TOML and any ``extra`` CSVs."""
    out_dir.mkdir(parents=True, exist_ok=True)
    write_csv(reports_file_frame(reports), out_dir / "reports.csv")
    write_csv(consensus_file_frame(consensus), out_dir / "consensus.csv")
    write_csv(outlets_file_frame(outlets), out_dir / "outlets.csv")
    for name, frame in (extra or {}).items():
        write_csv(frame, out_dir / name)
    (out_dir / "dataset.toml").write_text(dataset_toml, encoding="utf-8")


def converter_arguments(
    module: str, description: str, source_help: str, example: str, argv: Sequence[str] | None
) -> argparse.Namespace:
    """The ``source_dir out_dir`` command line shared by the dataset converters."""
    parser = argparse.ArgumentParser(
        prog=f"python -m {module}",
        description=description,
        epilog=f"Example: python -m {module} {example}",
    )
    parser.add_argument("source_dir", type=Path, help=source_help)
    parser.add_argument("out_dir", type=Path, help="where to write the CSV files")
    return parser.parse_args(argv)
