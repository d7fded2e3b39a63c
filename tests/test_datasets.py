"""The shipped real datasets: reproducible from the originals, canonical, true to their sources."""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from reliability.cli import main
from reliability.dataset import load_dataset
from reliability.datasets import DATASETS, REPO_ROOT, acw, dataset_path, polls
from reliability.datasets.files import CONSENSUS_COLUMNS, OUTLET_COLUMNS, REPORT_COLUMNS

SHARED = Path("/work/shared/data")
ACW_SOURCE = SHARED / "acw-battle-data"
POLLS_SOURCE = SHARED / "fivethirtyeight-polls"
ACW = REPO_ROOT / "seeds" / "acw"
POLLS = REPO_ROOT / "benchmarks" / "data" / "polls"
SYRIA = REPO_ROOT / "seeds" / "syria-2019-04"

needs_acw = pytest.mark.skipif(
    not ACW_SOURCE.is_dir(), reason=f"original ACW data not present at {ACW_SOURCE}"
)
needs_polls = pytest.mark.skipif(
    not POLLS_SOURCE.is_dir(), reason=f"original FiveThirtyEight data not present at {POLLS_SOURCE}"
)


def read(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, infer_schema_length=0)


def numbers(frame: pl.DataFrame, column: str) -> pl.Series:
    return frame[column].cast(pl.Float64)


def shipped_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.suffix in (".csv", ".toml"))


# Reproducibility -------------------------------------------------------------------------


@needs_acw
def test_acw_rebuilds_byte_identically(tmp_path: Path) -> None:
    assert acw.main([str(ACW_SOURCE), str(tmp_path)]) == 0
    assert shipped_files(tmp_path) == shipped_files(ACW)
    for name in shipped_files(ACW):
        assert (tmp_path / name).read_bytes() == (ACW / name).read_bytes(), name


