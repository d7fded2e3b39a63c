"""Fusion: exact grid posterior against brute-force integration, and fusing through the model."""

from __future__ import annotations

import msgspec
import numpy as np
import numpy.typing as npt
import polars as pl
import pytest
from scipy import special, stats

from reliability.event_prior import TabulatedPrior, build_event_prior
from reliability.fusion import QUANTILES, FusionSpec, ReportBatch, fuse_events
from reliability.outlet_model import OutletModel
from reliability.records import Report
from reliability.scales import Scale
from reliability.table import EventPrior

FloatArray = npt.NDArray[np.float64]

DF = 4.0
EVENT_SD = 0.15
#: One event on the log scale: two exact reports and one "at least 120".
LO = np.log1p(np.array([95.0, 130.0, 120.0]))
HI = np.array([LO[0], LO[1], np.inf])
BIAS = np.array([0.05, 0.2, -0.1])
SCALE = np.array([0.25, 0.4, 0.3])


def _prior() -> EventPrior:
    theta = np.random.default_rng(4).normal(4.0, 1.0, 400)
    return build_event_prior(theta, count=True)


def _brute_force_quantiles(prior: EventPrior) -> FloatArray:
    """prior(theta) * ∫ N(u; 0, sd^2) prod_i L_i(theta + u) du on a dense grid, then its CDF."""
    theta = np.linspace(2.0, 7.5, 4001)
    u = np.linspace(-8 * EVENT_SD, 8 * EVENT_SD, 801)
    shifted = theta[:, None] + u[None, :]
    loglik = np.zeros_like(shifted)
    for i in range(LO.size):
        za = (LO[i] - BIAS[i] - shifted) / SCALE[i]
        if np.isfinite(HI[i]):
            # The t density up to a constant, which the normalisation removes.
            loglik += -(DF + 1) / 2 * np.log1p(za * za / DF)
        else:
            loglik += np.log(special.stdtr(DF, -za))
    lik = np.exp(loglik - loglik.max()) @ stats.norm.pdf(u, 0.0, EVENT_SD)
    support = prior.grid_start + prior.grid_step * np.arange(len(prior.log_density))
    logprior = np.interp(theta, support, prior.log_density, left=-np.inf, right=-np.inf)
    post = lik * np.exp(logprior - logprior.max())
    # Trapezoid CDF on the fine grid.
    cdf = np.concatenate([[0.0], np.cumsum((post[1:] + post[:-1]) / 2)])
    cdf /= cdf[-1]
    return np.asarray(np.interp(np.array(QUANTILES), cdf, theta), dtype=np.float64)


def _batch(order: list[int]) -> ReportBatch:
    return ReportBatch(
        event=np.zeros(3, dtype=np.intp),
        lo=LO[order],
        hi=HI[order],
        bias=BIAS[order],
        scale=SCALE[order],
        n_events=1,
    )


def test_fused_quantiles_match_brute_force_integration() -> None:
    prior = _prior()
    spec = FusionSpec(scale=Scale.LOG, df=DF, event_sd=EVENT_SD)
    fused = fuse_events(
        _batch([0, 1, 2]), [TabulatedPrior.of(prior)], np.zeros(1, dtype=np.intp), spec
    )
    want = _brute_force_quantiles(prior)
    spread = want[-1] - want[0]
    np.testing.assert_allclose(fused.quantiles[0], want, rtol=0, atol=2e-3 * spread)
    assert np.all(np.diff(fused.quantiles[0]) > 0)


def test_the_at_least_claim_moves_the_posterior() -> None:
    prior = _prior()
    spec = FusionSpec(scale=Scale.LOG, df=DF, event_sd=EVENT_SD)
    both = fuse_events(
        _batch([0, 1, 2]), [TabulatedPrior.of(prior)], np.zeros(1, dtype=np.intp), spec
    )
    points = ReportBatch(
        event=np.zeros(2, dtype=np.intp),
        lo=LO[:2],
        hi=HI[:2],
        bias=BIAS[:2],
        scale=SCALE[:2],
        n_events=1,
    )
    without = fuse_events(points, [TabulatedPrior.of(prior)], np.zeros(1, dtype=np.intp), spec)
    assert both.quantiles[0, 2] > without.quantiles[0, 2] + 0.01
    np.testing.assert_allclose(both.weights.sum(), 1.0)


def test_events_are_fused_independently_in_one_batch() -> None:
    prior = _prior()
    spec = FusionSpec(scale=Scale.LOG, df=DF, event_sd=EVENT_SD)
    alone = fuse_events(
        _batch([0, 1, 2]), [TabulatedPrior.of(prior)], np.zeros(1, dtype=np.intp), spec
    )
    other = np.log1p(np.array([10.0, 14.0]))
    batch = ReportBatch(
        event=np.array([1, 0, 1, 0, 0], dtype=np.intp),
        lo=np.array([other[0], LO[0], other[1], LO[1], LO[2]]),
        hi=np.array([other[0], HI[0], other[1], HI[1], HI[2]]),
        bias=np.array([0.0, BIAS[0], 0.0, BIAS[1], BIAS[2]]),
        scale=np.array([0.3, SCALE[0], 0.3, SCALE[1], SCALE[2]]),
        n_events=2,
    )
    together = fuse_events(batch, [TabulatedPrior.of(prior)], np.zeros(2, dtype=np.intp), spec)
    np.testing.assert_allclose(together.quantiles[0], alone.quantiles[0], rtol=1e-12)
    np.testing.assert_allclose(together.weights[[1, 3, 4]], alone.weights, rtol=1e-9)
    assert together.quantiles[1, 2] < np.log1p(20.0)


