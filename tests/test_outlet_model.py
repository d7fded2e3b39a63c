"""The outlet model's fit: known answers, planted-truth recovery, cold start, tables, errors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import msgspec
import numpy as np
import numpy.typing as npt
import polars as pl
import pytest
from scipy import stats

from reliability import metric_fit
from reliability.figures import FigureError
from reliability.metric_fit import MetricData, MetricFit, fit_metric
from reliability.outlet_model import OutletModel, UnknownMetricError
from reliability.records import Report
from reliability.scales import Scale
from reliability.table import ScoreTable
from tests.planted import planted_frames

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

LINEAR = {"m": Scale.LINEAR}


def _linear_data(
    outlet: IntArray,
    event: IntArray,
    x: FloatArray,
    truth: FloatArray,
    outlet_group: IntArray,
    n_groups: int,
) -> MetricData:
    return MetricData(
        outlet=outlet,
        event=event,
        lo=x,
        hi=x.copy(),
        truth_lo=truth,
        truth_hi=truth.copy(),
        outlet_group=outlet_group,
        n_groups=n_groups,
        offset=np.zeros(x.size),
        weight=np.ones(x.size),
    )


@dataclass(frozen=True)
class NormalCase:
    """Exact linear points from the model with normal noise, two registry groups."""

    data: MetricData
    residual: FloatArray
    group_of: IntArray


@pytest.fixture(scope="module")
def normal_case() -> NormalCase:
    rng = np.random.default_rng(0)
    n_out, n_ev, per = 12, 150, 4
    group_of = np.repeat([0, 1], 6).astype(np.intp)
    bias = np.where(group_of == 0, 0.3, -0.2) + rng.normal(0, 0.15, n_out)
    sd = rng.uniform(0.2, 0.6, n_out)
    o = np.concatenate([rng.choice(n_out, per, replace=False) for _ in range(n_ev)]).astype(np.intp)
    e = np.repeat(np.arange(n_ev), per).astype(np.intp)
    truth = rng.normal(10, 3, n_ev)
    x = truth[e] + bias[o] + rng.normal(0, 0.1, n_ev)[e] + sd[o] * rng.normal(size=o.size)
    return NormalCase(_linear_data(o, e, x, truth, group_of, 2), x - truth[e], group_of)


def _closed_form(case: NormalCase, fit: MetricFit) -> tuple[FloatArray, FloatArray]:
    """Normal posterior mean of each bias and the spread update, at the fit's own parameters."""
    o, e, r = case.data.outlet, case.data.event, case.residual
    n_out, n_ev = case.data.n_outlets, case.data.n_events
    b, s2, tau_u2 = fit.bias, fit.sd**2, fit.event_sd**2
    # The event errors and the t weights (1 to 1e-12 at df=1e12: the normal limit, where
    # averaging the weights over u's posterior changes nothing) by their own fixed point.
    w = np.ones(o.size)
    for _ in range(50):
        omega = w / s2[o]
        u_prec = 1 / tau_u2 + np.bincount(e, omega, n_ev)
        u_hat = np.bincount(e, omega * (r - b[o]), n_ev) / u_prec
        z = (r - b[o] - u_hat[e]) / np.sqrt(s2[o])
        w = (fit.df + 1) / (fit.df + z * z)
    omega = w / s2[o]
    mu = fit.group_mean[case.group_of]
    tau2 = fit.group_between_sd[case.group_of] ** 2
    bias = (mu / tau2 + np.bincount(o, omega * (r - u_hat[e]), n_out)) / (
        1 / tau2 + np.bincount(o, omega, n_out)
    )
    ss = np.bincount(o, w * (r - b[o] - u_hat[e]) ** 2 + w / u_prec[e], n_out)
    nu0 = fit.group_sd_prior_dof[case.group_of]
    s0 = fit.group_sd_prior_scale[case.group_of]
    return bias, np.sqrt((nu0 * s0**2 + ss) / (nu0 + np.bincount(o, minlength=n_out)))