@needs_polls
def test_polls_rebuild_byte_identically_through_python_m(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "reliability.datasets.polls", str(POLLS_SOURCE), str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert shipped_files(tmp_path) == shipped_files(POLLS)
    for name in shipped_files(POLLS):
        assert (tmp_path / name).read_bytes() == (POLLS / name).read_bytes(), name


# Known answers, checked by hand against the originals ---------------------------------------


def test_acw_fox_big_bethel_and_its_consensus() -> None:
    # Fox (1898) row U1, "Big Bethel, Va.", 1861-06-10: 18 killed, 53 wounded, 76 in all.
    reports = read(ACW / "reports.csv").filter(pl.col("outlet") == "fox1898")
    fox = {r["metric"]: r for r in reports.filter(pl.col("event_id") == "VA003").to_dicts()}
    assert {m: fox[m]["value"] for m in fox} == {
        "killed": "18",
        "wounded": "53",
        "casualties": "76",
    }
    assert fox["killed"]["report_id"] == "fox1898/U1/US/killed"
    assert fox["killed"]["stratum"] == "US"
    assert fox["killed"]["event_date"] == "1861-06-10"
    assert fox["killed"]["published_at"] == "1898-01-01T00:00:00Z"
    consensus = read(ACW / "consensus.csv").filter(
        (pl.col("event_id") == "VA003") & (pl.col("metric") == "casualties")
    )
    assert dict(zip(consensus["stratum"], consensus["value"], strict=True)) == {
        "Confederate": "8",
        "US": "76",
    }


def test_acw_ranges_and_swapped_bounds() -> None:
    reports = read(ACW / "reports.csv")
    kennedy = reports.filter(pl.col("outlet") == "kennedy1997").to_dicts()
    by_id = {r["report_id"]: r for r in kennedy}
    # Second Petersburg: Kennedy gives 2,974-4,700 Confederate casualties.
    petersburg = by_id["kennedy1997/VA063/Confederate/casualties"]
    assert (petersburg["value"], petersburg["low"], petersburg["high"]) == (None, "2974", "4700")
    # Dallas (GA011): the source's minimum 1,500 exceeds its maximum 1,000.
    dallas = by_id["kennedy1997/GA011/Confederate/casualties"]
    assert (dallas["low"], dallas["high"]) == ("1000", "1500")
    conversion = read(ACW / "conversion.csv")
    assert acw.KEPT_SWAPPED in conversion["disposition"].to_list()


def test_acw_consensus_quotes_informative_nps_variance() -> None:
    consensus = read(ACW / "consensus.csv")
    row = consensus.filter(
        (pl.col("event_id") == "VA063")
        & (pl.col("metric") == "casualties")
        & (pl.col("stratum") == "Confederate")
    ).row(0, named=True)
    assert row["value"] == "4700"
    assert row["source"] == f"{acw.CONSENSUS_SOURCE}; NPS variance 833.3"
    assert set(consensus["source"].str.split(";").list.first()) == {acw.CONSENSUS_SOURCE}


def test_acw_aggregates_never_become_reports() -> None:
    reports = read(ACW / "reports.csv")
    # Kennedy prints one figure for VA032-VA034 (Chancellorsville) and for the Suffolk siege.
    assert not reports.filter(
        (pl.col("outlet") == "kennedy1997") & pl.col("event_id").is_in(["VA031", "VA032"])
    ).height
    # Fox U160 is the whole Atlanta campaign; U87-U89 are summed into Vicksburg (MS011).
    ids = set(reports["report_id"].str.split("/").list.get(1))
    assert not {"U160", "U87", "U88", "U89"} & ids
    # Livermore gives no total, and none is synthesised from its components.
    assert set(reports.filter(pl.col("outlet") == "livermore1900")["metric"]) == {
        "killed",
        "wounded",
    }


@needs_acw
def test_acw_conversion_accounts_for_every_source_row() -> None:
    conversion = read(ACW / "conversion.csv").with_columns(pl.col("rows").cast(pl.Int64))
    reports = read(ACW / "reports.csv")
    for source in acw.SOURCES:
        source_rows = read(ACW_SOURCE / source.forces).height
        mine = conversion.filter(pl.col("outlet") == source.outlet)
        for metric in source.metrics:
            per_metric = mine.filter(pl.col("metric") == metric)
            assert per_metric["rows"].sum() == source_rows, (source.outlet, metric)
            kept = per_metric.filter(pl.col("disposition").str.starts_with(acw.KEPT))
            shipped = reports.filter(
                (pl.col("outlet") == source.outlet) & (pl.col("metric") == metric)
            )
            assert kept["rows"].sum() == shipped.height, (source.outlet, metric)


def test_polls_known_race() -> None:
    reports = read(POLLS / "reports.csv")
    poll = reports.filter(pl.col("report_id") == "538-q87909").row(0, named=True)
    assert poll["event_id"] == "1998_Gov-G_NY"
    assert poll["outlet"] == "blum-weprin-associates"
    assert poll["value"] == "-31"
    assert poll["published_at"] == "1998-10-13T00:00:00Z"
    assert poll["event_date"] == "1998-11-03"
    consensus = read(POLLS / "consensus.csv").filter(pl.col("event_id") == "1998_Gov-G_NY")
    assert consensus["value"].to_list() == ["-21.15"]
    ids = read(POLLS / "pollster-ids.csv").filter(pl.col("outlet") == "blum-weprin-associates")
    assert ids["pollster_rating_id"].to_list() == ["32"]


def test_polls_ratings_rows_are_matched_by_name() -> None:
    ratings = read(POLLS / "pollster-ratings-2016.csv")
    ids = read(POLLS / "pollster-ids.csv")
    assert ids["outlet"].is_unique().all()
    assert set(ids["outlet"]) == set(read(POLLS / "outlets.csv")["outlet"])
    matched = ids.filter(pl.col("ratings_2016_id").is_not_null())
    assert matched["ratings_2016_id"].is_unique().all()
    names = dict(zip(ratings["ID"], ratings["Pollster"], strict=True))
    for row in matched.to_dicts():
        rated = pl.DataFrame({"p": [names[row["ratings_2016_id"]]]}).select(polls.slug("p"))
        assert rated["p"].item() == row["outlet"]
    surveyusa = ids.filter(pl.col("outlet") == "surveyusa").row(0, named=True)
    assert surveyusa["ratings_2016_id"] == "12"  # not its pollster_rating_id: another numbering
    assert surveyusa["pollster_rating_id"] != surveyusa["ratings_2016_id"]


def test_polls_group_is_the_most_used_methodology() -> None:
    raw = pl.DataFrame(
        {
            "outlet": ["a", "a", "a", "b", "b"],
            "pollster": ["A", "A", "A", "B", "B"],
            "methodology": ["IVR", "Online", "IVR", "Online", "IVR"],
        }
    )
    groups = polls.build_outlets(raw).select("outlet", "group").rows()
    assert groups == [("a", "IVR"), ("b", "IVR")]  # a tie goes to the alphabetically first


def test_polls_slugs() -> None:
    names = pl.DataFrame({"p": ["Marist College", "YouGov/CBS News", "Ipsos ", "Público Ltd."]})
    assert names.select(polls.slug("p"))["p"].to_list() == [
        "marist-college",
        "yougov-cbs-news",
        "ipsos",
        "publico-ltd",
    ]


# Canonical shape of every shipped file --------------------------------------------------------


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_shipped_files_are_canonical(name: str) -> None:
    directory = dataset_path(name).parent
    reports = read(directory / "reports.csv")
    outlets = read(directory / "outlets.csv")
    assert tuple(reports.columns) == REPORT_COLUMNS
    assert tuple(outlets.columns) == OUTLET_COLUMNS
    for column in ("report_id", "event_id", "outlet", "metric"):
        assert reports[column].null_count() == 0, column
    assert reports["report_id"].is_unique().all()
    value, low, high = (numbers(reports, c) for c in ("value", "low", "high"))
    for series in (value, low, high):
        assert not series.is_nan().any()
    assert ((low <= high) | low.is_null() | high.is_null()).all()
    figure = value.is_not_null() | low.is_not_null() | high.is_not_null()
    assert figure.all()
    # A value is written alone; bounds alone.
    assert not (value.is_not_null() & (low.is_not_null() | high.is_not_null())).any()
    registered = set(outlets["outlet"])
    assert outlets["outlet"].is_unique().all()
    assert set(reports["outlet"]) <= registered
    assert set(reports["cites"].drop_nulls()) <= registered
    pl.Series(reports["published_at"].drop_nulls()).str.to_datetime(
        "%Y-%m-%dT%H:%M:%SZ", strict=True
    )
    consensus_path = directory / "consensus.csv"
    if consensus_path.exists():
        consensus = read(consensus_path)
        assert tuple(consensus.columns) == CONSENSUS_COLUMNS
        assert not numbers(consensus, "value").is_nan().any()
        assert consensus.select("event_id", "metric", "stratum").is_unique().all()


@pytest.mark.parametrize("directory", [ACW, POLLS])
def test_every_converted_report_has_its_event_date(directory: Path) -> None:
    # Every ACW battle and every election in the originals has a date.
    assert read(directory / "reports.csv")["event_date"].null_count() == 0


def test_acw_strata_and_metrics() -> None:
    reports = read(ACW / "reports.csv")
    assert set(reports["stratum"]) == {"US", "Confederate", "Native American"}
    assert set(reports["metric"]) == {"casualties", "killed", "wounded"}
    assert set(reports["outlet"]) == {s.outlet for s in acw.SOURCES}


# The Syria seed ---------------------------------------------------------------------------------


def test_syria_rows_match_the_article() -> None:
    reports = read(SYRIA / "reports.csv")
    rows = {r["report_id"]: r for r in reports.to_dicts()}
    assert set(reports["metric"]) == {"killed"}
    assert set(reports["stratum"]) == {"regime"}
    sohr = rows["sohr-homs-desert-48h"]
    assert (sohr["outlet"], sohr["event_id"], sohr["value"], sohr["cites"]) == (
        "sohr",
        "homs-desert-48h-2019-04-20",
        "27",
        None,
    )
    assert rows["afp-homs-desert-48h"]["cites"] == "sohr"
    april = rows["almasdar-april-ambushes"]
    assert (april["figure_text"], april["low"], april["high"]) == ("more than 50", "51", None)
    palmyra = rows["almasdar-palmyra-ambush"]
    assert (palmyra["event_id"], palmyra["low"], palmyra["event_date"]) == (
        "palmyra-ambush-2019-04-19",
        "16",
        "2019-04-19",
    )
    assert rows["almasdar-earlier-attack"]["value"] == "35"
    headline = rows["rudaw-april-ambushes-headline"]
    assert (headline["figure_text"], headline["low"], headline["high"]) == ("dozens", "24", "99")
    repeats = reports.filter((pl.col("outlet") == "rudaw") & pl.col("cites").is_not_null())
    assert sorted(repeats["cites"]) == ["almasdar", "almasdar", "almasdar", "sohr"]
    assert set(repeats["published_at"]) == {"2019-04-20T00:00:00Z"}
    assert not (SYRIA / "consensus.csv").exists()


def test_syria_registry() -> None:
    outlets = {r["outlet"]: r for r in read(SYRIA / "outlets.csv").to_dicts()}
    assert set(outlets) == {"sohr", "almasdar", "amaq", "rudaw", "afp", "isw"}
    assert outlets["almasdar"]["group"] == "regime-aligned"
    assert "Al-Marsdar News" in outlets["almasdar"]["aliases"].split(";")
    assert outlets["sohr"]["group"] == "monitor"
    assert outlets["amaq"]["group"] == "militant"


# Loading through the project's loaders -------------------------------------------------------


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_dataset_loads_cleanly(name: str) -> None:
    dataset = load_dataset(dataset_path(name))
    shipped = read(dataset_path(name).parent / "reports.csv")
    assert dataset.reports.height == shipped.height
    assert not dataset.reports["low"].is_nan().any()
    assert dataset.registry is not None
    assert not [note for note in dataset.notes if "not in the registry" in note]


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_reliability_load_accepts_the_dataset(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["load", "--config", str(dataset_path(name))]) == 0
    assert f"Dataset {name}:" in capsys.readouterr().out


def test_loaded_syria_figures_resolve_as_the_parser_would() -> None:
    frame = load_dataset(DATASETS["syria-2019-04"]).reports
    resolved = zip(frame["kind"], frame["low"], frame["high"], strict=True)
    kinds = dict(zip(frame["report_id"], resolved, strict=True))
    assert kinds["almasdar-april-ambushes"] == ("at_least", 51.0, math.inf)
    assert kinds["rudaw-april-ambushes-headline"] == ("range", 24.0, 99.0)
    assert kinds["sohr-homs-desert-48h"] == ("exact", 27.0, 27.0)


@needs_acw
def test_loaded_acw_equals_the_built_frames() -> None:
    built, built_consensus, _ = acw.build(ACW_SOURCE)
    dataset = load_dataset(DATASETS["acw"])
    columns = ["report_id", "event_id", "outlet", "metric", "stratum", "low", "high", "kind"]
    key = ["report_id"]
    assert dataset.reports.select(columns).sort(key).equals(built.select(columns).sort(key))
    assert dataset.consensus is not None
    assert dataset.consensus.height == built_consensus.height


# Bad input gets a clear error ------------------------------------------------------------------


@needs_acw
def test_acw_bad_number_names_file_row_and_column(tmp_path: Path) -> None:
    source = tmp_path / "acw"
    shutil.copytree(ACW_SOURCE, source)
    forces = source / "fox_forces.csv"
    killed = pl.Series(read(forces)["killed"]).scatter(2, "lots")
    read(forces).with_columns(killed=killed).write_csv(forces)
    with pytest.raises(acw.ConversionError, match=r"fox_forces.csv row 3, column 'killed'.*'lots'"):
        acw.build(source)


def test_polls_missing_column_and_disagreeing_results(tmp_path: Path) -> None:
    (tmp_path / polls.RAW_POLLS).write_text("race,pollster\nx,y\n", encoding="utf-8")
    with pytest.raises(polls.ConversionError, match="missing column 'question_id'"):
        polls.read_polls(tmp_path)
    races = pl.DataFrame(
        {
            "race": ["r1", "r1", "r2"],
            "margin_actual": [1.0, 2.0, 3.0],
            "electiondate": ["d", "d", "d"],
        }
    )
    with pytest.raises(polls.ConversionError, match=r"1 races carry more than one .* e\.g\. r1"):
        polls.check_results(races)


def test_polls_bad_margin_names_row(tmp_path: Path) -> None:
    header = ",".join(polls._REQUIRED)
    good = "1,R,P,7,IVR,10/1/2000,3.5,11/7/2000,2.0"
    bad = "2,R,P,7,IVR,10/2/2000,abc,11/7/2000,2.0"
    (tmp_path / polls.RAW_POLLS).write_text(f"{header}\n{good}\n{bad}\n", encoding="utf-8")
    with pytest.raises(polls.ConversionError, match=r"row 2, column 'margin_poll'.*'abc'"):
        polls.read_polls(tmp_path)


def test_unknown_dataset_name_lists_the_known_ones() -> None:
    with pytest.raises(KeyError, match="shipped datasets: acw, polls, syria-2019-04"):
        dataset_path("nope")
