"""Loading and validating report, consensus and outlet files."""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, date, datetime
from pathlib import Path

import msgspec
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reliability import frames
from reliability.figures import FigureError, resolve_figure
from reliability.loaders import (
    check_coverage,
    content_hash,
    load_consensus,
    load_registry,
    load_reports,
)
from reliability.problems import InputError, Problem
from reliability.scales import Scale


def write(directory: Path, name: str, text: str | bytes) -> Path:
    path = directory / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def problems_of(paths: list[Path], **kwargs: object) -> list[Problem]:
    with pytest.raises(InputError) as info:
        load_reports(paths, **kwargs)  # type: ignore[arg-type]
    return info.value.problems


def only_problem(path: Path, **kwargs: object) -> Problem:
    problems = problems_of([path], **kwargs)
    assert len(problems) == 1, problems
    return problems[0]


HEADER = "event_id,outlet,metric,value,low,high,figure_text\n"


# Figures ---------------------------------------------------------------------------------------


def test_numeric_figures_resolve_to_intervals(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "reports.csv",
        HEADER
        + "e1,a,killed,12,,,\n"
        + "e1,b,killed,,10,20,\n"
        + "e1,c,killed,,15,15,\n"
        + "e1,d,killed,,30,,\n"
        + "e1,e,killed,,,40,\n"
        + "e1,f,margin,,,-2.5,\n",
    )
    frame = load_reports([path], scales={"margin": Scale.LINEAR}).frame
    assert frame.select("outlet", "low", "high", "kind").rows() == [
        ("a", 12.0, 12.0, "exact"),
        ("b", 10.0, 20.0, "range"),
        ("c", 15.0, 15.0, "exact"),
        ("d", 30.0, math.inf, "at_least"),
        ("e", 0.0, 40.0, "at_most"),
        ("f", -math.inf, -2.5, "at_most"),
    ]
    assert frame.schema == pl.Schema(frames.REPORTS)


def test_figure_text_is_parsed(tmp_path: Path) -> None:
    path = write(tmp_path, "reports.csv", HEADER + "e1,a,,,,,more than 50\ne1,b,,,,,more than 50\n")
    frame = load_reports([path]).frame
    expected = resolve_figure(value=None, low=None, high=None, text="more than 50", count=True)
    assert (
        frame.select("low", "high", "kind").rows()
        == [(expected.low, expected.high, expected.kind.value)] * 2
    )
    assert frame.get_column("value").null_count() == 2
    assert frame.get_column("figure_text").to_list() == ["more than 50"] * 2


numbers = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-5, 100).map(float),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=numbers, low=numbers, high=numbers, count=st.booleans())
def test_numbers_resolve_like_resolve_figure(
    tmp_path: Path, value: float | None, low: float | None, high: float | None, count: bool
) -> None:
    """The vectorised rules agree with resolve_figure: same interval, or both reject the row.

    An infinite bound on the open side means an empty bound (that is how frames are saved).
    """
    frame = pl.DataFrame(
        {
            "event_id": ["e"],
            "outlet": ["o"],
            "metric": ["m"],
            "value": [value],
            "low": [low],
            "high": [high],
        },
        schema_overrides={"value": pl.Float64, "low": pl.Float64, "high": pl.Float64},
    )
    path = tmp_path / "numbers.parquet"
    frame.write_parquet(path)
    scales = {} if count else {"m": Scale.LINEAR}
    low = None if low == -math.inf else low
    high = None if high == math.inf else high
    try:
        expected = resolve_figure(value=value, low=low, high=high, text=None, count=count)
    except FigureError:
        with pytest.raises(InputError):
            load_reports([path], scales=scales)
        return
    loaded = load_reports([path], scales=scales).frame
    assert loaded.select("low", "high", "kind").row(0) == (
        expected.low,
        expected.high,
        expected.kind.value,
    )


