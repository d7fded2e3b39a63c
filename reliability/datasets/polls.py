"""Convert FiveThirtyEight's raw polls 1998-2016 to the canonical files (a benchmark dataset).

Each poll question is a report of the race's margin (candidate 1 minus candidate 2, in points,
on the linear scale) by its pollster; the election result is the consensus. Pollsters get a
stable slug id; ``pollster-ids.csv`` maps it to FiveThirtyEight's ``pollster_rating_id`` and the
2016 ratings file is copied beside the data unchanged, with its row ``ID`` matched by name.

Regenerate the shipped files with::

    python -m reliability.datasets.polls \
        /work/shared/data/fivethirtyeight-polls benchmarks/data/polls
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from reliability.datasets.files import converter_arguments, write_dataset
from reliability.exitcodes import INPUT_ERROR
from reliability.frames import CONSENSUS, OUTLETS, REPORTS, conform
from reliability.records import FigureKind

RAW_POLLS = "raw-polls-1998-2016.csv"
RATINGS = "pollster-ratings-2016.csv"
METRIC = "margin"
CONSENSUS_SOURCE = "FiveThirtyEight raw polls 1998-2016: margin_actual"

_REQUIRED = (
    "question_id",
    "race",
    "pollster",
    "pollster_rating_id",
    "methodology",
    "polldate",
    "margin_poll",
    "electiondate",
    "margin_actual",
)


class ConversionError(ValueError):
    """The raw polls file does not have the expected shape (names file, row and column)."""


def slug(column: str) -> pl.Expr:
    """Lower-case ASCII words joined by ``-``: a pollster name as a stable outlet id.

    >>> pl.DataFrame({"p": ["SurveyUSA", "Marist College", "YouGov/CBS News"]}).select(
    ...     slug("p")
    ... )["p"].to_list()
    ['surveyusa', 'marist-college', 'yougov-cbs-news']
    """
    return (
        pl.col(column)
        .str.normalize("NFKD")
        .str.replace_all(r"[^\x00-\x7f]", "")
        .str.to_lowercase()
        .str.replace_all(r"[^a-z0-9]+", "-")
        .str.strip_chars("-")
        .alias(column)
    )


def read_polls(source_dir: Path) -> pl.DataFrame:
    """The raw polls with typed columns; a missing column or unparseable cell is an error."""
    path = source_dir / RAW_POLLS
    try:
        raw = pl.read_csv(path, infer_schema_length=0)
    except FileNotFoundError as err:
        raise ConversionError(f"{path}: file not found") from err
    except (pl.exceptions.PolarsError, UnicodeDecodeError) as err:
        raise ConversionError(f"{path}: cannot read as CSV: {err}") from err
    missing = [c for c in _REQUIRED if c not in raw.columns]
    if missing:
        raise ConversionError(f"{path}: missing column {missing[0]!r}")
    typed = raw.with_columns(
        pl.col("margin_poll", "margin_actual").cast(pl.Float64, strict=False),
        pl.col("polldate", "electiondate").str.to_date("%m/%d/%Y", strict=False),
    )
    for column in _REQUIRED:
        bad = (typed[column].is_null() | (typed[column].cast(pl.String) == "")).arg_true()
        if len(bad):
            row = int(bad[0])
            raise ConversionError(
                f"{RAW_POLLS} row {row + 1}, column {column!r}: missing or invalid value "
                f"{raw[column][row]!r}"
            )
    return typed


def _with_outlet(polls: pl.DataFrame) -> pl.DataFrame:
    outlets = polls.select("pollster").unique().with_columns(outlet=slug("pollster"))
    clashes = outlets.filter(pl.col("outlet").is_duplicated())
    if clashes.height:
        names = ", ".join(sorted(clashes["pollster"].to_list()))
        raise ConversionError(f"{RAW_POLLS}: pollster names share one slug: {names}")
    return polls.join(outlets, on="pollster")


def check_results(polls: pl.DataFrame) -> None:
    """Every poll of a race must carry the same result and election date."""
    disagreeing = (
        polls.group_by("race")
        .agg(pl.col("margin_actual").n_unique().alias("results"), pl.col("electiondate").n_unique())
        .filter((pl.col("results") > 1) | (pl.col("electiondate") > 1))
    )
    if disagreeing.height:
        races = ", ".join(sorted(disagreeing["race"].to_list())[:10])
        raise ConversionError(
            f"{RAW_POLLS}: {disagreeing.height} races carry more than one margin_actual or "
            f"electiondate, e.g. {races}"
        )


def build_reports(polls: pl.DataFrame) -> pl.DataFrame:
    """One report per poll question: the polled margin of the race (event = ``race``)."""
    reports = polls.select(
        report_id=pl.concat_str(pl.lit("538-q"), "question_id"),
        event_id="race",
        outlet="outlet",
        metric=pl.lit(METRIC),
        value="margin_poll",
        low="margin_poll",
        high="margin_poll",
        kind=pl.lit(FigureKind.EXACT.value),
        published_at=pl.col("polldate").cast(pl.Datetime("us", "UTC")),
        event_date="electiondate",
    )
    return conform(reports, REPORTS).sort("event_id", "outlet", "report_id")


def build_consensus(polls: pl.DataFrame) -> pl.DataFrame:
    """One result per race, established on election day."""
    consensus = (
        polls.group_by("race")
        .agg(pl.col("margin_actual").first(), pl.col("electiondate").first())
        .select(
            event_id="race",
            metric=pl.lit(METRIC),
            value="margin_actual",
            low="margin_actual",
            high="margin_actual",
            kind=pl.lit(FigureKind.EXACT.value),
            established_at=pl.col("electiondate").cast(pl.Datetime("us", "UTC")),
            source=pl.lit(CONSENSUS_SOURCE),
        )
    )
    return conform(consensus, CONSENSUS).sort("event_id")


def build_outlets(polls: pl.DataFrame) -> pl.DataFrame:
    """Pollsters grouped by their most used methodology (ties: alphabetical)."""
    modes = (
        polls.group_by("outlet", "methodology")
        .agg(pl.len().alias("polls"))
        .sort(["outlet", "polls", "methodology"], descending=[False, True, False])
        .group_by("outlet", maintain_order=True)
        .agg(pl.col("methodology").first().alias("group"))
    )
    names = polls.group_by("outlet").agg(pl.col("pollster").first().alias("name"))
    outlets = names.join(modes, on="outlet").with_columns(
        aliases=pl.lit([], pl.List(pl.String())), country=pl.lit("US")
    )
    return conform(outlets, OUTLETS).sort("outlet")


def build_rating_ids(polls: pl.DataFrame, ratings: pl.DataFrame) -> pl.DataFrame:
    """Outlet id -> FiveThirtyEight's ``pollster_rating_id`` and the 2016 ratings row ``ID``.

    The two are different numberings: ``pollster_rating_id`` comes with the raw polls, while the
    2016 ratings file numbers its rows by rank. A ratings row is matched on the pollster's name
    or, failing that, on its slug; pollsters the 2016 file does not list get an empty
    ``ratings_2016_id``.
    """
    names = ratings.select(
        ratings_2016_id=pl.col("ID").cast(pl.Int64), pollster=pl.col("Pollster")
    ).with_columns(outlet=slug("pollster"))
    outlets = polls.select(
        "outlet", "pollster", pl.col("pollster_rating_id").cast(pl.Int64)
    ).unique()
    by_name = outlets.join(names.drop("outlet"), on="pollster", how="left")
    by_slug = outlets.join(names.drop("pollster"), on="outlet", how="left")
    return (
        by_name.join(by_slug.select("outlet", "ratings_2016_id"), on="outlet", suffix="_slug")
        .select(
            "outlet",
            "pollster",
            "pollster_rating_id",
            pl.coalesce("ratings_2016_id", "ratings_2016_id_slug").alias("ratings_2016_id"),
        )
        .sort("outlet")
    )


def read_ratings(source_dir: Path) -> pl.DataFrame:
    """The 2016 ratings file (its ``ID`` and ``Pollster`` columns are used)."""
    path = source_dir / RATINGS
    try:
        ratings = pl.read_csv(path, infer_schema_length=0)
    except FileNotFoundError as err:
        raise ConversionError(f"{path}: file not found") from err
    except (pl.exceptions.PolarsError, UnicodeDecodeError) as err:
        raise ConversionError(f"{path}: cannot read as CSV: {err}") from err
    for column in ("ID", "Pollster"):
        if column not in ratings.columns:
            raise ConversionError(f"{path}: missing column {column!r}")
    return ratings


def build(source_dir: Path) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Reports, consensus and outlet registry from a ``fivethirtyeight-polls`` directory.

    >>> source = Path("/work/shared/data/fivethirtyeight-polls")
    >>> reports, consensus, outlets = build(source)  # doctest: +SKIP
    >>> consensus.filter(pl.col("event_id") == "1998_Gov-G_NY")["value"].item()  # doctest: +SKIP
    -21.15
    """
    polls = _with_outlet(read_polls(source_dir))
    check_results(polls)
    return build_reports(polls), build_consensus(polls), build_outlets(polls)


