"""Dataset configs, the shipped example files and the ``reliability load`` command."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from reliability import exitcodes, frames
from reliability.cli import main
from reliability.dataset import load_dataset, parse_scale_option, summarize
from reliability.problems import InputError, Problem
from reliability.scales import Scale

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"
CLI = Path(sys.executable).parent / "reliability"


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    """A copy of docs/examples, so tests may change files."""
    return Path(shutil.copytree(EXAMPLES, tmp_path / "examples"))


def test_examples_load(examples: Path) -> None:
    dataset = load_dataset(examples / "dataset.toml")
    assert dataset.name == "example"
    assert dataset.reports.schema == pl.Schema(frames.REPORTS)
    assert dataset.reports.height == 9
    assert dataset.consensus is not None
    assert dataset.consensus.height == 5
    assert dataset.registry is not None
    assert set(dataset.reports.get_column("outlet")) == {"nyt", "harpers", "richmond"}
    assert dataset.model_options == {"df": 4.0}
    assert dataset.scales == {"killed": Scale.LOG}
    assert "reports: resolved aliases in outlet: 'Richmond Dispatch' -> 'richmond' (2)" in (
        dataset.notes
    )


def test_fingerprint(examples: Path) -> None:
    fingerprint = load_dataset(examples / "dataset.toml").fingerprint
    assert [(f.path, f.role, f.rows) for f in fingerprint.files] == [
        ("reports.csv", "reports", 6),
        ("reports.ndjson", "reports", 3),
        ("consensus.csv", "consensus", 5),
        ("outlets.csv", "outlets", 3),
    ]
    for item in fingerprint.files:
        assert item.sha256 == hashlib.sha256((examples / item.path).read_bytes()).hexdigest()
    assert (fingerprint.n_reports, fingerprint.n_consensus, fingerprint.n_outlets) == (9, 5, 3)
    assert fingerprint.first_report_at == datetime(1862, 4, 10, 9, tzinfo=UTC)
    assert fingerprint.last_report_at == datetime(1863, 7, 18, tzinfo=UTC)

    with (examples / "consensus.csv").open("a") as handle:
        handle.write("bull-run,killed,,481,,,1880-01-01,Official Records\n")
    changed = load_dataset(examples / "dataset.toml").fingerprint
    assert changed.digest != fingerprint.digest
    assert changed.files[0] == fingerprint.files[0]


def test_explicit_arguments_extend_and_override(examples: Path, tmp_path: Path) -> None:
    extra = tmp_path / "extra.csv"
    extra.write_text("event_id,outlet,metric,value\nshiloh,nyt,margin,-3\n")
    dataset = load_dataset(
        examples / "dataset.toml",
        reports=[str(extra)],
        scales={"margin": Scale.LINEAR, "killed": Scale.LINEAR},
    )
    assert dataset.reports.height == 10
    assert dataset.scales == {"killed": Scale.LINEAR, "margin": Scale.LINEAR}
    assert dataset.fingerprint.files[2].path == str(extra)


def test_without_config(examples: Path) -> None:
    dataset = load_dataset(None, reports=[str(examples / "reports.*")])
    assert dataset.reports.height == 9
    assert dataset.consensus is None
    assert dataset.registry is None
    assert dataset.name == "unnamed"


def test_glob_that_matches_nothing(examples: Path) -> None:
    (examples / "dataset.toml").write_text('[dataset]\nname = "x"\nreports = ["missing/*.csv"]\n')
    with pytest.raises(InputError) as info:
        load_dataset(examples / "dataset.toml")
    assert info.value.problems == [
        Problem(file=str(examples / "missing/*.csv"), reason="glob matches no files")
    ]


@pytest.mark.parametrize(
    ("toml", "reason"),
    [
        (
            '[dataset]\nname = "x"\nreport = ["a.csv"]\n',
            "Object contains unknown field `report` - at `$.dataset`",
        ),
        (
            '[dataset]\nname = 3\nreports = "a.csv"\n',
            "Expected `str`, got `int` - at `$.dataset.name`",
        ),
        (
            '[dataset]\nname = "x"\nreports = "a.csv"\n[scales]\nmargin = "lin"\n',
            "Invalid enum value 'lin' - at `$.scales[...]`",
        ),
        ("[model]\ndf = 4\n", "Object missing required field `dataset`"),
        ("[dataset\n", "Expected ']' at the end of a table declaration (at line 1, column 9)"),
    ],
)
def test_config_errors_name_the_key(tmp_path: Path, toml: str, reason: str) -> None:
    config = tmp_path / "dataset.toml"
    config.write_text(toml)
    with pytest.raises(InputError) as info:
        load_dataset(config)
    assert info.value.problems == [Problem(file=str(config), reason=reason)]


def test_problems_of_all_files_are_raised_together(examples: Path) -> None:
    (examples / "outlets.csv").write_text("outlet,aliases\nnyt,x\nharpers,x\n")
    (examples / "consensus.csv").write_text("event_id,value\nantietam,-5\n")
    with pytest.raises(InputError) as info:
        load_dataset(examples / "dataset.toml")
    assert [(Path(p.file).name, p.row, p.column) for p in info.value.problems] == [
        ("outlets.csv", 1, "aliases"),
        ("outlets.csv", 2, "aliases"),
        ("consensus.csv", 1, "value"),
    ]


def test_parse_scale_option() -> None:
    assert parse_scale_option(" margin = linear ") == ("margin", Scale.LINEAR)
    assert parse_scale_option("killed=log") == ("killed", Scale.LOG)
    with pytest.raises(
        ValueError, match=r"expected METRIC=SCALE \(e.g. margin=linear\), got 'margin'"
    ):
        parse_scale_option("margin")
    with pytest.raises(ValueError, match="unknown scale 'lin' for 'margin': use 'log' or 'linear'"):
        parse_scale_option("margin=lin")


def test_summary_lists_top_outlets_metrics_and_kinds(tmp_path: Path) -> None:
    rows = [f"e{i % 3},outlet{i:02d},killed,{i}" for i in range(25)] + ["e0,outlet00,margin,-1"]
    path = tmp_path / "reports.csv"
    path.write_text("event_id,outlet,metric,value\n" + "\n".join(rows) + "\n")
    text = summarize(load_dataset(None, reports=[str(path)], scales={"margin": Scale.LINEAR}))
    lines = text.splitlines()
    assert lines[1] == "  26 reports of 3 events by 25 outlets on 2 metric(s)"
    assert "  outlet00        2       1" in lines
    assert "  … 5 more" in lines
    assert "  margin  linear        1       1" in lines
    assert "  exact       26" in lines


def test_load_command_prints_the_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["load", "--config", str(EXAMPLES / "dataset.toml")]) == exitcodes.OK
    out = capsys.readouterr().out
    assert out.startswith("Dataset example: Civil War battle reports by three newspapers\n")
    assert "  9 reports of 3 events by 3 outlets on 2 metric(s)" in out


def test_load_command_reports_problems(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "reports.csv"
    path.write_text("event_id,outlet,value\ne1,a,abc\n")
    assert main(["load", "--reports", str(path)]) == exitcodes.INPUT_ERROR
    err = capsys.readouterr().err
    assert f"{path} row 1, column 'value': not a number: 'abc'" in err


def test_load_command_lenient(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "reports.csv"
    path.write_text("event_id,outlet,value\ne1,a,abc\ne1,b,4\n")
    rejects = tmp_path / "rejects"
    args = ["load", "--reports", str(path), "--lenient", "--rejects", str(rejects)]
    assert main(args) == exitcodes.OK
    assert "1 rows rejected" in capsys.readouterr().out
    written = pl.read_csv(rejects / "reports.rejects.csv", infer_schema=False)
    assert written.get_column("reason").to_list() == ["value: not a number: 'abc'"]
    assert main(["load", "--reports", str(path), "--lenient"]) == exitcodes.USAGE
    assert "--lenient needs --rejects" in capsys.readouterr().err


def test_load_command_bad_scale_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["load", "--reports", "r.csv", "--scale", "margin"])
    assert info.value.code == exitcodes.USAGE
    assert "expected METRIC=SCALE" in capsys.readouterr().err


def test_load_command_in_a_subprocess() -> None:
    help_text = subprocess.run(
        [str(CLI), "load", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "reliability load --config seeds/acw/dataset.toml" in help_text
    done = subprocess.run(
        [str(CLI), "load", "--reports", str(EXAMPLES / "missing.csv")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == exitcodes.INPUT_ERROR
    assert "missing.csv: file not found" in done.stderr