# Row problems ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "column", "reason"),
    [
        ("e1,a,killed,abc,,,", "value", "not a number: 'abc'"),
        ("e1,a,killed,-3,,,", "value", "negative count -3"),
        ("e1,a,killed,nan,,,", "value", "value is NaN"),
        ("e1,a,killed,,inf,,", "low", "low is infinite"),
        ("e1,a,killed,,30,20,", "low", "low 30 is greater than high 20"),
        ("e1,a,killed,,2.5,1,", "low", "low 2.5 is greater than high 1"),
        ("e1,,killed,4,,,", "outlet", "required value is empty"),
        (" ,a,killed,4,,,", "event_id", "required value is empty"),
        ("e1,a,killed,,,,", "value", "no figure: give value, low/high or figure text"),
    ],
)
def test_row_problem_names_row_column_and_reason(
    tmp_path: Path, row: str, column: str, reason: str
) -> None:
    path = write(tmp_path, "reports.csv", HEADER + "e0,a,killed,1,,,\n" + row + "\n")
    assert only_problem(path) == Problem(file=str(path), row=2, column=column, reason=reason)


def test_unparseable_figure_text_gives_the_parser_reason(tmp_path: Path) -> None:
    path = write(tmp_path, "reports.csv", HEADER + "e1,a,killed,,,,lots and lots\n")
    with pytest.raises(FigureError) as parse:
        resolve_figure(value=None, low=None, high=None, text="lots and lots", count=True)
    assert only_problem(path) == Problem(
        file=str(path), row=1, column="figure_text", reason=parse.value.reason
    )


def test_bad_datetime_and_date(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "reports.csv",
        "event_id,outlet,value,published_at,event_date\n"
        "e1,a,1,2024-03-01T12:00:00Z,2024-02-28\n"
        "e1,b,1,yesterday,2024-02-30\n",
    )
    assert problems_of([path]) == [
        Problem(
            file=str(path),
            row=2,
            column="published_at",
            reason="not a date-time (use ISO 8601, e.g. 2024-03-01T12:00:00Z): 'yesterday'",
        ),
        Problem(
            file=str(path),
            row=2,
            column="event_date",
            reason="not a date (use YYYY-MM-DD): '2024-02-30'",
        ),
    ]


def test_datetimes_in_mixed_formats_become_utc(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "reports.csv",
        "event_id,outlet,value,published_at\n"
        "e1,a,1,2024-03-01\n"
        "e1,b,1,2024-03-01T12:00:00Z\n"
        "e1,c,1,2024-03-01 14:30:00+02:00\n"
        "e1,d,1,2024-03-01T12:00:00.250\n",
    )
    published = load_reports([path]).frame.get_column("published_at").to_list()
    assert published == [
        datetime(2024, 3, 1, tzinfo=UTC),
        datetime(2024, 3, 1, 12, tzinfo=UTC),
        datetime(2024, 3, 1, 12, 30, tzinfo=UTC),
        datetime(2024, 3, 1, 12, 0, 0, 250000, tzinfo=UTC),
    ]


def test_a_saved_canonical_frame_loads_back(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "reports.csv",
        HEADER + "e1,a,killed,,30,,\ne1,b,margin,,,-2,\n",
    )
    first = load_reports([path], scales={"margin": Scale.LINEAR}).frame
    saved = first.write_csv(tmp_path / "saved.csv")
    assert saved is None
    again = load_reports([tmp_path / "saved.csv"], scales={"margin": Scale.LINEAR}).frame
    assert again.select("low", "high").equals(first.select("low", "high"))
    assert first.select("low", "high", "kind").rows() == [
        (30.0, math.inf, "at_least"),
        (-math.inf, -2.0, "at_most"),
    ]


def test_linear_metrics_accept_negatives_but_not_nan(tmp_path: Path) -> None:
    path = write(tmp_path, "reports.csv", HEADER + "e1,a,margin,-4.5,,,\ne1,b,margin,NaN,,,\n")
    scales = {"margin": Scale.LINEAR}
    assert only_problem(path, scales=scales) == Problem(
        file=str(path), row=2, column="value", reason="value is NaN"
    )
    good = write(tmp_path, "good.csv", HEADER + "e1,a,margin,-4.5,,,\n")
    assert load_reports([good], scales=scales).frame.get_column("low").to_list() == [-4.5]


