"""The batch job end to end through the CLI: publish, diff, and every failure path."""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import msgspec
import pytest

from reliability import exitcodes, synth
from reliability.cli import main
from reliability.jobsummary import JobSummary, render_summary
from reliability.outlet_model import OutletModel
from reliability.tableschema import score_table_schema
from reliability.tablestore import LATEST, TEMP_PREFIX, TableStore

ROOT = Path(__file__).resolve().parent.parent
FAST = ["--cv-folds", "0", "--quiet"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic dataset; returns its dataset.toml."""
    directory = tmp_path_factory.mktemp("synth")
    config = synth.preset("core", n_outlets=25, n_events=150, n_reports=900, seed=3)
    synth.write(synth.generate(config), directory)
    return directory / "dataset.toml"


@pytest.fixture(scope="module")
def other_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same kind of data from another seed, so a second run has something to diff."""
    directory = tmp_path_factory.mktemp("synth-other")
    config = synth.preset("core", n_outlets=25, n_events=150, n_reports=900, seed=4)
    synth.write(synth.generate(config), directory)
    return directory / "dataset.toml"


def recalibrate(config: Path, out: Path, *extra: str) -> int:
    return main(["recalibrate", "--config", str(config), "--out", str(out), *FAST, *extra])


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.iterdir() if p.name != ".lock"}


@dataclass(frozen=True)
class FirstRun:
    out: Path
    report: Path
    stdout: str


