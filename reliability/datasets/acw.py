"""Convert J. B. Arnold's American Civil War battle data (acw_battle_data v11) to canonical files.

Each historical source with per-battle, per-belligerent casualty figures becomes an outlet; its
figures are mapped to CWSAC battle ids through the package's crosswalks, and only battles that
map one to one become reports. The combined National Park Service figures (``nps_forces.csv``)
are the consensus. Every source row is accounted for in :func:`dispositions` (kept, or why not).

Regenerate the shipped files with::

    python -m reliability.datasets.acw /work/shared/data/acw-battle-data seeds/acw
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from reliability.datasets.files import converter_arguments, write_dataset
from reliability.exitcodes import INPUT_ERROR
from reliability.frames import CONSENSUS, OUTLETS, REPORTS, conform
from reliability.records import FigureKind

VERSION = "11.0.0"
CONSENSUS_SOURCE = "NPS combined (acw_battle_data v11)"
#: When the NPS figures were compiled: the access date the package records for its NPS web sources.
CONSENSUS_ESTABLISHED = datetime(2015, 12, 7, tzinfo=UTC)

KEPT = "kept"
KEPT_SWAPPED = "kept (min > max in source; bounds swapped)"
NO_FIGURE = "no casualty figure"
ZERO_UNKNOWN = "zero, which CWSS also uses for unknown"
UNMAPPED = "no CWSAC battle in the crosswalk"
NOT_EQUAL = "crosswalk relation is not equality (part of, or larger than, a CWSAC battle)"
SEVERAL_TARGETS = "covers several CWSAC battles"
SEVERAL_SOURCES = "one of several source rows summed into one CWSAC battle"
SEVERAL_ENTRIES = "appears in several crosswalk entries"
UNKNOWN_ID = "crosswalk names an id missing from the CWSAC battle lists"
DUPLICATE = "several source rows map to the same CWSAC battle and side"

BELLIGERENTS: Mapping[str, str] = {
    "US": "US",
    "Union": "US",
    "Confederate": "Confederate",
    # Kept as its own stratum: NPS gives consensus figures for these forces too.
    "Native American": "Native American",
}

# Kennedy's guide prints one casualty figure for the whole siege of Suffolk under VA031, which
# also covers VA030 (datapackage.json, kennedy1997_battles); other combined rows list several ids.
KENNEDY_COMBINED = frozenset({"VA031"})


class ConversionError(ValueError):
    """A source file does not have the shape the converter expects (names file, row, column)."""


Crosswalk = Callable[[Path], pl.DataFrame]


@dataclass(frozen=True)
class Source:
    """One historical source: where its figures are and how its battles map to CWSAC ids."""

    outlet: str
    forces: str
    battle_column: str
    #: metric -> (low column, high column); the same column twice for a single figure.
    metrics: Mapping[str, tuple[str, str]]
    published_at: datetime
    crosswalk: Crosswalk
    name: str
    group: str
    country: str = "US"
    aliases: tuple[str, ...] = ()
    zero_is_unknown: bool = False
    notes: str = field(default="", compare=False)


def _jan1(year: int) -> datetime:
    return datetime(year, 1, 1, tzinfo=UTC)


def _crosswalk_frame(rows: list[dict[str, object]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows, schema={"source_battle": pl.String(), "cwsac_id": pl.String(), "link": pl.String()}
    )


def json_crosswalk(filename: str) -> Crosswalk:
    """A ``*_to_cwsac.json`` crosswalk: a list of {battles_from, battles_to, relation} entries."""

    def read(source_dir: Path) -> pl.DataFrame:
        entries = json.loads((source_dir / filename).read_text(encoding="utf-8"))
        by_battle: dict[str, list[tuple[str, list[str], int]]] = {}
        for entry in entries:
            sources = [str(b) for b in entry["battles_from"]]
            for battle in sources:
                by_battle.setdefault(battle, []).append(
                    (entry["relation"], [str(b) for b in entry["battles_to"]], len(sources))
                )
        rows: list[dict[str, object]] = []
        for battle, links in by_battle.items():
            relation, targets, n_sources = links[0]
            if len(links) > 1:
                link = SEVERAL_ENTRIES
            elif relation != "eq":
                link = NOT_EQUAL
            elif len(targets) > 1:
                link = SEVERAL_TARGETS
            elif n_sources > 1:
                link = SEVERAL_SOURCES
            else:
                link = KEPT
            rows.append(
                {
                    "source_battle": battle,
                    "cwsac_id": targets[0] if link == KEPT else None,
                    "link": link,
                }
            )
        return _crosswalk_frame(rows)

    return read


def identity_crosswalk(filename: str, column: str) -> Crosswalk:
    """Sources keyed by CWSAC ids already (CWSAC, CWSS)."""

    def read(source_dir: Path) -> pl.DataFrame:
        ids = _read_strings(source_dir / filename)[column].unique()
        return pl.DataFrame({"source_battle": ids, "cwsac_id": ids}).with_columns(link=pl.lit(KEPT))

    return read


def column_crosswalk(filename: str, battle: str, cwsac: str) -> Crosswalk:
    """A battle list with a ``cwsac_id`` column (civilwar.org, Shenandoah, Kennedy)."""

    def read(source_dir: Path) -> pl.DataFrame:
        frame = _read_strings(source_dir / filename).select(
            pl.col(battle).alias("source_battle"), pl.col(cwsac).alias("cwsac_id")
        )
        return frame.with_columns(
            link=pl.when(pl.col("cwsac_id").is_null())
            .then(pl.lit(UNMAPPED))
            .otherwise(pl.lit(KEPT))
        )

    return read


def kennedy_crosswalk(source_dir: Path) -> pl.DataFrame:
    """Kennedy ids are CWSAC ids; rows combining battles carry several ids or are listed above."""
    battles = column_crosswalk("kennedy1997_battles.csv", "battle_id", "cwsac_id")(source_dir)
    forces = _read_strings(source_dir / "kennedy1997_forces.csv").select(
        pl.col("battle_id").unique().alias("source_battle")
    )
    combined = pl.col("source_battle").str.contains(" ") | pl.col("source_battle").is_in(
        list(KENNEDY_COMBINED)
    )
    joined = forces.join(battles, on="source_battle", how="left")
    return joined.with_columns(
        cwsac_id=pl.when(combined).then(None).otherwise(pl.col("cwsac_id")),
        link=pl.when(combined)
        .then(pl.lit(SEVERAL_TARGETS))
        .otherwise(pl.col("link").fill_null(UNMAPPED)),
    )


def wikipedia_crosswalk(source_dir: Path) -> pl.DataFrame:
    """Articles to CWSAC ids: ``nps_battles_to_wiki.csv`` first, ``wikipedia_battles.csv`` after.

    The NPS crosswalk is the more careful one (it marks articles that are only part of a CWSAC
    battle with ``>``, which are not kept); the article list's own ``cwsac_id`` fills in
    articles it lacks.
    """
    nps = _read_strings(source_dir / "nps_battles_to_wiki.csv").select(
        pl.col("wikipedia_title").alias("source_battle"), "cwsac_id", "relation"
    )
    articles = _read_strings(source_dir / "wikipedia_battles.csv").select(
        pl.col("battle_id").alias("source_battle"), "cwsac_id", relation=pl.lit("=")
    )
    links = pl.concat([nps, articles.join(nps, on="source_battle", how="anti")])
    # An article may equal a sub-battle (VA020B) while being part of a larger one (VA020):
    # the equality is the one-to-one link.
    summary = links.group_by("source_battle").agg(
        targets=pl.col("cwsac_id").filter(pl.col("relation") == "=").n_unique(),
        cwsac_id=pl.col("cwsac_id").filter(pl.col("relation") == "=").min(),
    )
    return summary.select(
        "source_battle",
        cwsac_id=pl.when(pl.col("targets") == 1).then(pl.col("cwsac_id")),
        link=pl.when(pl.col("targets") == 0)
        .then(pl.lit(NOT_EQUAL))
        .when(pl.col("targets") > 1)
        .then(pl.lit(SEVERAL_TARGETS))
        .otherwise(pl.lit(KEPT)),
    )


def _single(column: str) -> tuple[str, str]:
    return (column, column)


def _range(metric: str) -> tuple[str, str]:
    return (f"{metric}_min", f"{metric}_max")


_STANDARD = {m: _single(m) for m in ("casualties", "killed", "wounded")}

SOURCES: tuple[Source, ...] = (
    Source(
        outlet="bodart1908",
        forces="bodart1908_forces.csv",
        battle_column="battle_id",
        metrics=_STANDARD,
        published_at=_jan1(1908),
        crosswalk=json_crosswalk("bodart1908_to_cwsac.json"),
        name="Bodart, Gaston. 1908. Militär-Historisches Kriegs-Lexikon (1618-1905). Stern.",
        group="historian-20c",
        country="AT",
        aliases=("Bodart",),
    ),
    Source(
        outlet="civilwarorg",
        forces="civilwarorg_forces.csv",
        battle_column="battle_id",
        metrics=_STANDARD,
        published_at=datetime(2015, 12, 24, tzinfo=UTC),
        crosswalk=column_crosswalk("civilwarorg_battles.csv", "battle_id", "cwsac_id"),
        name="Civil War Trust. Civil War Battlefields, civilwar.org (accessed 2015-12-24).",
        group="web",
        aliases=("Civil War Trust", "civilwar.org"),
    ),
    Source(
        outlet="clodfelter2008",
        forces="clodfelter_forces.csv",
        battle_column="battle_id",
        metrics=_STANDARD,
        published_at=_jan1(2008),
        crosswalk=json_crosswalk("clodfelter_to_cwsac.json"),
        name=(
            "Clodfelter, Michael. 2008. Warfare and Armed Conflicts: A Statistical Encyclopedia"
            " of Casualty and Other Figures, 1494-2007. 3rd ed. McFarland & Company."
        ),
        group="historian-21c",
        aliases=("Clodfelter",),
    ),
    Source(
        outlet="cwsac",
        forces="cwsac_forces.csv",
        battle_column="battle",
        metrics=_STANDARD,
        published_at=_jan1(1997),
        crosswalk=identity_crosswalk("cwsac_forces.csv", "battle"),
        name=(
            "Civil War Sites Advisory Commission. 1997. Report on the Nation's Civil War"
            " Battlefields, Technical Volume II: Battle Summaries. National Park Service."
        ),
        group="nps",
        aliases=("Civil War Sites Advisory Commission",),
    ),
    Source(
        outlet="cwss",
        forces="cwss_forces.csv",
        battle_column="BattlefieldCode",
        metrics={"casualties": _single("Casualties")},
        published_at=CONSENSUS_ESTABLISHED,
        crosswalk=identity_crosswalk("cwss_forces.csv", "BattlefieldCode"),
        name=(
            "National Park Service. Civil War Soldiers and Sailors Database (CWSS)"
            " (accessed 2015-12-07)."
        ),
        group="nps",
        aliases=("Civil War Soldiers and Sailors Database",),
        zero_is_unknown=True,
    ),
    Source(
        outlet="fox1898",
        forces="fox_forces.csv",
        battle_column="battle_id",
        metrics=_STANDARD,
        published_at=_jan1(1898),
        crosswalk=json_crosswalk("fox_forces_to_cwsac.json"),
        name=(
            "Fox, William Freeman. 1898. Regimental Losses in the American Civil War,"
            " 1861-1865. Albany Publishing Co."
        ),
        group="historian-19c",
        aliases=("Fox",),
    ),
    Source(
        outlet="kennedy1997",
        forces="kennedy1997_forces.csv",
        battle_column="battle_id",
        metrics={"casualties": _range("casualties")},
        published_at=_jan1(1998),
        crosswalk=kennedy_crosswalk,
        name=(
            "Kennedy, Frances H., and the Conservation Fund. 1998. The Civil War Battlefield"
            " Guide. 2nd ed. Houghton Mifflin."
        ),
        group="historian-20c",
        aliases=("Kennedy",),
    ),
    Source(
        outlet="livermore1900",
        forces="livermore_forces.csv",
        battle_column="battle_id",
        # No total: Livermore gives killed, wounded and missing separately, and the
        # converter does not synthesise totals.
        metrics={"killed": _single("kia"), "wounded": _single("wia")},
        published_at=_jan1(1900),
        crosswalk=json_crosswalk("livermore_to_cwsac.json"),
        name=(
            "Livermore, Thomas Leonard. 1900. Numbers and Losses in the Civil War in America,"
            " 1861-65. Houghton, Mifflin and Company."
        ),
        group="historian-19c",
        aliases=("Livermore",),
    ),
    Source(
        outlet="phisterer1883",
        forces="phisterer_forces.csv",
        battle_column="battle_id",
        metrics=_STANDARD,
        published_at=_jan1(1883),
        crosswalk=json_crosswalk("phisterer_to_cwsac.json"),
        name=(
            "Phisterer, Frederick. 1883. Statistical Record of the Armies of the United States."
            " C. Scribner's Sons."
        ),
        group="historian-19c",
        aliases=("Phisterer",),
    ),
    Source(
        outlet="shenandoah1992",
        forces="shenandoah_forces.csv",
        battle_column="battle_id",
        metrics=_STANDARD,
        published_at=_jan1(1992),
        crosswalk=column_crosswalk("shenandoah_battles.csv", "battle_id", "cwsac_id"),
        name=(
            "National Park Service. 1992. Study of Civil War Sites in the Shenandoah Valley"
            " of Virginia."
        ),
        group="nps",
        aliases=("NPS Shenandoah study",),
    ),
    Source(
        outlet="wikipedia",
        forces="wikipedia_forces.csv",
        battle_column="battle_id",
        metrics={m: _range(m) for m in ("casualties", "killed", "wounded")},
        # The newest article revision in wikipedia_battles.csv (id 799369038) dates from
        # about August 2017, when the figures were collected.
        published_at=datetime(2017, 8, 1, tzinfo=UTC),
        crosswalk=wikipedia_crosswalk,
        name=(
            "Wikipedia, English edition: battle article infoboxes (revisions up to about"
            " August 2017)."
        ),
        group="web",
        aliases=("en.wikipedia.org",),
    ),
)


def _read_strings(path: Path) -> pl.DataFrame:
    try:
        return pl.read_csv(path, infer_schema_length=0)
    except FileNotFoundError as err:
        raise ConversionError(f"{path}: file not found") from err
    except (pl.exceptions.PolarsError, UnicodeDecodeError) as err:
        raise ConversionError(f"{path}: cannot read as CSV: {err}") from err


def _numbers(frame: pl.DataFrame, columns: Sequence[str], path: Path) -> pl.DataFrame:
    """Cast ``columns`` to floats, naming the first row and column that is not a number."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ConversionError(f"{path}: missing column {missing[0]!r}")
    cast = frame.with_columns(pl.col(c).cast(pl.Float64, strict=False) for c in columns)
    for column in columns:
        bad = (cast[column].is_null() & frame[column].is_not_null()).arg_true()
        if len(bad):
            row = int(bad[0])
            raise ConversionError(
                f"{path.name} row {row + 1}, column {column!r}: "
                f"not a number: {frame[column][row]!r}"
            )
    return cast