def test_all_problems_are_collected_and_the_message_is_capped(tmp_path: Path) -> None:
    rows = "".join(f"e{i},a,killed,-{i + 1},,,\n" for i in range(25))
    path = write(tmp_path, "reports.csv", HEADER + rows)
    with pytest.raises(InputError) as info:
        load_reports([path])
    assert [p.row for p in info.value.problems] == list(range(1, 26))
    message = str(info.value)
    assert message.startswith("25 problems in the input:")
    assert f"{path} row 20, column 'value': negative count -20" in message
    assert "row 21," not in message
    assert message.endswith("… and 5 more")


def test_duplicate_report_ids_with_different_content_name_both_rows(tmp_path: Path) -> None:
    first = write(tmp_path, "a.csv", "report_id,event_id,outlet,value\nr1,e1,x,5\nr2,e1,y,6\n")
    second = write(tmp_path, "b.csv", "report_id,event_id,outlet,value\nr1,e1,x,7\n")
    assert problems_of([first, second]) == [
        Problem(
            file=str(first),
            row=1,
            column="report_id",
            reason=f"report_id 'r1' is used with different content at {second} row 1",
        ),
        Problem(
            file=str(second),
            row=1,
            column="report_id",
            reason=f"report_id 'r1' is used with different content at {first} row 1",
        ),
    ]


def test_identical_duplicates_are_collapsed_and_counted(tmp_path: Path) -> None:
    path = write(tmp_path, "reports.csv", HEADER + "e1,a,killed,5,,,\n" * 3 + "e1,b,killed,5,,,\n")
    loaded = load_reports([path])
    assert loaded.frame.get_column("outlet").to_list() == ["a", "b"]
    assert "collapsed 2 identical duplicate row(s)" in loaded.notes


def test_unknown_columns_are_noted_not_lost_silently(tmp_path: Path) -> None:
    path = write(tmp_path, "reports.csv", "event_id,outlet,value,comment\ne1,a,5,hi\n")
    assert f"{path}: ignored unknown column(s) 'comment'" in load_reports([path]).notes


# File problems ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "row", "reason"),
    [
        ("reports.csv", b"", None, "file is empty"),
        ("reports.csv", b"event_id,outlet,value\n", None, "has a header but no rows"),
        ("reports.ndjson", b"", None, "file is empty"),
        ("reports.json", b"[]", None, "has no rows"),
        (
            "reports.csv",
            b"event_id,outlet,value\ne1,a,1\ne2,b\xff,2\n",
            2,
            "not valid UTF-8 (byte 0xff on line 3); save the file as UTF-8",
        ),
        (
            "reports.ndjson",
            b'{"event_id": "e1", "outlet": "a", "value": 1}\n{"event_id": "\xe9"}\n',
            2,
            "not valid UTF-8 (byte 0xe9 on line 2); save the file as UTF-8",
        ),
        (
            "reports.csv",
            b"event_id,outlet,value\ne1,a,1\ne2,b,2,extra\n",
            2,
            "has 4 fields but the header has 3",
        ),
        (
            "reports.json",
            b'{"event_id": "e1"}',
            None,
            "expected a JSON array of objects, found an object",
        ),
        ("reports.json", b'[{"event_id": "e1"}, 3]', 2, "expected a JSON object, found a number"),
        ("reports.parquet", b"not parquet at all", None, "cannot read parquet file: *"),
        (
            "reports.xlsx",
            b"PK",
            None,
            "unknown file extension '.xlsx' (expected .csv, .parquet, .ndjson, .jsonl, .json)",
        ),
        (
            "reports.csv",
            b"event_id,event_id,value\ne1,e2,1\n",
            None,
            "column 'event_id' appears more than once in the header",
        ),
    ],
)
def test_file_level_problems(
    tmp_path: Path, name: str, content: bytes, row: int | None, reason: str
) -> None:
    """Each problem is the only one; a reason ending in ``*`` is a prefix of the message."""
    path = write(tmp_path, name, content)
    problem = only_problem(path)
    assert (problem.file, problem.row, problem.column) == (str(path), row, None)
    if reason.endswith("*"):
        assert problem.reason.startswith(reason[:-1])
    else:
        assert problem.reason == reason


