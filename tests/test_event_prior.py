"""The tabulated event-size prior (reliability.event_prior) and its strata."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from reliability.event_prior import (
    BROAD_SD_FACTOR,
    BROAD_SHARE,
    PRIOR_POINTS,
    TabulatedPrior,
    build_event_prior,
    prior_grid,
)
from reliability.params import MIN_STRATUM_EVENTS, event_priors
from reliability.scales import Scale


def test_prior_is_a_normalised_density_on_an_even_grid() -> None:
    theta = np.random.default_rng(0).normal(4.0, 1.2, 500)
    prior = build_event_prior(theta, count=True)
    assert len(prior.log_density) == PRIOR_POINTS
    assert prior.n_events == 500
    grid = prior_grid(prior)
    np.testing.assert_allclose(np.diff(grid), prior.grid_step)
    assert np.sum(np.exp(prior.log_density)) * prior.grid_step == pytest.approx(1.0)
    assert prior.grid_start == 0.0
    lo, hi = TabulatedPrior.of(prior).support
    assert lo == grid[0]
    assert hi == pytest.approx(grid[-1])


def test_prior_is_the_kernel_density_plus_a_broad_component() -> None:
    theta = np.random.default_rng(1).normal(5.0, 1.0, 2000)
    prior = build_event_prior(theta, count=True)
    grid = prior_grid(prior)
    spread = float(np.std(theta))
    bandwidth = 1.06 * spread * theta.size ** (-0.2)
    kde = stats.gaussian_kde(theta, bw_method=bandwidth / np.std(theta, ddof=1))(grid)
    broad = stats.norm.pdf(grid, np.median(theta), BROAD_SD_FACTOR * spread)
    want = (1 - BROAD_SHARE) * kde + BROAD_SHARE * broad
    inside = (grid > 2.0) & (grid < 8.0)
    want /= np.sum(want) * prior.grid_step
    # Binning the data onto the grid before smoothing costs about 1% of the peak at most.
    np.testing.assert_allclose(
        np.exp(prior.log_density)[inside], want[inside], rtol=0, atol=0.01 * want.max()
    )


def test_tails_stay_heavy_beyond_every_settled_figure() -> None:
    theta = np.random.default_rng(2).normal(3.0, 0.5, 300)
    prior = build_event_prior(theta, count=True)
    far = np.array([theta.max() + 3.0])
    floor = BROAD_SHARE * stats.norm.pdf(far, np.median(theta), BROAD_SD_FACTOR * np.std(theta))
    assert np.exp(TabulatedPrior.of(prior).log_pdf(far))[0] >= 0.9 * floor[0]


def test_density_is_interpolated_inside_and_impossible_outside() -> None:
    prior = build_event_prior(np.random.default_rng(3).normal(0.0, 2.0, 100), count=False)
    grid = prior_grid(prior)
    np.testing.assert_allclose(TabulatedPrior.of(prior).log_pdf(grid), prior.log_density)
    middle = (grid[10] + grid[11]) / 2
    assert TabulatedPrior.of(prior).log_pdf(np.array([middle]))[0] == pytest.approx(
        (prior.log_density[10] + prior.log_density[11]) / 2
    )
    lo, hi = TabulatedPrior.of(prior).support
    outside = TabulatedPrior.of(prior).log_pdf(np.array([lo - 1.0, hi + 1.0]))
    assert np.all(np.isneginf(outside))
    assert lo < 0.0


def test_too_few_figures_give_a_broad_normal() -> None:
    one = build_event_prior(np.array([4.0]), count=True)
    grid = prior_grid(one)
    assert grid[int(np.argmax(one.log_density))] == pytest.approx(4.0, abs=one.grid_step)
    none = build_event_prior(np.array([], dtype=np.float64), count=True)
    assert none.n_events == 0
    assert np.sum(np.exp(none.log_density)) * none.grid_step == pytest.approx(1.0)
    assert np.all(np.isfinite(none.log_density))


def test_strata_with_enough_events_get_their_own_prior() -> None:
    rng = np.random.default_rng(4)
    n_big, n_small = MIN_STRATUM_EVENTS, MIN_STRATUM_EVENTS - 1
    theta = np.concatenate([rng.normal(2.0, 0.3, n_big), rng.normal(6.0, 0.3, n_small)])
    strata: list[str | None] = [*(["side_a"] * n_big), *(["side_b"] * n_small)]
    priors = event_priors(theta, strata, Scale.LOG)
    assert [p.stratum for p in priors] == [None, "side_a"]
    assert [p.n_events for p in priors] == [n_big + n_small, n_big]
    side_a = prior_grid(priors[1])[int(np.argmax(priors[1].log_density))]
    assert side_a == pytest.approx(2.0, abs=0.3)