def _source_rows(source: Source, source_dir: Path, battles: pl.DataFrame) -> pl.DataFrame:
    """One row per (source row, metric) with a disposition; figures where kept."""
    path = source_dir / source.forces
    raw = _read_strings(path)
    columns = sorted({c for pair in source.metrics.values() for c in pair})
    forces = _numbers(raw, columns, path).with_row_index("row", offset=1)
    unknown = forces.filter(~pl.col("belligerent").is_in(list(BELLIGERENTS)))
    if unknown.height:
        first = unknown.row(0, named=True)
        raise ConversionError(
            f"{path.name} row {first['row']}, column 'belligerent': "
            f"unknown side {first['belligerent']!r}"
        )
    if source.zero_is_unknown:
        forces = forces.with_columns(
            zero=pl.any_horizontal(pl.col(c) == 0 for c in columns).fill_null(False)
        ).with_columns(pl.when(pl.col(c) != 0).then(pl.col(c)).alias(c) for c in columns)
    else:
        forces = forces.with_columns(zero=pl.lit(False))
    long = pl.concat(
        [
            forces.select(
                "row",
                "zero",
                source_battle=pl.col(source.battle_column),
                stratum=pl.col("belligerent").replace_strict(BELLIGERENTS),
                metric=pl.lit(metric),
                low=pl.min_horizontal(low, high),
                high=pl.max_horizontal(low, high),
                swapped=pl.col(low) > pl.col(high),
            )
            for metric, (low, high) in source.metrics.items()
        ]
    )
    crosswalk = source.crosswalk(source_dir)
    linked = long.join(crosswalk, on="source_battle", how="left").with_columns(
        link=pl.col("link").fill_null(UNMAPPED)
    )
    has_figure = pl.col("low").is_not_null() | pl.col("high").is_not_null()
    known = pl.col("cwsac_id").is_in(battles["event_id"].implode())
    disposition = (
        pl.when(~has_figure & pl.col("zero"))
        .then(pl.lit(ZERO_UNKNOWN))
        .when(~has_figure)
        .then(pl.lit(NO_FIGURE))
        .when(pl.col("link") != KEPT)
        .then(pl.col("link"))
        .when(~known)
        .then(pl.lit(UNKNOWN_ID))
        .otherwise(pl.lit(KEPT))
    )
    linked = linked.with_columns(disposition=disposition)
    duplicate = (pl.col("disposition") == KEPT) & (
        pl.len().over("cwsac_id", "stratum", "metric", "disposition") > 1
    )
    return linked.with_columns(
        disposition=pl.when(duplicate)
        .then(pl.lit(DUPLICATE))
        .when((pl.col("disposition") == KEPT) & pl.col("swapped").fill_null(False))
        .then(pl.lit(KEPT_SWAPPED))
        .otherwise(pl.col("disposition")),
        outlet=pl.lit(source.outlet),
    )