def test_invalid_ndjson_line_is_located(tmp_path: Path) -> None:
    path = write(
        tmp_path, "reports.ndjson", '{"event_id": "e1", "outlet": "a", "value": 1}\n{"event_id":\n'
    )
    problem = only_problem(path)
    assert (problem.row, problem.reason.startswith("invalid JSON")) == (2, True)


def test_missing_file_and_missing_columns(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    columns = write(tmp_path, "reports.csv", "event,source,count\ne1,a,3\n")
    assert problems_of([missing, columns]) == [
        Problem(file=str(missing), reason="file not found"),
        Problem(
            file=str(columns), column="event_id", reason="required column 'event_id' is missing"
        ),
        Problem(file=str(columns), column="outlet", reason="required column 'outlet' is missing"),
        Problem(
            file=str(columns),
            reason="no figure column: give at least one of value, low, high, figure_text",
        ),
    ]


def test_wrongly_typed_parquet_column(tmp_path: Path) -> None:
    path = tmp_path / "reports.parquet"
    pl.DataFrame({"event_id": ["e1"], "outlet": ["a"], "value": [[1.0]]}).write_parquet(path)
    assert only_problem(path) == Problem(
        file=str(path),
        column="value",
        reason="expected numbers, but the column holds List(Float64)",
    )


# Lenient mode ----------------------------------------------------------------------------------


def test_lenient_mode_writes_rejects_and_keeps_good_rows(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "reports.csv",
        "event_id,outlet,value,note\ne1,a,5,ok\ne1,b,abc,typo\ne2,,-1,two problems\ne2,c,7,ok\n",
    )
    rejects = tmp_path / "out" / "rejects.csv"
    loaded = load_reports([path], lenient=True, rejects=rejects)
    assert loaded.frame.get_column("outlet").to_list() == ["a", "c"]
    assert loaded.rejected == 2
    assert f"rejected 2 row(s) with problems (written to {rejects})" in loaded.notes
    written = pl.read_csv(rejects, infer_schema=False)
    assert written.columns == ["event_id", "outlet", "value", "note", "file", "row", "reason"]
    assert written.rows() == [
        ("e1", "b", "abc", "typo", str(path), "2", "value: not a number: 'abc'"),
        (
            "e2",
            None,
            "-1",
            "two problems",
            str(path),
            "3",
            "outlet: required value is empty; value: negative count -1",
        ),
    ]


def test_lenient_mode_still_raises_for_file_problems(tmp_path: Path) -> None:
    good = write(tmp_path, "good.csv", "event_id,outlet,value\ne1,a,5\ne1,b,x\n")
    broken = write(tmp_path, "broken.csv", "event_id,value\ne1,5\n")
    with pytest.raises(InputError) as info:
        load_reports([good, broken], lenient=True, rejects=tmp_path / "rejects.csv")
    assert info.value.problems == [
        Problem(file=str(broken), column="outlet", reason="required column 'outlet' is missing")
    ]


def test_lenient_mode_without_rejects_file_lists_problems_in_notes(tmp_path: Path) -> None:
    path = write(tmp_path, "reports.csv", "event_id,outlet,value\ne1,a,5\ne1,b,x\n")
    loaded = load_reports([path], lenient=True)
    assert loaded.rejected == 1
    assert f"  {path} row 2, column 'value': not a number: 'x'" in loaded.notes


# Formats ---------------------------------------------------------------------------------------


def sample_frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "report_id": ["r1", None, None],
            "event_id": ["e1", "e1", "e2"],
            "outlet": ["a", "b", "a"],
            "metric": ["killed", "killed", "margin"],
            "stratum": [None, "north", None],
            "value": [12.0, None, -3.5],
            "low": [None, 10.0, None],
            "high": [None, 20.0, None],
            "published_at": [
                datetime(2024, 3, 1, 12, tzinfo=UTC),
                None,
                datetime(2024, 3, 2, tzinfo=UTC),
            ],
            "event_date": [date(2024, 2, 28), None, None],
            "cites": [None, "a", None],
        }
    )


