"""Properties of the outlet model: invariances, monotonicity, and sanity on random data."""

from __future__ import annotations

import math

import msgspec
import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reliability.outlet_model import OutletModel
from reliability.records import Report
from reliability.table import MetricParams, OutletScore


def _dataset(seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Counts from 8 outlets in two groups, with some "at least" and range claims."""
    rng = np.random.default_rng(seed)
    n_out, n_ev = 8, 60
    bias = np.linspace(-0.4, 0.4, n_out)
    theta = rng.normal(4.0, 1.0, n_ev)
    e = np.repeat(np.arange(n_ev), 3)
    o = np.concatenate([rng.choice(n_out, 3, replace=False) for _ in range(n_ev)])
    y = np.round(
        np.expm1(theta[e] + bias[o] + rng.normal(0, 0.1, n_ev)[e] + 0.25 * rng.normal(size=e.size))
    )
    kind = rng.choice(3, e.size, p=[0.7, 0.15, 0.15])
    low = np.where(kind == 2, np.floor(y * 0.8), y)
    high = np.select([kind == 1, kind == 2], [np.inf, np.ceil(y * 1.25)], y)
    names = np.array([f"outlet{k}" for k in range(n_out)])
    reports = pl.DataFrame(
        {
            "event_id": [f"e{k}" for k in e],
            "outlet": names[o],
            "low": low,
            "high": high,
            "kind": np.array(["exact", "at_least", "range"])[kind],
            "metric": "killed",
        }
    )
    consensus = pl.DataFrame(
        {"event_id": [f"e{k}" for k in range(n_ev)], "value": np.round(np.expm1(theta))}
    )
    registry = pl.DataFrame({"outlet": names, "group": ["left", "right"] * (n_out // 2)})
    return reports, consensus, registry


def _numbers(score: OutletScore) -> list[float]:
    return [
        score.bias.estimate,
        score.bias.lo90,
        score.bias.hi90,
        score.bias_se,
        score.sd.estimate,
        score.sd.lo90,
        score.sd.hi90,
        score.effective_n,
        score.weight,
        score.n_reports,
        score.n_events,
    ]


def _close(expected: list[float]) -> object:
    """EM stops within a tolerance, so input order moves numbers only far below their precision."""
    return pytest.approx(expected, rel=1e-4, abs=1e-5)


def _hyper(params: MetricParams) -> list[float]:
    return [
        params.event_sd,
        params.global_bias,
        params.global_bias_se,
        params.between_group_sd,
        params.pooled_between_sd,
        params.sd_prior_dof,
        params.sd_prior_scale,
        params.typical_sd,
    ]


@pytest.fixture(scope="module")
def reference() -> OutletModel:
    reports, consensus, registry = _dataset()
    return OutletModel(cv_folds=0).fit(reports, consensus, registry)


def test_permuting_report_rows_changes_no_fitted_number(reference: OutletModel) -> None:
    reports, consensus, registry = _dataset()
    order = np.random.default_rng(1).permutation(reports.height)
    shuffled = OutletModel(cv_folds=0).fit(reports[order], consensus.reverse(), registry.reverse())
    assert [s.outlet for s in shuffled.outlets_] == [s.outlet for s in reference.outlets_]
    for mine, theirs in zip(shuffled.outlets_, reference.outlets_, strict=True):
        assert _numbers(mine) == _close(_numbers(theirs))
    assert _hyper(shuffled.metrics_["killed"]) == _close(_hyper(reference.metrics_["killed"]))
    assert shuffled.metrics_["killed"].event_priors == reference.metrics_["killed"].event_priors


def test_renaming_outlets_consistently_changes_no_fitted_number(reference: OutletModel) -> None:
    reports, consensus, registry = _dataset()
    # Reversed names also reverse the order in which outlets are coded.
    rename = {f"outlet{k}": f"z{9 - k}" for k in range(8)}
    renamed = OutletModel(cv_folds=0).fit(
        reports.with_columns(pl.col("outlet").replace(rename)),
        consensus,
        registry.with_columns(pl.col("outlet").replace(rename)),
    )
    theirs = {rename[s.outlet]: s for s in reference.outlets_}
    assert sorted(theirs) == [s.outlet for s in renamed.outlets_]
    for mine in renamed.outlets_:
        assert _numbers(mine) == _close(_numbers(theirs[mine.outlet]))
    assert _hyper(renamed.metrics_["killed"]) == _close(_hyper(reference.metrics_["killed"]))


def test_more_reports_never_widen_an_outlets_bias_interval() -> None:
    reports, consensus, registry = _dataset()
    rng = np.random.default_rng(2)
    n_target = 81
    theta = rng.normal(4.0, 1.0, n_target)
    events = [f"t{k}" for k in range(n_target)]
    target = pl.DataFrame(
        {
            "event_id": events,
            "outlet": "target",
            "low": np.round(np.expm1(theta + 0.3 + 0.3 * rng.normal(size=n_target))),
            "metric": "killed",
        }
    ).with_columns(high=pl.col("low"), kind=pl.lit("exact"))
    extra = pl.DataFrame({"event_id": events, "value": np.round(np.expm1(theta))})
    registry = pl.concat([registry, pl.DataFrame({"outlet": ["target"], "group": ["left"]})])
    widths = []
    for n in (3, 9, 27, 81):
        model = OutletModel(cv_folds=0).fit(
            pl.concat([reports, target.head(n)], how="diagonal"),
            pl.concat([consensus, extra], how="diagonal"),
            registry,
        )
        score = next(s for s in model.outlets_ if s.outlet == "target")
        assert score.n_reports == n
        widths.append(score.bias.hi90 - score.bias.lo90)
    assert widths == sorted(widths, reverse=True)
    assert widths[-1] < 0.5 * widths[0]


@st.composite
def small_datasets(draw: st.DrawFn) -> tuple[pl.DataFrame, pl.DataFrame]:
    n_out = draw(st.integers(1, 5))
    n_ev = draw(st.integers(2, 12))
    rows = draw(
        st.lists(
            st.tuples(
                st.integers(0, n_ev - 1),
                st.integers(0, n_out - 1),
                st.integers(0, 5000),
                st.sampled_from(["exact", "exact", "at_least", "range"]),
            ),
            min_size=2,
            max_size=40,
        )
    )
    truth = draw(st.lists(st.integers(0, 5000), min_size=n_ev, max_size=n_ev))
    kind = [r[3] for r in rows]
    # "At least 0" says nothing and breaks the fit (test_vacuous_at_least_zero_claims_...).
    value = [float(r[2]) + (k == "at_least") for r, k in zip(rows, kind, strict=True)]
    reports = pl.DataFrame(
        {
            "event_id": [f"e{r[0]}" for r in rows],
            "outlet": [f"o{r[1]}" for r in rows],
            "metric": "killed",
            "low": value,
            "high": [
                math.inf if k == "at_least" else v * 2 + 1 if k == "range" else v
                for v, k in zip(value, kind, strict=True)
            ],
            "kind": kind,
        }
    )
    consensus = pl.DataFrame(
        {"event_id": [f"e{k}" for k in range(n_ev)], "value": [float(t) for t in truth]}
    )
    return reports, consensus


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=small_datasets())
def test_random_small_datasets_give_finite_ordered_answers(
    data: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    reports, consensus = data
    model = OutletModel(cv_folds=0, grid_size=64).fit(reports, consensus)
    for params in model.metrics_.values():
        assert all(math.isfinite(v) for v in _hyper(params))
    for score in model.outlets_:
        assert all(math.isfinite(v) for v in _numbers(score))
        assert score.bias.lo90 <= score.bias.estimate <= score.bias.hi90
        assert 0 < score.sd.lo90 <= score.sd.estimate <= score.sd.hi90
    claims = [
        Report(event_id="new", outlet=row["outlet"], low=row["low"], high=row["high"])
        if math.isfinite(row["high"])
        else Report(event_id="new", outlet=row["outlet"], low=row["low"])
        for row in reports.head(4).iter_rows(named=True)
    ]
    fused = model.fuse([*claims, Report(event_id="new", outlet="unseen", value=7.0)])
    p = fused.posterior
    assert p.lo90 <= p.lo50 <= p.estimate <= p.hi50 <= p.hi90
    assert all(math.isfinite(v) for v in msgspec.structs.astuple(p))
    weights = [r.weight for r in fused.reports]
    assert all(w >= 0 for w in weights)
    assert sum(weights) == pytest.approx(1.0)


def test_vacuous_at_least_zero_claims_do_not_break_the_fit() -> None:
    reports = pl.DataFrame(
        {
            "event_id": ["e0", "e1", "e2"],
            "outlet": ["a", "a", "b"],
            "low": [5.0, 0.0, 0.0],
            "high": [5.0, math.inf, math.inf],
            "kind": ["exact", "at_least", "at_least"],
            "metric": "killed",
        }
    )
    consensus = pl.DataFrame({"event_id": ["e0", "e1", "e2"], "value": [4.0, 3.0, 2.0]})
    model = OutletModel(cv_folds=0).fit(reports, consensus)
    for score in model.outlets_:
        assert all(math.isfinite(v) for v in _numbers(score))