@pytest.fixture(scope="module")
def first_run(dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> FirstRun:
    """One cross-validated run with --json and --report, shared by the tests that read it."""
    base = tmp_path_factory.mktemp("first-run")
    out, report = base / "tables", base / "report.html"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = recalibrate(dataset, out, "--json", "--report", str(report), "--cv-folds", "2")
    assert code == exitcodes.OK
    return FirstRun(out, report, stdout.getvalue())


@pytest.fixture
def published(first_run: FirstRun, tmp_path: Path) -> Path:
    """A private copy of a table directory with one published table."""
    return Path(shutil.copytree(first_run.out, tmp_path / "tables"))


def test_publishes_schema_valid_table_and_identical_latest(first_run: FirstRun) -> None:
    out = first_run.out
    summary = json.loads(first_run.stdout)
    version_file = Path(summary["table_path"])
    assert version_file.parent == out
    assert version_file.read_bytes() == (out / LATEST).read_bytes()
    validator = jsonschema.Draft202012Validator(score_table_schema())
    for path in (version_file, out / LATEST):
        validator.validate(json.loads(path.read_bytes()))
    table = TableStore(out).latest()
    assert table.version == summary["version"] == version_file.stem
    assert table.inputs is not None
    assert table.inputs.n_reports == summary["n_reports"] == 900
    assert table.config["cv_folds"] == 2
    assert summary["diff"] is None
    assert summary["diff_skipped"] == "no previous table"
    killed = summary["metrics"][0]
    assert killed["metric"] == "killed"
    weights = [o["weight"] for o in killed["most_reliable"]]
    assert weights == sorted(weights, reverse=True)
    assert min(weights) >= max(o["weight"] for o in killed["least_reliable"])
    assert killed["calibration"]["folds"] == 2
    assert set(summary["seconds"]) == {
        "Loading and validating input",
        "Fitting the model and cross-validating",
        "Writing the table",
    }
    page = first_run.report.read_text(encoding="utf-8")
    assert page.count('data-chart="forest-killed"') == 1
    assert table.version in page


def test_text_summary_lists_outlets_and_calibration(first_run: FirstRun) -> None:
    text = render_summary(msgspec.json.decode(first_run.stdout, type=JobSummary))
    for expected in (
        "Input: 900 reports of 150 events by 25 outlets",
        "metric killed (log scale)",
        "most reliable:",
        "least reliable:",
        "calibration (2-fold CV",
        "      model ",
        "No diff: no previous table.",
        f"Report: {first_run.report}",
    ):
        assert expected in text


def test_second_run_reports_a_diff_and_keep_prunes(
    published: Path, other_dataset: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = TableStore(published).latest().version
    assert recalibrate(other_dataset, published, "--keep", "1") == exitcodes.OK
    out = capsys.readouterr().out
    assert f"Changes from {first} to " in out
    assert "significant shifts among" in out
    assert "Retention deleted 1 old version(s)." in out
    assert [v.is_latest for v in TableStore(published).versions()] == [True]


def test_flags_override_model_config(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model_toml = tmp_path / "model.toml"
    model_toml.write_text("[model]\ndf = 7.0\nseed = 5\n")
    out = tmp_path / "t"
    assert recalibrate(dataset, out, "--model-config", str(model_toml), "--df", "6") == 0
    config = TableStore(out).latest().config
    assert (config["df"], config["seed"]) == (6.0, 5)
    model_toml.write_text("[model]\ndegrees = 7.0\n")
    capsys.readouterr()
    code = recalibrate(dataset, tmp_path / "u", "--model-config", str(model_toml))
    assert code == exitcodes.INPUT_ERROR
    assert "column 'model.degrees': unknown model option" in capsys.readouterr().err
    model_toml.write_text('[model]\ndf = "heavy"\n')
    code = recalibrate(dataset, tmp_path / "u", "--model-config", str(model_toml))
    assert code == exitcodes.INPUT_ERROR
    assert "column 'model.df': Invalid enum value 'heavy'" in capsys.readouterr().err
    assert not (tmp_path / "u").exists()


def test_invalid_input_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reports = tmp_path / "reports.csv"
    reports.write_text("event_id,outlet,value\ne1,bbc,12\ne1,cnn,-5\n")
    out = tmp_path / "tables"
    code = main(["recalibrate", "--reports", str(reports), "--out", str(out), "--quiet"])
    assert code == exitcodes.INPUT_ERROR
    err = capsys.readouterr().err
    assert "reports.csv row 2" in err
    assert "nothing was written" in err
    assert not out.exists()


def test_corrupt_previous_latest_warns_skips_diff_and_publishes(
    published: Path, dataset: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (published / LATEST).write_text('{"schema_version": 1, "outlets": [')
    capsys.readouterr()
    assert recalibrate(dataset, published, "--json") == exitcodes.OK
    captured = capsys.readouterr()
    assert "warning: the previous latest could not be read" in captured.err
    summary = json.loads(captured.out)
    assert summary["diff"] is None
    assert "not valid JSON" in summary["diff_skipped"]
    assert TableStore(published).latest().version == summary["version"]


def test_unwritable_output_dir_fails_cleanly(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert recalibrate(dataset, blocker / "tables") == exitcodes.OUTPUT_FAILURE
    assert "cannot use as a table directory" in capsys.readouterr().err
    assert blocker.read_text() == "x"


def test_disk_full_keeps_previous_latest(
    published: Path, dataset: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(published)

    def no_space(fd: int, data: bytes | memoryview) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", no_space)
    code = recalibrate(dataset, published, "--df", "9")
    monkeypatch.undo()
    assert code == exitcodes.OUTPUT_FAILURE
    assert snapshot(published) == before
    assert not list(published.glob(f"{TEMP_PREFIX}*"))


def test_fit_failure_is_reported_and_nothing_published(
    published: Path,
    dataset: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = snapshot(published)

    def broken_fit(self: OutletModel, *args: object, **kwargs: object) -> OutletModel:
        raise FloatingPointError("EM diverged")

    monkeypatch.setattr(OutletModel, "fit", broken_fit)
    assert recalibrate(dataset, published) == exitcodes.FIT_FAILURE
    assert (
        "the model could not be fitted: FloatingPointError: EM diverged" in capsys.readouterr().err
    )
    assert snapshot(published) == before


def test_second_job_refuses_then_waits(
    published: Path, dataset: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    holder = TableStore(published)
    with holder.lock():
        assert recalibrate(dataset, published) == exitcodes.BUSY
    assert "another job holds the lock" in capsys.readouterr().err
    assert len(holder.versions()) == 1

    released = threading.Event()

    def hold_briefly() -> None:
        with holder.lock():
            released.wait(5)
            time.sleep(0.2)

    thread = threading.Thread(target=hold_briefly)
    thread.start()
    time.sleep(0.1)
    released.set()
    assert recalibrate(dataset, published, "--lock-timeout", "30", "--df", "9") == exitcodes.OK
    thread.join()
    assert len(holder.versions()) == 2


@pytest.mark.slow
def test_concurrent_processes_never_interleave(published: Path, dataset: Path) -> None:
    command = [
        str(ROOT / ".venv/bin/reliability"),
        "recalibrate",
        "--config",
        str(dataset),
        "--out",
        str(published),
        "--lock-timeout",
        "120",
        "--json",
        *FAST,
    ]
    procs = [
        subprocess.Popen(
            [*command, "--df", str(df)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for df in (5, 6)
    ]
    outputs = [proc.communicate(timeout=300) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], [err for _, err in outputs]
    store = TableStore(published)
    versions = [json.loads(out)["version"] for out, _ in outputs]
    assert set(versions) == {v.version for v in store.versions()[1:]}
    assert store.latest().version == store.versions()[-1].version
    assert b"\x1b[" not in b"".join(err for _, err in outputs), "progress drawn on a pipe"
