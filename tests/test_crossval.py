"""Cross-validated diagnostics of the outlet model (reliability.crossval)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import polars as pl
import pytest

from reliability.crossval import PIT_BINS, REPORT_BINS
from reliability.outlet_model import OutletModel
from reliability.table import MetricDiagnostics

BASELINE_NAMES = {"mean", "median", "catd", "gtm", "crh"}


def _frames(n_events: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Counts from 12 strongly biased outlets, a shared event error, 1 to 6 reports an event."""
    rng = np.random.default_rng(0)
    n_out = 12
    bias = np.linspace(-0.6, 0.6, n_out)
    theta = rng.normal(5.0, 1.0, n_events)
    per = rng.integers(1, 7, n_events)
    e = np.repeat(np.arange(n_events), per)
    o = np.concatenate([rng.choice(n_out, k, replace=False) for k in per])
    x = theta[e] + bias[o] + rng.normal(0.0, 0.1, n_events)[e] + 0.2 * rng.standard_t(4, e.size)
    events = np.array([f"e{k}" for k in range(n_events)])
    reports = pl.DataFrame(
        {"event_id": events[e], "outlet": [f"o{k}" for k in o], "value": np.round(np.expm1(x))}
    )
    consensus = pl.DataFrame({"event_id": events, "value": np.round(np.expm1(theta))})
    return reports, consensus


@pytest.fixture(scope="module")
def validated() -> tuple[OutletModel, pl.DataFrame]:
    reports, consensus = _frames(160)
    return OutletModel(cv_folds=3, grid_size=128).fit(reports, consensus), reports


@pytest.fixture(scope="module")
def diagnostics(
    validated: tuple[OutletModel, pl.DataFrame],
) -> tuple[MetricDiagnostics, pl.DataFrame]:
    model, reports = validated
    (diag,) = model.diagnostics_
    return diag, reports


def test_diagnostics_report_the_model_on_every_held_out_event(
    diagnostics: tuple[MetricDiagnostics, pl.DataFrame],
) -> None:
    diag, reports = diagnostics
    assert diag.metric == "killed"
    assert diag.folds == 3
    assert diag.model.method == "model"
    assert diag.model.n_events == reports["event_id"].n_unique()
    assert diag.model.coverage50 is not None
    assert diag.model.coverage90 is not None
    assert 0.0 <= diag.model.coverage50 <= diag.model.coverage90 <= 1.0
    assert 0.0 < diag.model.mae <= diag.model.rmse


def test_intervals_are_roughly_calibrated_on_data_from_the_model(
    diagnostics: tuple[MetricDiagnostics, pl.DataFrame],
) -> None:
    model = diagnostics[0].model
    assert model.coverage90 is not None
    assert model.coverage50 is not None
    assert 0.75 <= model.coverage90 <= 1.0
    assert 0.3 <= model.coverage50 <= 0.75


def test_pit_histogram_is_a_distribution(
    diagnostics: tuple[MetricDiagnostics, pl.DataFrame],
) -> None:
    pit = diagnostics[0].pit_histogram
    assert len(pit) == PIT_BINS
    assert sum(pit) == pytest.approx(1.0)
    assert all(0.0 <= share <= 1.0 for share in pit)
    # Calibrated PIT values do not pile up in one bin.
    assert max(pit) < 0.35


def test_baselines_are_listed_and_scored_on_the_same_events(
    diagnostics: tuple[MetricDiagnostics, pl.DataFrame],
) -> None:
    diag = diagnostics[0]
    assert {b.method for b in diag.baselines} == BASELINE_NAMES
    assert len(diag.baselines) == len(BASELINE_NAMES)
    for baseline in diag.baselines:
        assert baseline.n_events == diag.model.n_events
        assert baseline.mae > 0.0
    # Knowing each outlet's bias beats averaging biased claims.
    mean = next(b for b in diag.baselines if b.method == "mean")
    assert diag.model.mae < mean.mae


def test_report_count_bins_cover_the_events(
    diagnostics: tuple[MetricDiagnostics, pl.DataFrame],
) -> None:
    diag, reports = diagnostics
    bins = diag.by_n_reports
    assert sum(b.n_events for b in bins) == diag.model.n_events
    assert {(b.min_reports, b.max_reports) for b in bins} <= set(REPORT_BINS)
    per_event = reports.group_by("event_id").len()["len"].to_numpy()
    for b in bins:
        in_bin = (per_event >= b.min_reports) & (per_event <= b.max_reports)
        assert b.n_events == int(in_bin.sum())
        assert 0.0 <= b.coverage50 <= 1.0
        assert 0.0 <= b.coverage90 <= 1.0


def test_no_folds_give_no_diagnostics() -> None:
    reports, consensus = _frames(20)
    assert OutletModel(cv_folds=0).fit(reports, consensus).diagnostics_ == []
    assert OutletModel(cv_folds=1).fit(reports, consensus).diagnostics_ == []


def test_more_folds_than_events_give_no_diagnostics() -> None:
    reports, consensus = _frames(4)
    assert OutletModel(cv_folds=5).fit(reports, consensus).diagnostics_ == []


def test_diagnostics_travel_with_the_score_table(
    validated: tuple[OutletModel, pl.DataFrame],
) -> None:
    model = validated[0]
    table = model.to_table(version="v", created_at=datetime(2026, 1, 1, tzinfo=UTC), inputs=None)
    assert table.diagnostics == model.diagnostics_
    assert OutletModel.from_table(table).diagnostics_ == model.diagnostics_


def test_progress_reports_each_metric_and_each_fold() -> None:
    reports, consensus = _frames(60)
    calls: list[tuple[str, int, int]] = []
    OutletModel(cv_folds=3).fit(
        reports, consensus, progress=lambda label, done, total: calls.append((label, done, total))
    )
    # One metric (the default, killed), then one call per fold; refits inside folds are silent.
    assert calls == [
        ("fitted killed", 1, 1),
        *[("cross-validation folds", k, 3) for k in (1, 2, 3)],
    ]