def write_as(frame: pl.DataFrame, path: Path) -> Path:
    if path.suffix == ".parquet":
        frame.write_parquet(path)
    elif path.suffix == ".ndjson":
        frame.write_ndjson(path)
    elif path.suffix == ".json":
        frame.write_json(path)
    else:
        frame.write_csv(path)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".ndjson", ".json"])
def test_every_format_loads_to_the_same_frame(tmp_path: Path, suffix: str) -> None:
    scales = {"margin": Scale.LINEAR}
    expected = load_reports([write_as(sample_frame(), tmp_path / "r.csv")], scales=scales).frame
    path = write_as(sample_frame(), tmp_path / f"reports{suffix}")
    assert load_reports([path], scales=scales).frame.equals(expected)
    assert expected.get_column("report_id")[0] == "r1"
    assert expected.get_column("kind").to_list() == ["exact", "range", "exact"]


def test_jsonl_extension_is_ndjson(tmp_path: Path) -> None:
    path = write(tmp_path, "reports.jsonl", '{"event_id": "e1", "outlet": "a", "value": 3}\n')
    assert load_reports([path]).frame.get_column("value").to_list() == [3.0]


def test_json_values_of_the_wrong_type_are_named(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "reports.ndjson",
        '{"event_id": "e1", "outlet": "a", "value": 3}\n'
        '{"event_id": "e2", "outlet": "a", "value": "many"}\n',
    )
    assert only_problem(path) == Problem(
        file=str(path), row=2, column="value", reason="not a number: 'many'"
    )


# Report ids ------------------------------------------------------------------------------------


def test_report_id_is_a_stable_content_hash(tmp_path: Path) -> None:
    path = write(tmp_path, "reports.csv", "event_id,outlet,value\ne1,bbc,12\n")
    report_id = load_reports([path]).frame.get_column("report_id")[0]
    content = ["e1", "bbc", "killed", None, 12.0, None, None, None, None, None, None]
    assert report_id == hashlib.sha256(msgspec.json.encode(content)).hexdigest()[:16]
    assert report_id == "e1299729a1cc8b24"

    dated = write(
        tmp_path, "dated.csv", "event_id,outlet,value,published_at\ne1,bbc,12,2024-03-01\n"
    )
    content[8] = "2024-03-01T00:00:00.000000Z"
    expected = hashlib.sha256(msgspec.json.encode(content)).hexdigest()[:16]
    assert load_reports([dated]).frame.get_column("report_id")[0] == expected


def test_categorical_text_columns_from_parquet(tmp_path: Path) -> None:
    path = tmp_path / "reports.parquet"
    frame = pl.DataFrame({"event_id": ["e1", "e2"], "outlet": ["a ", "b"], "value": [1, 2]})
    frame.with_columns(pl.col("outlet").cast(pl.Categorical)).write_parquet(path)
    assert load_reports([path]).frame.get_column("outlet").to_list() == ["a", "b"]


def test_report_id_uses_canonical_outlet_after_aliases(tmp_path: Path) -> None:
    outlets = write(tmp_path, "outlets.csv", "outlet,aliases\nbbc,BBC News;BBC\n")
    registry = load_registry(outlets)
    by_alias = write(tmp_path, "a.csv", "event_id,outlet,value\ne1,BBC News,12\n")
    by_id = write(tmp_path, "b.csv", "event_id,outlet,value\ne1,bbc,12\n")
    ids = [
        load_reports([p], registry=registry).frame.get_column("report_id")[0]
        for p in (by_alias, by_id)
    ]
    assert ids[0] == ids[1]


# Registry and aliases --------------------------------------------------------------------------


