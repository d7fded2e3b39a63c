"""Drifting outlet bias: a random walk over epochs, its smoother, its step variance, the fit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reliability.drift import oldest_epochs, smooth, step_variance
from reliability.outlet_model import OutletModel
from reliability.records import Report
from reliability.synth import generate, preset
from reliability.table import ScoreTable


def _dense_posterior(
    total: np.ndarray, info: np.ndarray, mean: float, var: float, at: int, q: float
) -> tuple[np.ndarray, np.ndarray]:
    """The same posterior from the full precision matrix of one outlet's walk."""
    n = info.size
    prec = np.diag(info.astype(np.float64))
    h = total.astype(np.float64).copy()
    prec[at, at] += 1.0 / var
    h[at] += mean / var
    for j in range(n - 1):
        # -log p of beta_{j+1} - beta_j ~ N(0, q)
        prec[j, j] += 1.0 / q
        prec[j + 1, j + 1] += 1.0 / q
        prec[j, j + 1] -= 1.0 / q
        prec[j + 1, j] -= 1.0 / q
    cov = np.linalg.inv(prec)
    return cov @ h, np.diag(cov)


@settings(max_examples=40, deadline=None)
@given(
    n_epochs=st.integers(1, 7),
    seed=st.integers(0, 10_000),
    q=st.floats(1e-4, 1.0),
    var=st.floats(1e-3, 10.0),
)
def test_smoother_equals_the_dense_gaussian_posterior(
    n_epochs: int, seed: int, q: float, var: float
) -> None:
    rng = np.random.default_rng(seed)
    n_out = 3
    info = rng.exponential(5.0, size=(n_out, n_epochs)) * (rng.random((n_out, n_epochs)) < 0.7)
    total = info * rng.normal(0.0, 0.5, size=(n_out, n_epochs))
    prior_mean = rng.normal(0.0, 0.3, size=n_out)
    at = rng.integers(0, n_epochs, size=n_out)
    mean, post_var = smooth(total, info, prior_mean, np.full(n_out, var), at, q)
    for o in range(n_out):
        want_mean, want_var = _dense_posterior(total[o], info[o], prior_mean[o], var, at[o], q)
        np.testing.assert_allclose(mean[o], want_mean, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(post_var[o], want_var, rtol=1e-8)


def test_oldest_epochs_are_the_last_populated_column() -> None:
    record = np.array([[3.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0], [0.0, 2.0, 0.0, 0.0]])
    assert oldest_epochs(record).tolist() == [2, 0, 1]


def test_step_variance_recovers_a_planted_walk() -> None:
    rng = np.random.default_rng(3)
    n_out, n_epochs, q = 400, 10, 0.05**2
    walk = np.cumsum(rng.normal(0.0, np.sqrt(q), size=(n_out, n_epochs)), axis=1)
    var = rng.uniform(0.0005, 0.01, size=(n_out, n_epochs))
    est = walk + rng.normal(0.0, np.sqrt(var))
    outlet, epoch = np.divmod(np.arange(n_out * n_epochs), n_epochs)
    fitted = step_variance(est.ravel(), var.ravel(), outlet, epoch)
    assert fitted == pytest.approx(q, rel=0.15)
    # Without any walk the moment equation has no excess to explain.
    still = rng.normal(0.0, np.sqrt(var)).ravel()
    assert step_variance(still, var.ravel(), outlet, epoch) < 0.1 * q


def test_step_variance_ignores_a_few_gross_cells() -> None:
    rng = np.random.default_rng(4)
    n_out, n_epochs, q = 400, 10, 0.05**2
    walk = np.cumsum(rng.normal(0.0, np.sqrt(q), size=(n_out, n_epochs)), axis=1)
    var = np.full((n_out, n_epochs), 0.004)
    est = walk + rng.normal(0.0, np.sqrt(var))
    gross = rng.random(est.shape) < 0.01
    est[gross] += 4.0
    outlet, epoch = np.divmod(np.arange(n_out * n_epochs), n_epochs)
    assert step_variance(est.ravel(), var.ravel(), outlet, epoch) < 2.0 * q


def _walk_data(seed: int) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, float], float]:
    """Outlets whose bias is a planted random walk over ten yearly epochs (normal noise)."""
    rng = np.random.default_rng(seed)
    n_out, n_years, per_year, step_sd, sigma = 60, 10, 100, 0.06, 0.15
    start = datetime(2015, 1, 1, tzinfo=UTC)
    walk = rng.normal(0.1, 0.1, size=(n_out, 1)) + np.cumsum(
        rng.normal(0.0, step_sd, size=(n_out, n_years)), axis=1
    )
    year = np.repeat(np.arange(n_years), per_year)
    rows, consensus = [], []
    for k in range(n_years * per_year):
        truth = float(rng.uniform(10, 2000))
        event_year = int(year[k % year.size])
        day = start + timedelta(days=365.25 * event_year + float(rng.uniform(0, 360)))
        consensus.append({"event_id": f"e{k}", "value": truth})
        for o in rng.choice(n_out, size=4, replace=False):
            bias = walk[o, event_year]
            value = np.exp(np.log(truth + 1) + bias + sigma * rng.normal()) - 1
            rows.append(
                {
                    "event_id": f"e{k}",
                    "outlet": f"o{o:03d}",
                    "value": float(round(value)),
                    "published_at": day,
                }
            )
    current = {f"o{o:03d}": float(walk[o, -1]) for o in range(n_out)}
    return pl.DataFrame(rows), pl.DataFrame(consensus), current, step_sd