def test_em_is_the_closed_form_shrinkage_at_fixed_hyperparameters(
    normal_case: NormalCase, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pin the two numerically optimised hyperparameters; the pooling ones stay fitted.
    monkeypatch.setattr(metric_fit, "fit_event_sd", lambda *args, **kwargs: 0.08)
    monkeypatch.setattr(
        metric_fit,
        "fit_group_sd_priors",
        lambda *args, **kwargs: (np.array([10.0, 8.0, 12.0]), np.array([0.35, 0.3, 0.4])),
    )
    fit = fit_metric(normal_case.data, df=1e12, tol=1e-10)
    assert fit.converged
    bias, sd = _closed_form(normal_case, fit)
    np.testing.assert_allclose(fit.bias, bias, rtol=0, atol=1e-9)
    np.testing.assert_allclose(fit.sd, sd, rtol=1e-9)
    raw = np.bincount(normal_case.data.outlet, normal_case.residual) / fit.n_reports
    assert np.max(np.abs(raw - fit.bias)) > 0.01


def test_fitted_bias_is_the_closed_form_at_its_fitted_hyperparameters(
    normal_case: NormalCase,
) -> None:
    fit = fit_metric(normal_case.data, df=1e12)
    assert fit.converged
    bias, sd = _closed_form(normal_case, fit)
    # Within the EM stopping tolerance, far below the bias standard errors (> 0.03).
    np.testing.assert_allclose(fit.bias, bias, rtol=0, atol=1e-5)
    np.testing.assert_allclose(fit.sd, sd, rtol=1e-4)


@pytest.fixture(scope="module")
def shrinkage_model() -> tuple[OutletModel, dict[str, float]]:
    """30 outlets of 20 reports, one of 500 reports far above them, one single report."""
    rng = np.random.default_rng(2)
    names = [f"o{k:02d}" for k in range(30)]
    plan = [(n, rng.normal(1.0, 0.2), 20) for n in names] + [("big", 2.0, 500), ("single", 0, 1)]
    outlet, value = [], []
    for name, bias, n in plan:
        outlet += [name] * n
        value += [5.0] if name == "single" else list(bias + rng.normal(0, 1.0, n))
    events = [f"e{k}" for k in range(len(value))]
    reports = pl.DataFrame({"event_id": events, "outlet": outlet, "value": value, "metric": "m"})
    consensus = pl.DataFrame({"event_id": events, "value": 0.0, "metric": "m"})
    registry = pl.DataFrame({"outlet": [*names, "big", "single"], "group": "g"})
    model = OutletModel(cv_folds=0, scales=LINEAR).fit(reports, consensus, registry)
    raw = dict(reports.group_by("outlet").agg(pl.col("value").mean()).iter_rows())
    return model, raw


def test_one_report_outlet_is_pulled_to_its_group_mean(
    shrinkage_model: tuple[OutletModel, dict[str, float]],
) -> None:
    model, raw = shrinkage_model
    group = model.groups_[0]
    single = next(o for o in model.outlets_ if o.outlet == "single")
    kept = (single.bias.estimate - group.bias_mean) / (raw["single"] - group.bias_mean)
    assert 0 < kept < 0.1
    assert single.bias.lo90 < group.bias_mean < single.bias.hi90


def test_many_report_outlet_keeps_its_own_mean(
    shrinkage_model: tuple[OutletModel, dict[str, float]],
) -> None:
    model, raw = shrinkage_model
    group = model.groups_[0]
    big = next(o for o in model.outlets_ if o.outlet == "big")
    kept = (big.bias.estimate - group.bias_mean) / (raw["big"] - group.bias_mean)
    assert 0.95 < kept <= 1.0
    assert big.bias.hi90 - big.bias.lo90 < 0.2
    assert not big.bias.lo90 < group.bias_mean < big.bias.hi90


def test_censored_fit_matches_scipy_censored_t_mle(monkeypatch: pytest.MonkeyPatch) -> None:
    # One report per event: a shared event error is not identified and the model with one is
    # not scipy's. Without it (tau_u at its floor) the fit is the censored Student-t MLE.
    monkeypatch.setattr(metric_fit, "fit_event_sd", lambda *args, **kwargs: 0.0)
    rng = np.random.default_rng(1)
    n, df = 2000, 4.0
    truth = rng.normal(50, 10, n)
    x = truth + 1.5 + 2.0 * rng.standard_t(df, n)
    kind = rng.choice(4, n, p=[0.6, 0.15, 0.15, 0.1])
    low = np.select(
        [kind == 1, kind == 2, kind == 3], [np.floor(x - 1), -np.inf, np.floor(x) - 2], x
    )
    high = np.select(
        [kind == 1, kind == 2, kind == 3], [np.inf, np.ceil(x + 1), np.floor(x) + 3], x
    )
    events = [f"e{k}" for k in range(n)]
    names = np.array(["exact", "at_least", "at_most", "range"])
    reports = pl.DataFrame(
        {"event_id": events, "outlet": "o", "metric": "m", "low": low, "high": high}
    ).with_columns(kind=pl.Series(names[kind]))
    consensus = pl.DataFrame({"event_id": events, "metric": "m", "value": truth})
    model = OutletModel(cv_folds=0, scales=LINEAR, df=df).fit(reports, consensus)
    (outlet,) = model.outlets_

    lo, hi = low - truth, high - truth
    data = stats.CensoredData(
        uncensored=(x - truth)[kind == 0],
        right=lo[kind == 1],
        left=hi[kind == 2],
        interval=np.column_stack([lo[kind == 3], hi[kind == 3]]),
    )
    _, loc, scale = stats.t.fit(data, fix_df=df)
    assert outlet.bias.estimate == pytest.approx(loc, abs=0.002 * outlet.bias_se)
    assert outlet.sd.estimate == pytest.approx(scale, rel=0.001)


@dataclass(frozen=True)
class Planted:
    model: OutletModel
    bias: FloatArray
    sd: FloatArray
    n_reports: IntArray
    names: list[str]
    group_mu: dict[str, float]
    tau_u: float


@pytest.fixture(scope="module")
def planted() -> Planted:
    """Counts on the log scale from the model itself, with registry groups and aliases."""
    rng = np.random.default_rng(7)
    mu = {"a": 0.0, "b": 0.3, "c": -0.2}
    n_out, n_ev, per, tau_u = 60, 1500, 4, 0.1
    group = np.array(["a", "b", "c"])[np.arange(n_out) % 3]
    bias = np.array([mu[g] for g in group]) + rng.normal(0, 0.1, n_out)
    sd = 0.2 * np.sqrt(8 / rng.chisquare(8, n_out))
    activity = rng.pareto(1.0, n_out) + 1
    o = np.concatenate(
        [rng.choice(n_out, per, replace=False, p=activity / activity.sum()) for _ in range(n_ev)]
    )
    e = np.repeat(np.arange(n_ev), per)
    theta = rng.normal(6.0, 1.2, n_ev)
    x = theta[e] + bias[o] + rng.normal(0, tau_u, n_ev)[e] + sd[o] * rng.standard_t(4, o.size)
    names, reports, consensus = planted_frames(e, o, x, theta, n_out)
    registry = pl.DataFrame(
        {
            "outlet": [*names, "newcomer"],
            "group": [*group, "b"],
            "aliases": [[f"{n} wire"] for n in names] + [["new desk"]],
        }
    )
    model = OutletModel(cv_folds=0).fit(reports, consensus, registry)
    return Planted(model, bias, sd, np.bincount(o, minlength=n_out), names, mu, tau_u)


def test_fit_recovers_planted_biases_group_means_and_event_sd(planted: Planted) -> None:
    scores = {s.outlet: s for s in planted.model.outlets_}
    big = planted.n_reports >= 50
    assert big.sum() >= 20
    covered = np.array(
        [
            scores[name].bias.lo90 <= planted.bias[k] <= scores[name].bias.hi90
            for k, name in enumerate(planted.names)
        ]
    )
    assert covered[big].mean() >= 0.75
    fitted = np.array([scores[name].bias.estimate for name in planted.names])
    assert np.sqrt(np.mean((fitted - planted.bias)[big] ** 2)) < 0.04
    for group in planted.model.groups_:
        assert group.bias_mean == pytest.approx(planted.group_mu[group.group], abs=0.07)
    assert planted.model.metrics_["killed"].event_sd == pytest.approx(planted.tau_u, rel=0.3)
    sd = np.array([scores[name].sd.estimate for name in planted.names])
    assert np.median(sd[big] / planted.sd[big]) == pytest.approx(1.0, abs=0.12)


def test_spread_and_event_sd_are_unbiased_with_t_noise_and_event_error() -> None:
    # With t weights taken at the event error's posterior mean instead of averaged over it,
    # sigma came out 5% high and tau_u 8% low here.
    rng = np.random.default_rng(1)
    n_out, n_ev, per = 20, 3000, 4
    o = np.concatenate([rng.choice(n_out, per, replace=False) for _ in range(n_ev)]).astype(np.intp)
    e = np.repeat(np.arange(n_ev), per).astype(np.intp)
    x = rng.normal(0, 0.1, n_ev)[e] + 0.2 * rng.standard_t(4, o.size)
    truth = np.zeros(n_ev)
    fit = fit_metric(_linear_data(o, e, x, truth, np.full(n_out, -1, np.intp), 0), df=4.0)
    assert np.median(fit.sd) == pytest.approx(0.2, rel=0.03)
    assert fit.event_sd == pytest.approx(0.1, rel=0.05)


def test_unknown_outlet_gets_the_global_prior_and_is_cold(planted: Planted) -> None:
    model = planted.model
    params = model.metrics_["killed"]
    score = model.score(Report(event_id="x", outlet="nobody", value=500.0))
    assert score.cold_start
    assert score.outlet.cold_start
    assert score.outlet.n_reports == 0
    assert score.outlet.bias.estimate == params.global_bias
    assert score.outlet.bias.lo90 < params.global_bias < score.outlet.bias.hi90
    assert score.outlet.sd.estimate == params.sd_prior_scale


def test_registry_outlet_without_reports_starts_at_its_group_prior(planted: Planted) -> None:
    model = planted.model
    group_b = next(g for g in model.groups_ if g.group == "b")
    entry = next(s for s in model.outlets_ if s.outlet == "newcomer")
    assert entry.cold_start
    assert entry.n_reports == 0
    assert entry.bias.estimate == pytest.approx(group_b.bias_mean, abs=1e-4)
    assert entry.bias.estimate != pytest.approx(model.metrics_["killed"].global_bias, abs=0.05)
    score = model.score(Report(event_id="x", outlet="newcomer", value=500.0))
    assert score.cold_start
    assert score.outlet.group == "b"
    assert score.outlet.bias.estimate == entry.bias.estimate
    fused = model.fuse([Report(event_id="x", outlet="newcomer", value=500.0)])
    assert fused.reports[0].cold_start


def test_registry_outlet_without_reports_has_exactly_its_group_mean(planted: Planted) -> None:
    group_b = next(g for g in planted.model.groups_ if g.group == "b")
    entry = next(s for s in planted.model.outlets_ if s.outlet == "newcomer")
    assert entry.bias.estimate == pytest.approx(group_b.bias_mean, rel=1e-12)


def test_outlets_with_reports_are_not_cold(planted: Planted) -> None:
    scores = {s.outlet: s for s in planted.model.outlets_}
    assert not any(scores[name].cold_start for name in planted.names)
    score = planted.model.score(Report(event_id="x", outlet="out0", value=500.0))
    assert not score.cold_start


def test_aliases_resolve_in_score_and_fuse(planted: Planted) -> None:
    model = planted.model
    by_alias = model.score(Report(event_id="x", outlet="out3 wire", value=120.0))
    by_id = model.score(Report(event_id="x", outlet="out3", value=120.0))
    assert by_alias == by_id
    assert by_alias.outlet.outlet == "out3"
    assert not by_alias.cold_start
    assert model.score(Report(event_id="x", outlet="new desk", value=9.0)).outlet.group == "b"
    aliased = model.fuse(
        [
            Report(event_id="x", outlet="out3 wire", value=120.0),
            Report(event_id="x", outlet="out4", value=150.0),
        ]
    )
    plain = model.fuse(
        [
            Report(event_id="x", outlet="out3", value=120.0),
            Report(event_id="x", outlet="out4", value=150.0),
        ]
    )
    assert aliased == plain
    assert [r.outlet for r in aliased.reports] == ["out3", "out4"]


def _queries() -> list[Report]:
    return [
        Report(event_id="q", outlet="out1", value=40.0),
        Report(event_id="q", outlet="out2 wire", low=30.0, high=60.0),
        Report(event_id="q", outlet="newcomer", figure_text="more than 25"),
        Report(event_id="q", outlet="stranger", low=10.0),
        Report(event_id="q", outlet="out5", value=0.0),
    ]


def test_table_round_trip_answers_exactly_like_the_fitted_model(planted: Planted) -> None:
    model = planted.model
    table = model.to_table(version="t1", created_at=datetime(2026, 1, 1, tzinfo=UTC), inputs=None)
    decoded = msgspec.json.decode(msgspec.json.encode(table), type=ScoreTable)
    assert decoded == table
    for rebuilt in (OutletModel.from_table(table), OutletModel.from_table(decoded)):
        for report in _queries():
            assert rebuilt.score(report) == model.score(report)
        assert rebuilt.fuse(_queries()) == model.fuse(_queries())
        assert rebuilt.fuse(_queries()[:2]) == model.fuse(_queries()[:2])
        assert rebuilt.outlets_ == model.outlets_
        assert rebuilt.metrics_ == model.metrics_


def test_unknown_metric_error_names_the_metric_and_the_known_ones(planted: Planted) -> None:
    with pytest.raises(UnknownMetricError) as caught:
        planted.model.score(Report(event_id="x", outlet="out1", metric="injured", value=3.0))
    assert str(caught.value) == "unknown metric 'injured'; known metrics: 'killed'"
    assert caught.value.metric == "injured"
    assert caught.value.known == ["killed"]
    with pytest.raises(UnknownMetricError, match="'injured'"):
        planted.model.fuse([Report(event_id="x", outlet="out1", metric="injured", value=3.0)])


@pytest.mark.parametrize(
    ("report", "message"),
    [
        (Report(event_id="x", outlet="out1", value=-3.0), "negative count -3"),
        (Report(event_id="x", outlet="out1", low=10.0, high=5.0), "low 10 is greater than high 5"),
    ],
)
def test_bad_figures_raise_figure_error(planted: Planted, report: Report, message: str) -> None:
    with pytest.raises(FigureError, match=message):
        planted.model.score(report)
    with pytest.raises(FigureError, match=message):
        planted.model.fuse([Report(event_id="x", outlet="out2", value=10.0), report])


def test_fuse_rejects_an_empty_list_and_mixed_metrics(planted: Planted) -> None:
    with pytest.raises(ValueError, match="no reports to fuse"):
        planted.model.fuse([])
    mixed = [
        Report(event_id="x", outlet="out1", value=3.0),
        Report(event_id="x", outlet="out2", metric="injured", value=3.0),
    ]
    with pytest.raises(ValueError, match=r"share a metric, got \['injured', 'killed'\]"):
        planted.model.fuse(mixed)


def test_non_positive_df_is_rejected() -> None:
    reports = pl.DataFrame({"event_id": ["e1"], "outlet": ["a"], "value": [3.0]})
    with pytest.raises(ValueError, match="df must be positive or 'auto', got 0"):
        OutletModel(df=0, cv_folds=0).fit(reports, reports.drop("outlet"))


def test_init_only_stores_parameters() -> None:
    model = OutletModel(df=7.0, cv_folds=3, grid_size=64, seed=4)
    assert model.get_params()["df"] == 7.0
    assert not hasattr(model, "outlets_")
    assert not hasattr(model, "metrics_")
