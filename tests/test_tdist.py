"""Known answers for the Student-t numerics against scipy (reliability.tdist)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from scipy import integrate, special, stats

from reliability.tdist import (
    _interval_moments,
    interval_moments,
    log_likelihood,
    t_cdf,
    t_interval_prob,
    tilted_moments,
)

INF = np.inf
#: Even df take the closed-form series (64 is its largest); the rest go to scipy.
EVEN_DF = (2.0, 4.0, 6.0, 8.0, 64.0)
OTHER_DF = (1.0, 3.0, 5.0, 7.5, 65.0, 200.0)
Z = np.concatenate(
    [
        [-INF, -1e8, -1e3 - 1, -1e3 + 1],
        np.linspace(-30.0, 30.0, 241),
        [1e3 - 1, 1e3 + 1, 1e8, INF],
    ]
)
INTERVALS = (
    (-1.0, 2.0),
    (0.5, 0.6),
    (-0.01, 0.01),
    (-INF, -3.0),
    (-INF, 0.0),
    (2.0, INF),
    (3.0, INF),
    (-INF, INF),
    (-6.0, -2.5),
    (1.5, 9.0),
)


@pytest.mark.parametrize("df", EVEN_DF + OTHER_DF)
def test_t_cdf_matches_scipy_over_the_range_and_far_tails(df: float) -> None:
    got = t_cdf(Z, df)
    want = special.stdtr(df, Z)
    np.testing.assert_allclose(got, want, rtol=0, atol=5e-16)
    assert got[0] == 0.0
    assert got[-1] == 1.0
    # Relative accuracy where the lower tail still holds most of the digits.
    body = (Z > -5) & (Z < 0)
    np.testing.assert_allclose(got[body], want[body], rtol=1e-8)


@pytest.mark.parametrize("df", EVEN_DF)
def test_t_cdf_series_beyond_the_fallback_threshold_uses_scipy_exactly(df: float) -> None:
    far = np.array([-1e6, -2e3, 2e3, 1e6])
    np.testing.assert_allclose(t_cdf(far, df), special.stdtr(df, far), rtol=1e-12, atol=0)


def test_lower_tail_keeps_relative_accuracy_for_even_df() -> None:
    np.testing.assert_allclose(
        t_cdf(np.array([-12.0]), 64.0), special.stdtr(64.0, -12.0), rtol=1e-6
    )
    np.testing.assert_allclose(
        t_cdf(np.array([-200.0]), 6.0), special.stdtr(6.0, -200.0), rtol=1e-6
    )
    ll = log_likelihood(np.array([12.0]), np.array([15.0]), np.ones(1), 64.0)
    assert ll[0] == pytest.approx(np.log(special.stdtr(64.0, -12.0) - special.stdtr(64.0, -15.0)))


def _quad_moments(a: float, b: float, df: float) -> list[float]:
    """E[w g(z) | a <= z <= b] by adaptive quadrature of (df+1)/(df+z^2) g(z) t_pdf(z)."""

    log_const = (
        special.gammaln((df + 1) / 2) - special.gammaln(df / 2) - 0.5 * math.log(df * math.pi)
    )

    def integrand(z: float, g: Callable[[float], float]) -> float:
        density = math.exp(log_const - (df + 1) / 2 * math.log1p(z * z / df))
        return (df + 1) / (df + z * z) * g(z) * density

    prob = stats.t.cdf(b, df) - stats.t.cdf(a, df)
    return [
        integrate.quad(integrand, a, b, args=(g,), epsabs=1e-14, epsrel=1e-12, limit=200)[0] / prob
        for g in (lambda z: 1.0, lambda z: z, lambda z: z * z)
    ]


@pytest.mark.parametrize("df", [2.0, 3.0, 4.0, 5.0, 7.5, 10.0])
def test_tilted_moments_match_quadrature(df: float) -> None:
    za = np.array([a for a, _ in INTERVALS])
    zb = np.array([b for _, b in INTERVALS])
    got = np.stack(tilted_moments(za, zb, df), axis=1)
    want = np.array([_quad_moments(a, b, df) for a, b in INTERVALS])
    np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-12)


def test_tilted_moments_of_points_are_the_em_weights() -> None:
    z = np.array([-5.0, -1.0, 0.0, 0.3, 7.0])
    ew, ewz, ewz2 = tilted_moments(z, z.copy(), 4.0)
    np.testing.assert_allclose(ew, 5.0 / (4.0 + z**2))
    np.testing.assert_allclose(ewz, ew * z)
    np.testing.assert_allclose(ewz2, ew * z * z)


def test_tilted_moments_of_an_interval_shrink_to_its_point() -> None:
    ew, ewz, ewz2 = tilted_moments(np.array([1.0]), np.array([1.0 + 1e-6]), 4.0)
    assert ew[0] == pytest.approx(5.0 / 5.0, rel=1e-5)
    assert ewz[0] == pytest.approx(1.0, rel=1e-5)
    assert ewz2[0] == pytest.approx(1.0, rel=1e-5)


@pytest.mark.parametrize("df", [3.0, 4.0, 30.0, 100.0])
def test_log_likelihood_of_points_is_the_scaled_t_density(df: float) -> None:
    z = np.linspace(-40.0, 40.0, 81)
    scale = np.linspace(0.05, 3.0, 81)
    np.testing.assert_allclose(
        log_likelihood(z, z.copy(), scale, df), stats.t.logpdf(z, df) - np.log(scale), rtol=1e-12
    )


@pytest.mark.parametrize("df", [3.0, 4.0, 6.0, 30.0])
def test_log_likelihood_of_intervals_is_the_log_probability(df: float) -> None:
    za = np.array([a for a, _ in INTERVALS] + [4.0, -9.0])
    zb = np.array([b for _, b in INTERVALS] + [5.0, -8.0])
    want = np.log(special.stdtr(df, zb) - special.stdtr(df, za))
    got = log_likelihood(za, zb, np.full(za.size, 7.0), df)
    np.testing.assert_allclose(got, want, rtol=1e-7)
    np.testing.assert_allclose(np.exp(got), t_interval_prob(za, zb, df), rtol=1e-12)


def test_log_likelihood_mixes_points_and_intervals_elementwise() -> None:
    za = np.array([0.5, -INF, 2.0])
    zb = np.array([0.5, 1.0, 2.0])
    got = log_likelihood(za, zb, np.array([2.0, 2.0, 0.5]), 4.0)
    assert got[0] == pytest.approx(stats.t.logpdf(0.5, 4.0) - np.log(2.0))
    assert got[1] == pytest.approx(np.log(stats.t.cdf(1.0, 4.0)))
    assert got[2] == pytest.approx(stats.t.logpdf(2.0, 4.0) - np.log(0.5))


def test_interval_probability_keeps_upper_tail_digits() -> None:
    # 1 - cdf would cancel to zero here; the tail flip keeps the answer exact.
    prob = t_interval_prob(np.array([2e3]), np.array([INF]), 4.0)
    assert prob[0] == pytest.approx(special.stdtr(4.0, -2e3), rel=1e-10)


@pytest.mark.parametrize("df", [2.0, 4.0, 6.0, 8.0])
def test_even_df_interval_moments_agree_with_the_general_closed_forms(df: float) -> None:
    # The fast path shares one square root per bound between both CDFs and the density;
    # far bounds (|z| >= 8, finite) go to the general path, so both tails are exercised.
    rng = np.random.default_rng(7)
    a = rng.normal(0.0, 4.0, 20_000)
    b = a + rng.exponential(1.0, a.size)
    a[rng.random(a.size) < 0.1] = -INF
    b[rng.random(b.size) < 0.1] = INF
    got = np.stack(interval_moments(a, b, df))
    want = np.stack(_interval_moments(a, b, df))
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)