def test_an_event_without_reports_is_an_error() -> None:
    batch = ReportBatch(
        event=np.array([0], dtype=np.intp),
        lo=LO[:1],
        hi=HI[:1],
        bias=BIAS[:1],
        scale=SCALE[:1],
        n_events=2,
    )
    spec = FusionSpec(scale=Scale.LOG, df=DF, event_sd=EVENT_SD)
    with pytest.raises(ValueError, match="every event needs at least one report"):
        fuse_events(batch, [TabulatedPrior.of(_prior())], np.zeros(2, dtype=np.intp), spec)


@pytest.fixture(scope="module")
def perfect_model() -> OutletModel:
    """``exact`` always reports the settled figure; two other outlets are noisy."""
    rng = np.random.default_rng(9)
    n = 200
    truth = np.round(np.expm1(rng.normal(5.0, 1.0, n)))
    noisy = [np.round(truth * np.exp(rng.normal(b, 0.3, n))) for b in (0.2, -0.1)]
    events = [f"e{k}" for k in range(n)]
    reports = pl.DataFrame(
        {
            "event_id": events * 3,
            "outlet": ["exact"] * n + ["loud"] * n + ["quiet"] * n,
            "value": np.concatenate([truth, *noisy]),
        }
    )
    consensus = pl.DataFrame({"event_id": events, "value": truth})
    return OutletModel(cv_folds=0).fit(reports, consensus)


def test_one_report_from_a_perfect_outlet_returns_its_figure(perfect_model: OutletModel) -> None:
    exact = next(o for o in perfect_model.outlets_ if o.outlet == "exact")
    assert abs(exact.bias.estimate) < 0.01
    fused = perfect_model.fuse([Report(event_id="new", outlet="exact", value=1234.0)])
    assert fused.posterior.estimate == pytest.approx(1234.0, abs=1.0)
    assert 1234.0 * 0.95 <= fused.posterior.lo90 <= 1234.0 <= fused.posterior.hi90 <= 1234.0 * 1.05
    assert fused.reports[0].weight == 1.0


def test_a_perfect_outlet_dominates_a_noisy_one(perfect_model: OutletModel) -> None:
    fused = perfect_model.fuse(
        [
            Report(event_id="new", outlet="loud", value=2000.0),
            Report(event_id="new", outlet="exact", value=1234.0),
        ]
    )
    assert fused.posterior.estimate == pytest.approx(1234.0, rel=0.02)
    assert fused.reports[1].weight > 0.9


def test_permuting_reports_changes_only_the_order_of_weights(perfect_model: OutletModel) -> None:
    reports = [
        Report(event_id="new", outlet="loud", value=900.0, report_id="a"),
        Report(event_id="new", outlet="quiet", low=500.0, high=800.0, report_id="b"),
        Report(event_id="new", outlet="stranger", low=600.0, report_id="c"),
        Report(event_id="new", outlet="quiet", value=750.0, report_id="d"),
    ]
    forward = perfect_model.fuse(reports)
    backward = perfect_model.fuse(reports[::-1])
    # Equal up to the order of floating-point sums.
    assert msgspec.structs.asdict(backward.posterior) == pytest.approx(
        msgspec.structs.asdict(forward.posterior), rel=1e-9
    )
    by_id = {r.report_id: r.weight for r in forward.reports}
    assert {r.report_id: r.weight for r in backward.reports} == pytest.approx(by_id, rel=1e-9)
    assert sum(by_id.values()) == pytest.approx(1.0)


def test_fuse_frame_agrees_with_fuse(perfect_model: OutletModel) -> None:
    frame = pl.DataFrame(
        {
            "event_id": ["a", "a", "b"],
            "outlet": ["loud", "quiet", "exact"],
            "value": [300.0, 250.0, 77.0],
        }
    )
    out = perfect_model.fuse_frame(frame).sort("event_id")
    assert out["n_reports"].to_list() == [2, 1]
    one = perfect_model.fuse(
        [
            Report(event_id="a", outlet="loud", value=300.0),
            Report(event_id="a", outlet="quiet", value=250.0),
        ]
    )
    row = out.row(0, named=True)
    for key in ("estimate", "lo50", "hi50", "lo90", "hi90"):
        assert row[key] == pytest.approx(getattr(one.posterior, key), rel=1e-9)
    assert out.row(1, named=True)["estimate"] == pytest.approx(77.0, abs=1.0)