def battle_dates(source_dir: Path) -> pl.DataFrame:
    """CWSAC battle ids with start dates: NPS combined list first, then the 1997 summaries."""
    nps = _read_strings(source_dir / "nps_battles.csv").select(
        event_id="cwsac_id", event_date=pl.col("start_date").str.to_date("%Y-%m-%d")
    )
    cwsac = _read_strings(source_dir / "cwsac_battles.csv").select(
        event_id="battle", event_date=pl.col("start_date").str.to_date("%Y-%m-%d")
    )
    return pl.concat([nps, cwsac.join(nps, on="event_id", how="anti")]).sort("event_id")


def _all_rows(source_dir: Path) -> pl.DataFrame:
    battles = battle_dates(source_dir)
    return pl.concat([_source_rows(source, source_dir, battles) for source in SOURCES])


def dispositions(source_dir: Path) -> pl.DataFrame:
    """Per source and metric, how many source rows became reports and why the others did not."""
    return (
        _all_rows(source_dir)
        .group_by("outlet", "metric", "disposition")
        .agg(rows=pl.len())
        .sort("outlet", "metric", "disposition")
    )


def build_reports(source_dir: Path) -> pl.DataFrame:
    """The canonical reports frame of every source (see :data:`SOURCES`)."""
    rows = _all_rows(source_dir).filter(pl.col("disposition").is_in([KEPT, KEPT_SWAPPED]))
    published = pl.DataFrame(
        {
            "outlet": [s.outlet for s in SOURCES],
            "published_at": [s.published_at for s in SOURCES],
        },
        schema={"outlet": pl.String(), "published_at": pl.Datetime("us", "UTC")},
    )
    reports = (
        rows.join(published, on="outlet")
        .join(battle_dates(source_dir), left_on="cwsac_id", right_on="event_id", how="left")
        .select(
            report_id=pl.concat_str("outlet", "source_battle", "stratum", "metric", separator="/"),
            event_id="cwsac_id",
            outlet="outlet",
            metric="metric",
            stratum="stratum",
            value=pl.when(pl.col("low") == pl.col("high")).then(pl.col("low")),
            low="low",
            high="high",
            kind=pl.when(pl.col("low") == pl.col("high"))
            .then(pl.lit(FigureKind.EXACT.value))
            .otherwise(pl.lit(FigureKind.RANGE.value)),
            published_at="published_at",
            event_date="event_date",
        )
    )
    return conform(reports, REPORTS).sort("event_id", "metric", "stratum", "outlet", "report_id")