@pytest.mark.slow
def test_a_planted_walk_is_tracked_with_calibrated_current_bias() -> None:
    reports, consensus, current, step_sd = _walk_data(11)
    model = OutletModel(cv_folds=0, drift_epoch_days=365.25).fit(reports, consensus)
    drift_sd = model.metrics_["killed"].drift_sd
    assert drift_sd is not None
    assert drift_sd == pytest.approx(step_sd, rel=0.3)
    scores = {s.outlet: s for s in model.outlets_}
    inside = [scores[o].bias.lo90 <= b <= scores[o].bias.hi90 for o, b in current.items()]
    assert 0.8 <= np.mean(inside) <= 0.97
    # The constant-bias model sits at the record's average and misses the current end.
    still = OutletModel(cv_folds=0).fit(reports, consensus)
    fixed = {s.outlet: s for s in still.outlets_}
    err_drift = np.mean([abs(scores[o].bias.estimate - b) for o, b in current.items()])
    err_still = np.mean([abs(fixed[o].bias.estimate - b) for o, b in current.items()])
    assert err_drift < 0.8 * err_still
    # The overall bias is the record's mean of the walk, near the constant model's estimate.
    overall = np.array([scores[o].overall_bias for o in current], dtype=np.float64)
    constant = np.array([fixed[o].bias.estimate for o in current])
    assert np.mean(np.abs(overall - constant)) < 0.03


def test_a_stepped_outlet_is_scored_and_fused_by_its_current_bias() -> None:
    rng = np.random.default_rng(2)
    start = datetime(2016, 1, 1, tzinfo=UTC)
    rows, consensus = [], []
    for k in range(240):
        truth = float(rng.uniform(50, 500))
        day = start + timedelta(days=15.0 * k)
        consensus.append({"event_id": f"e{k}", "value": truth})
        late = k >= 120
        for outlet, bias in (("steady", 0.0), ("stepper", 0.4 if late else 0.0), ("other", 0.1)):
            value = np.exp(np.log(truth + 1) + bias + 0.05 * rng.normal()) - 1
            rows.append(
                {
                    "event_id": f"e{k}",
                    "outlet": outlet,
                    "value": float(round(value)),
                    "published_at": day,
                }
            )
    reports, cons = pl.DataFrame(rows), pl.DataFrame(consensus)
    model = OutletModel(cv_folds=0, drift_epoch_days=365.25).fit(reports, cons)
    stepper = next(s for s in model.outlets_ if s.outlet == "stepper")
    # Three outlets, one step: the shared step variance is small, so the walk lags the step a
    # little (coverage is the planted walk's test); the constant bias would sit near 0.2.
    assert stepper.bias.estimate == pytest.approx(0.4, abs=0.04)
    assert stepper.overall_bias is not None
    assert 0.1 < stepper.overall_bias < 0.3
    # A new report of "stepper" is corrected by its current factor, about 1.5.
    scored = model.score(Report(event_id="new", outlet="stepper", value=149.0))
    assert scored.corrected.estimate == pytest.approx(100, rel=0.1)
    # The table carries the current bias, the overall one and the walk's step, and the model
    # rebuilt from it answers the same.
    table = model.to_table(version="v", created_at=datetime.now(UTC), inputs=None)
    again = msgspec.json.decode(msgspec.json.encode(table), type=ScoreTable)
    assert again.metrics[0].drift_sd is not None
    assert again.metrics[0].drift_sd > 0
    rebuilt = OutletModel.from_table(again)
    assert rebuilt.get_params()["drift_epoch_days"] == 365.25
    assert rebuilt.score(Report(event_id="new", outlet="stepper", value=149.0)) == scored


def test_drift_off_leaves_the_table_without_drift_fields() -> None:
    reports = pl.DataFrame(
        {
            "event_id": ["e1", "e1", "e2", "e2"],
            "outlet": ["a", "b", "a", "b"],
            "value": [10.0, 12.0, 30.0, 33.0],
            "published_at": [datetime(2020, 1, 1, tzinfo=UTC), datetime(2023, 1, 1, tzinfo=UTC)]
            * 2,
        }
    )
    consensus = pl.DataFrame({"event_id": ["e1", "e2"], "value": [10.0, 31.0]})
    model = OutletModel(cv_folds=0).fit(reports, consensus)
    assert model.metrics_["killed"].drift_sd is None
    assert all(s.overall_bias is None for s in model.outlets_)
    with pytest.raises(ValueError, match="drift_epoch_days"):
        OutletModel(cv_folds=0, drift_epoch_days=0.0).fit(reports, consensus)


def test_drift_and_period_effect_fit_together() -> None:
    """Both time effects share the EM's parameter vector: each must land in its own slot."""
    data = generate(preset("full", n_outlets=60, n_events=600, n_reports=6000, seed=1))
    both = OutletModel(cv_folds=0, period_months=12, drift_epoch_days=365.25).fit(
        data.reports, data.consensus, data.outlets
    )
    table = both.to_table(version="v", created_at=datetime.now(UTC), inputs=None)
    for metric in table.metrics:
        assert metric.drift_sd is not None
        assert 0 < metric.drift_sd < 1
        assert metric.period is not None
        assert np.all(np.isfinite(metric.period.effect))
    assert all(np.isfinite(s.bias.estimate) for s in both.outlets_)
    rebuilt = OutletModel.from_table(table)
    known = next(s for s in both.outlets_ if not s.cold_start)
    report = Report(event_id="x", outlet=known.outlet, metric=known.metric, value=100.0)
    assert rebuilt.score(report) == both.score(report)
