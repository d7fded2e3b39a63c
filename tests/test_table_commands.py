"""The diff, tables, report, fuse and score commands, end to end through the CLI."""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

from reliability import exitcodes, synth
from reliability.cli import main
from reliability.loaders import load_reports
from reliability.outlet_model import OutletModel
from reliability.table import SCHEMA_VERSION
from reliability.tablestore import LATEST, TableStore
from tests.table_factory import CREATED, make_table, outlet

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def store(tmp_path: Path) -> tuple[TableStore, list[Path]]:
    """A directory with three versions; the last moves reuters' bias and drops kyiv-post."""
    store = TableStore(tmp_path / "tables")
    old = make_table(created_at=CREATED)
    middle = make_table(created_at=CREATED + timedelta(days=1), coverage90=0.85)
    new = make_table(
        [
            outlet("reuters", bias=0.5, sd=0.2),
            outlet("tass", bias=0.65, sd=0.5, group="state"),
            outlet("ap", bias=0.0, sd=0.25),
        ],
        created_at=CREATED + timedelta(days=2),
        coverage90=0.8,
    )
    return store, [store.publish(t) for t in (old, middle, new)]


def test_diff_of_two_files_as_json(
    store: tuple[TableStore, list[Path]], capsys: pytest.CaptureFixture[str]
) -> None:
    _, paths = store
    assert main(["diff", str(paths[0]), str(paths[2]), "--json"]) == exitcodes.OK
    diff = json.loads(capsys.readouterr().out)
    assert diff["old_version"] == paths[0].stem
    assert [(s["outlet"], s["parameter"]) for s in diff["shifted"]] == [("reuters", "bias")]
    shift = diff["shifted"][0]
    assert shift["delta"] == pytest.approx(0.45)
    assert shift["threshold"] == pytest.approx((2 * 0.1**2) ** 0.5)
    assert [o["outlet"] for o in diff["outlets_added"]] == ["ap"]
    assert [o["outlet"] for o in diff["outlets_dropped"]] == ["kyiv-post"]
    assert diff["n_compared"] == 2
    assert diff["calibration"][0]["new"]["coverage90"] == 0.8


def test_diff_of_versions_in_a_directory_as_text(
    store: tuple[TableStore, list[Path]], capsys: pytest.CaptureFixture[str]
) -> None:
    directory, paths = store[0].path, store[1]
    assert main(["diff", str(directory), paths[0].stem, "latest"]) == exitcodes.OK
    out = capsys.readouterr().out
    assert "reuters [killed] bias: +0.050 -> +0.500" in out
    assert "new: ap [killed]" in out
    assert "dropped: kyiv-post [killed]" in out