def test_aliases_resolve_outlets_and_cites_with_notes(tmp_path: Path) -> None:
    outlets = write(
        tmp_path,
        "outlets.csv",
        "outlet,name,group,aliases,country\n"
        "bbc,BBC,public, BBC News ; BBC World ;,UK\n"
        "cnn,CNN,cable,,US\n",
    )
    reports = write(
        tmp_path,
        "reports.csv",
        "event_id,outlet,value,cites\n"
        "e1,BBC News,5,\ne1,cnn,6,BBC World\ne1,BBC News,7,\ne1,fox,8,\n",
    )
    registry = load_registry(outlets)
    assert registry.aliases == {"BBC News": "bbc", "BBC World": "bbc"}
    assert registry.frame.get_column("aliases").to_list() == [["BBC News", "BBC World"], []]
    loaded = load_reports([reports], registry=registry)
    assert loaded.frame.get_column("outlet").to_list() == ["bbc", "cnn", "bbc", "fox"]
    assert loaded.frame.get_column("cites").to_list() == [None, "bbc", None, None]
    assert loaded.notes == [
        "resolved aliases in outlet: 'BBC News' -> 'bbc' (2)",
        "resolved aliases in cites: 'BBC World' -> 'bbc' (1)",
        "1 outlet(s) not in the registry, scored without a group: 'fox' (1)",
    ]


@pytest.mark.parametrize("suffix", [".json", ".ndjson", ".parquet"])
def test_registry_aliases_as_lists(tmp_path: Path, suffix: str) -> None:
    frame = pl.DataFrame(
        {"outlet": ["bbc", "cnn"], "aliases": [["BBC News"], None], "group": ["p", "c"]}
    )
    path = write_as(frame, tmp_path / f"outlets{suffix}")
    registry = load_registry(path)
    assert registry.aliases == {"BBC News": "bbc"}
    assert registry.frame.schema == pl.Schema(frames.OUTLETS)
    assert registry.resolve(pl.Series(["BBC News", "cnn", None])).to_list() == ["bbc", "cnn", None]


def test_registry_conflicts(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "outlets.csv",
        "outlet,aliases\nbbc,Beeb;cnn\ncnn,Beeb\nbbc,\n",
    )
    with pytest.raises(InputError) as info:
        load_registry(path)
    assert sorted(map(str, info.value.problems)) == sorted(
        [
            f"{path} row 1, column 'outlet': outlet 'bbc' is listed twice (also row 3)",
            f"{path} row 3, column 'outlet': outlet 'bbc' is listed twice (also row 1)",
            f"{path} row 1, column 'aliases': alias 'cnn' is the id of another outlet (row 2)",
            f"{path} row 1, column 'aliases': alias 'Beeb' also belongs to outlet 'cnn' (row 2)",
            f"{path} row 2, column 'aliases': alias 'Beeb' also belongs to outlet 'bbc' (row 1)",
        ]
    )


# Consensus and coverage ------------------------------------------------------------------------


def test_consensus_loads_and_checks_conflicts(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "consensus.csv",
        "event_id,metric,stratum,value,low,high,source\n"
        "e1,killed,,100,,,OR\n"
        "e1,killed,,100,,,OR\n"
        "e2,killed,north,,50,60,OR\n",
    )
    loaded = load_consensus([path])
    assert loaded.frame.schema == pl.Schema(frames.CONSENSUS)
    assert loaded.frame.select("event_id", "low", "high", "kind").rows() == [
        ("e1", 100.0, 100.0, "exact"),
        ("e2", 50.0, 60.0, "range"),
    ]
    assert "collapsed 1 identical duplicate row(s)" in loaded.notes

    conflict = write(tmp_path, "conflict.csv", "event_id,value\ne1,100\ne1,120\n")
    with pytest.raises(InputError) as info:
        load_consensus([conflict])
    label = "another consensus figure for event_id 'e1', metric 'killed', stratum '(all)'"
    assert info.value.problems == [
        Problem(
            file=str(conflict),
            row=1,
            column="event_id",
            reason=f"{label} with different content at {conflict} row 2",
        ),
        Problem(
            file=str(conflict),
            row=2,
            column="event_id",
            reason=f"{label} with different content at {conflict} row 1",
        ),
    ]


def test_consensus_needs_a_number(tmp_path: Path) -> None:
    path = write(tmp_path, "consensus.csv", "event_id,source\ne1,OR\n")
    with pytest.raises(InputError) as info:
        load_consensus([path])
    assert info.value.problems == [
        Problem(file=str(path), reason="no figure column: give at least one of value, low, high")
    ]