DATASET_TOML = """\
[dataset]
name = "polls"
description = "FiveThirtyEight raw polls 1998-2016 (CC BY 4.0): margin by pollster"
reports = ["reports.csv"]
consensus = ["consensus.csv"]
outlets = "outlets.csv"

[scales]
margin = "linear"

[model]
"""


def write(
    out_dir: Path,
    reports: pl.DataFrame,
    consensus: pl.DataFrame,
    outlets: pl.DataFrame,
    rating_ids: pl.DataFrame | None = None,
) -> None:
    """Write the dataset files (and the outlet -> rating id map when given) into ``out_dir``."""
    extra = {} if rating_ids is None else {"pollster-ids.csv": rating_ids}
    write_dataset(out_dir, reports, consensus, outlets, DATASET_TOML, extra)


def main(argv: Sequence[str] | None = None) -> int:
    args = converter_arguments(
        "reliability.datasets.polls",
        "Convert FiveThirtyEight raw polls into canonical reports, consensus, outlets.",
        "the fivethirtyeight-polls directory",
        "/work/shared/data/fivethirtyeight-polls benchmarks/data/polls",
        argv,
    )
    try:
        polls = _with_outlet(read_polls(args.source_dir))
        check_results(polls)
        write(
            args.out_dir,
            build_reports(polls),
            build_consensus(polls),
            build_outlets(polls),
            build_rating_ids(polls, read_ratings(args.source_dir)),
        )
        shutil.copyfile(args.source_dir / RATINGS, args.out_dir / RATINGS)
    except (ConversionError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return INPUT_ERROR
    print(f"{polls.height} reports -> {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