def test_diff_of_a_corrupt_table_is_an_input_error(
    store: tuple[TableStore, list[Path]], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(f'{{"schema_version": {SCHEMA_VERSION}}}')
    assert main(["diff", str(store[1][0]), str(bad)]) == exitcodes.INPUT_ERROR
    assert "bad.json: not a valid score table" in capsys.readouterr().err


def test_tables_list_rollback_prune(
    store: tuple[TableStore, list[Path]], capsys: pytest.CaptureFixture[str]
) -> None:
    directory, paths = store[0].path, store[1]
    assert main(["tables", "list", str(directory)]) == exitcodes.OK
    lines = capsys.readouterr().out.splitlines()
    assert [line[2:].split()[0] for line in lines] == [p.stem for p in paths]
    assert lines[-1].startswith("* ")
    assert main(["tables", "rollback", str(directory), paths[0].stem]) == exitcodes.OK
    assert (directory / LATEST).read_bytes() == paths[0].read_bytes()
    assert main(["tables", "prune", str(directory), "--keep", "1"]) == exitcodes.OK
    assert sorted(p.name for p in directory.glob("2*.json")) == [paths[0].name, paths[2].name]
    capsys.readouterr()
    assert main(["tables", "rollback", str(directory), paths[1].stem]) == exitcodes.INPUT_ERROR
    assert "no such table file" in capsys.readouterr().err


def test_tables_rollback_while_a_job_runs_is_busy(
    store: tuple[TableStore, list[Path]], capsys: pytest.CaptureFixture[str]
) -> None:
    directory, paths = store[0].path, store[1]
    with TableStore(directory).lock():
        assert main(["tables", "rollback", str(directory), paths[0].stem]) == exitcodes.BUSY
    assert "another job holds the lock" in capsys.readouterr().err
    assert TableStore(directory).latest().version == paths[2].stem


def test_report_command_writes_html(store: tuple[TableStore, list[Path]], tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    assert main(["report", str(store[0].path), "--out", str(out)]) == exitcodes.OK
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert store[1][2].stem in page
    blocked = tmp_path / "file"
    blocked.write_text("")
    code = main(["report", str(store[0].path), "--out", str(blocked / "r.html")])
    assert code == exitcodes.OUTPUT_FAILURE


@pytest.mark.parametrize("command", ["diff", "tables", "report"])
def test_help_has_examples(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert "example" in capsys.readouterr().out


def test_installed_entry_point_lists_tables(store: tuple[TableStore, list[Path]]) -> None:
    result = subprocess.run(
        [str(ROOT / ".venv/bin/reliability"), "tables", "list", str(store[0].path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert store[1][2].stem in result.stdout


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A table directory fitted on small synthetic data, and a CSV of new reports to apply."""
    directory = tmp_path_factory.mktemp("fitted")
    synth.write(
        synth.generate(synth.preset("core", n_outlets=20, n_events=100, n_reports=600, seed=8)),
        directory / "data",
    )
    tables = directory / "tables"
    args = ["recalibrate", "--config", str(directory / "data" / "dataset.toml")]
    assert main([*args, "--out", str(tables), "--cv-folds", "0", "--quiet"]) == exitcodes.OK
    fresh = synth.generate(synth.preset("core", n_outlets=20, n_events=30, n_reports=120, seed=9))
    reports = directory / "new-reports.csv"
    fresh.reports.select(
        "report_id", "event_id", "outlet", "metric", "value", "low", "high"
    ).write_csv(reports)
    return tables, reports


@pytest.mark.parametrize("extension", [".csv", ".parquet", ".ndjson"])
def test_score_writes_one_row_per_report(
    fitted: tuple[Path, Path], tmp_path: Path, extension: str
) -> None:
    tables, reports = fitted
    out = tmp_path / f"scored{extension}"
    assert (
        main(["score", "--table", str(tables), "--reports", str(reports), "--out", str(out)]) == 0
    )
    if extension == ".csv":
        scored = pl.read_csv(out)
    elif extension == ".parquet":
        scored = pl.read_parquet(out)
    else:
        scored = pl.read_ndjson(out)
    assert scored.columns == [
        "report_id",
        "outlet",
        "metric",
        "estimate",
        "lo50",
        "hi50",
        "lo90",
        "hi90",
        "relative_weight",
        "cold_start",
        "censored",
    ]
    source = pl.read_csv(reports)
    assert sorted(scored["report_id"].to_list()) == sorted(source["report_id"].to_list())
    assert (scored["lo90"] <= scored["lo50"]).all()
    assert (scored["lo50"] <= scored["estimate"]).all()
    assert (scored["estimate"] <= scored["hi50"]).all()
    assert (scored["hi50"] <= scored["hi90"]).all()


def test_fuse_matches_the_saved_model_and_groups_by_event(
    fitted: tuple[Path, Path], tmp_path: Path
) -> None:
    tables, reports = fitted
    out = tmp_path / "fused.parquet"
    table_file = tables / LATEST
    assert (
        main(["fuse", "--table", str(table_file), "--reports", str(reports), "--out", str(out)])
        == 0
    )
    fused = pl.read_parquet(out)
    assert fused.columns == [
        "event_id",
        "metric",
        "stratum",
        "estimate",
        "mean",
        "lo50",
        "hi50",
        "lo90",
        "hi90",
        "n_reports",
    ]
    source = pl.read_csv(reports)
    assert fused.height == source["event_id"].n_unique()
    assert fused["n_reports"].sum() == source.height
    expected = OutletModel.from_table(TableStore(tables).latest()).fuse_frame(
        load_reports([reports]).frame
    )
    assert fused.sort("event_id").equals(expected.sort("event_id"))


def test_apply_errors(
    fitted: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tables, reports = fitted
    base = ["--table", str(tables), "--reports", str(reports)]
    assert main(["score", *base, "--out", str(tmp_path / "x.xlsx")]) == exitcodes.USAGE
    assert "unknown output format '.xlsx'" in capsys.readouterr().err
    other = tmp_path / "other.csv"
    other.write_text("event_id,outlet,metric,value\ne1,a,displaced,100\n")
    code = main(
        ["fuse", "--table", str(tables), "--reports", str(other), "--out", str(tmp_path / "f.csv")]
    )
    assert code == exitcodes.INPUT_ERROR
    assert "displaced" in capsys.readouterr().err
    code = main(
        [
            "score",
            "--table",
            str(tmp_path / "none.json"),
            "--reports",
            str(reports),
            "--out",
            str(tmp_path / "s.csv"),
        ]
    )
    assert code == exitcodes.INPUT_ERROR
    assert "no such table file" in capsys.readouterr().err
    assert not (tmp_path / "f.csv").exists()
