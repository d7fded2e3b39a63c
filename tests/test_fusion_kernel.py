"""The compiled fusion kernel: its t CDF, and posteriors with known answers or quadratures."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest
from scipy import special, stats

from reliability.event_prior import TabulatedPrior
from reliability.fusion import QUANTILES, FusionSpec, fuse_event
from reliability.fusion_kernel import series_coefficients, t_cdf
from reliability.scales import Scale

FloatArray = npt.NDArray[np.float64]


def _normal_prior(centre: float, sd: float) -> TabulatedPrior:
    grid = np.linspace(centre - 12 * sd, centre + 12 * sd, 2001)
    return TabulatedPrior(grid, stats.norm.logpdf(grid, centre, sd))


def _posterior_quantiles(
    lo: FloatArray,
    hi: FloatArray,
    scale: FloatArray,
    df: float,
    event_sd: float,
    prior: TabulatedPrior,
) -> FloatArray:
    """prior(theta) * ∫ N(u; 0, event_sd²) Π L_i(theta + u) du by dense quadrature (scipy t)."""
    theta = np.linspace(prior.grid[0], prior.grid[-1], 6001)
    u = np.linspace(-8 * event_sd, 8 * event_sd, 401) if event_sd > 0 else np.zeros(1)
    shifted = theta[:, None] + u[None, :]
    loglik = np.zeros_like(shifted)
    for a, b, s in zip(lo, hi, scale, strict=True):
        if a == b:
            loglik += stats.t.logpdf((a - shifted) / s, df)
        else:
            loglik += np.log(
                special.stdtr(df, (b - shifted) / s) - special.stdtr(df, (a - shifted) / s)
            )
    shared = stats.norm.pdf(u, 0.0, event_sd) if event_sd > 0 else np.ones(1)
    lik = np.exp(loglik - loglik.max()) @ shared
    post = lik * np.exp(prior.log_pdf(theta) - prior.log_density.max())
    cdf = np.concatenate([[0.0], np.cumsum((post[1:] + post[:-1]) / 2)])
    return np.asarray(np.interp(np.array(QUANTILES), cdf / cdf[-1], theta), dtype=np.float64)


@pytest.mark.parametrize("df", [1.0, 2.0, 2.5, 3.0, 4.0, 6.0, 7.3, 8.0, 30.0, 1e4])
def test_t_cdf_matches_scipy_in_the_body_and_both_tails(df: float) -> None:
    coefficients = series_coefficients(df)
    log_beta = math.lgamma(df / 2) + math.lgamma(0.5) - math.lgamma(df / 2 + 0.5)
    z = np.concatenate([np.linspace(-60, 60, 1201), [-1e8, -7.999, 7.999, 8.0, 1e8]])
    got = np.array([t_cdf(float(x), df, coefficients, log_beta) for x in z])
    want = special.stdtr(df, z)
    # Relative accuracy in the lower tail is what censored claims far from the data need; at
    # large df, log B(df/2, 1/2) is a difference of large log-gammas and keeps fewer digits.
    np.testing.assert_allclose(got, want, rtol=1e-11 if df < 100 else 1e-9, atol=1e-15)
    assert t_cdf(-math.inf, df, coefficients, log_beta) == 0.0
    assert t_cdf(math.inf, df, coefficients, log_beta) == 1.0


def test_one_exact_report_of_a_precise_outlet_returns_its_figure() -> None:
    prior = _normal_prior(5.0, 2.0)
    x = np.array([np.log1p(1234.0)])
    fused = fuse_event(x, x, np.zeros(1), np.array([0.001]), prior, FusionSpec(Scale.LOG, 4.0, 0.0))
    assert fused.quantiles[2] == pytest.approx(x[0], abs=1e-5)
    assert fused.mean_natural == pytest.approx(1234.0, rel=1e-3)
    assert fused.weights.tolist() == [1.0]


def test_normal_prior_and_near_normal_report_give_the_conjugate_posterior() -> None:
    """With df large the report is normal: N(m, tau²) prior, x ~ N(theta, s² + event_sd²)."""
    m, tau, x, s, event_sd, bias = 1.0, 0.8, 2.5, 0.5, 0.3, 0.2
    prior = _normal_prior(m, tau)
    fused = fuse_event(
        np.array([x]),
        np.array([x]),
        np.array([bias]),
        np.array([s]),
        prior,
        FusionSpec(Scale.LINEAR, 1e6, event_sd),
    )
    noise = s * s + event_sd * event_sd
    var = 1 / (1 / tau**2 + 1 / noise)
    mean = var * (m / tau**2 + (x - bias) / noise)
    want = stats.norm.ppf(QUANTILES, mean, math.sqrt(var))
    # The 256-cell grid's mid-cell CDF widens the tails by about 1e-3 of the spread.
    np.testing.assert_allclose(fused.quantiles, want, rtol=0, atol=1e-3 * (want[-1] - want[0]))
    # The prior enters cells coarser than its table with its mass over the cell: a midpoint
    # error of order step^2 p''/24, here 1.5e-4 of the posterior sd.
    assert fused.mean_natural == pytest.approx(mean, abs=1e-4)


@pytest.mark.parametrize("df", [4.0, 3.0])
@pytest.mark.parametrize("event_sd", [0.0, 0.2])
def test_censored_claims_match_quadrature(df: float, event_sd: float) -> None:
    """A point, an "at least", an "at most" and a range, for the series and the beta path."""
    prior = _normal_prior(4.0, 1.5)
    lo = np.array([4.2, 4.6, -np.inf, 3.5])
    hi = np.array([4.2, np.inf, 5.0, 4.4])
    bias = np.array([0.1, -0.2, 0.0, 0.05])
    scale = np.array([0.3, 0.25, 0.4, 0.35])
    fused = fuse_event(lo, hi, bias, scale, prior, FusionSpec(Scale.LINEAR, df, event_sd))
    want = _posterior_quantiles(lo - bias, hi - bias, scale, df, event_sd, prior)
    spread = want[-1] - want[0]
    np.testing.assert_allclose(fused.quantiles, want, rtol=0, atol=2e-3 * spread)
    assert fused.weights.sum() == pytest.approx(1.0)