_CONSENSUS_METRICS = {
    "casualties": "casualties_kwm",
    "killed": "casualties_k",
    "wounded": "casualties_w",
}


def build_consensus(source_dir: Path) -> pl.DataFrame:
    """NPS combined figures per battle and side; informative variances go in ``source``.

    NPS gives each figure a variance: that of a uniform distribution when the report gave a
    range, otherwise the rounding error implied by trailing zeros (1/12 for a figure given to
    the unit). The value stays a point; any variance above 1/12 is quoted in ``source``.
    """
    path = source_dir / "nps_forces.csv"
    columns = [f"{stem}_{part}" for stem in _CONSENSUS_METRICS.values() for part in ("mean", "var")]
    forces = _numbers(_read_strings(path), columns, path)
    long = pl.concat(
        [
            forces.select(
                event_id="cwsac_id",
                metric=pl.lit(metric),
                stratum=pl.col("belligerent").replace_strict(BELLIGERENTS),
                value=pl.col(f"{stem}_mean"),
                variance=pl.col(f"{stem}_var"),
            )
            for metric, stem in _CONSENSUS_METRICS.items()
        ]
    ).filter(pl.col("value").is_not_null())
    informative = pl.col("variance") > 1 / 12 + 1e-9
    consensus = long.select(
        "event_id",
        "metric",
        "stratum",
        "value",
        low="value",
        high="value",
        kind=pl.lit(FigureKind.EXACT.value),
        established_at=pl.lit(CONSENSUS_ESTABLISHED, pl.Datetime("us", "UTC")),
        source=pl.when(informative)
        .then(
            pl.format(
                "{}; NPS variance {}",
                pl.lit(CONSENSUS_SOURCE),
                pl.col("variance").round(1).cast(pl.String),
            )
        )
        .otherwise(pl.lit(CONSENSUS_SOURCE)),
    )
    return conform(consensus, CONSENSUS).sort("event_id", "metric", "stratum")