def test_check_coverage_counts_both_directions() -> None:
    reports = frames.conform(
        pl.DataFrame(
            {
                "event_id": ["a", "a", "b", "c"],
                "metric": "killed",
                "stratum": [None, None, "x", None],
            }
        ),
        frames.REPORTS,
    )
    consensus = frames.conform(
        pl.DataFrame(
            {"event_id": ["b", "c", "d"], "metric": "killed", "stratum": ["x", None, None]}
        ),
        frames.CONSENSUS,
    )
    assert check_coverage(reports, consensus) == [
        "1 report quantity (2 reports) has no consensus figure, e.g. a/killed/(all)",
        "1 consensus quantity has no reports, e.g. d/killed/(all)",
    ]
    assert check_coverage(reports, reports.select(consensus.columns[:3])) == []


# Properties ------------------------------------------------------------------------------------

names = st.text(alphabet="abcdefgh XYZ-_é", min_size=1, max_size=8).map(str.strip).filter(bool)
moments = st.datetimes(
    min_value=datetime(1800, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
).map(lambda moment: moment.replace(microsecond=moment.microsecond // 1000 * 1000))


@st.composite
def report_frames(draw: st.DrawFn) -> pl.DataFrame:
    n = draw(st.integers(1, 12))
    rows = []
    for _ in range(n):
        kind = draw(st.sampled_from(["value", "range", "low", "high"]))
        first = draw(st.integers(0, 10**6))
        second = first + draw(st.integers(0, 1000))
        rows.append(
            {
                "event_id": draw(names),
                "outlet": draw(names),
                "metric": draw(st.sampled_from(["killed", "wounded"])),
                "stratum": draw(st.one_of(st.none(), names)),
                "value": float(first) if kind == "value" else None,
                "low": float(first) if kind in ("range", "low") else None,
                "high": float(second) if kind in ("range", "high") else None,
                "published_at": draw(st.one_of(st.none(), moments)),
                "event_date": draw(
                    st.one_of(st.none(), st.dates(date(1800, 1, 1), date(2100, 1, 1)))
                ),
            }
        )
    schema = {c: frames.REPORTS[c] for c in rows[0]}
    return pl.DataFrame(rows, schema=schema)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(frame=report_frames())
def test_valid_frames_load_back_equal_from_csv_and_parquet(
    tmp_path: Path, frame: pl.DataFrame
) -> None:
    from_csv = load_reports([write_as(frame, tmp_path / "r.csv")]).frame
    from_parquet = load_reports([write_as(frame, tmp_path / "r.parquet")]).frame
    assert from_csv.equals(from_parquet)
    unique = frame.unique(maintain_order=True)
    kept = [c for c in frame.columns if c not in ("low", "high")]
    assert from_csv.select(kept).equals(unique.select(kept))
    for row, loaded in zip(
        unique.iter_rows(named=True), from_csv.iter_rows(named=True), strict=True
    ):
        figure = resolve_figure(
            value=row["value"], low=row["low"], high=row["high"], text=None, count=True
        )
        assert (loaded["low"], loaded["high"], loaded["kind"]) == (
            figure.low,
            figure.high,
            figure.kind.value,
        )


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(frame=report_frames(), seed=st.integers(0, 2**16))
def test_row_order_does_not_change_the_content(
    tmp_path: Path, frame: pl.DataFrame, seed: int
) -> None:
    loaded = load_reports([write_as(frame, tmp_path / "a.csv")]).frame
    shuffled = load_reports(
        [write_as(frame.sample(fraction=1.0, shuffle=True, seed=seed), tmp_path / "b.csv")]
    ).frame
    assert loaded.sort("report_id").equals(shuffled.sort("report_id"))


@settings(max_examples=50, deadline=None)
@given(frame=report_frames(), field=st.sampled_from(["event_id", "outlet", "metric", "value"]))
def test_report_id_changes_with_any_content_field(frame: pl.DataFrame, field: str) -> None:
    canonical = frames.conform(frame.head(1), frames.REPORTS)
    before = content_hash(canonical)[0]
    assert content_hash(canonical)[0] == before
    changed = canonical.with_columns(
        (pl.col(field) + 1.0) if field == "value" else (pl.col(field) + "!")
    )
    if changed.get_column(field)[0] is not None:
        assert content_hash(changed)[0] != before