def build_outlets() -> pl.DataFrame:
    """The registry of the sources, with full citations as names."""
    outlets = pl.DataFrame(
        {
            "outlet": [s.outlet for s in SOURCES],
            "name": [s.name for s in SOURCES],
            "group": [s.group for s in SOURCES],
            "aliases": [list(s.aliases) for s in SOURCES],
            "country": [s.country for s in SOURCES],
        },
        schema=OUTLETS,
    )
    return conform(outlets, OUTLETS).sort("outlet")


def build(source_dir: Path) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Reports, consensus and outlet registry from an ``acw-battle-data`` directory.

    >>> source = Path("/work/shared/data/acw-battle-data")
    >>> reports, consensus, outlets = build(source)  # doctest: +SKIP
    >>> fox = reports.filter(pl.col("report_id") == "fox1898/U1/US/killed")  # doctest: +SKIP
    >>> fox["value"].item()  # doctest: +SKIP
    18.0
    """
    return build_reports(source_dir), build_consensus(source_dir), build_outlets()


DATASET_TOML = """\
[dataset]
name = "acw"
description = "American Civil War casualties by source (acw_battle_data v11, CC BY 4.0)"
reports = ["reports.csv"]
consensus = ["consensus.csv"]
outlets = "outlets.csv"

[scales]
casualties = "log"
killed = "log"
wounded = "log"

[model]
"""


def write(
    out_dir: Path,
    reports: pl.DataFrame,
    consensus: pl.DataFrame,
    outlets: pl.DataFrame,
    conversion: pl.DataFrame | None = None,
) -> None:
    """Write the dataset files (and the per-source dispositions when given) into ``out_dir``."""
    extra = {} if conversion is None else {"conversion.csv": conversion}
    write_dataset(out_dir, reports, consensus, outlets, DATASET_TOML, extra)


def main(argv: Sequence[str] | None = None) -> int:
    args = converter_arguments(
        "reliability.datasets.acw",
        "Convert acw_battle_data v11 into canonical reports, consensus and outlets.",
        "the acw-battle-data directory",
        "/work/shared/data/acw-battle-data seeds/acw",
        argv,
    )
    try:
        reports, consensus, outlets = build(args.source_dir)
        write(args.out_dir, reports, consensus, outlets, dispositions(args.source_dir))
    except ConversionError as err:
        print(f"error: {err}", file=sys.stderr)
        return INPUT_ERROR
    print(f"{reports.height} reports, {consensus.height} consensus rows -> {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
