"""The tabulated event-size prior (reliability.event_prior) and its strata."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
from scipy import stats

from reliability.event_prior import (
    BROAD_SD_FACTOR,
    BROAD_SHARE,
    LAST_SPIKE,
    PRIOR_POINTS,
    SPIKE_SD,
    TabulatedPrior,
    build_event_prior,
    prior_grid,
)
from reliability.params import MIN_STRATUM_EVENTS, event_priors
from reliability.scales import Scale


def test_prior_is_a_normalised_density_on_an_even_grid() -> None:
    theta = np.random.default_rng(0).normal(4.0, 1.2, 500)
    prior = build_event_prior(theta, count=True)
    # Fine enough for the spikes of whole counts; a linear metric keeps the coarse grid.
    assert prior.grid_step <= SPIKE_SD / 2
    assert len(build_event_prior(theta, count=False).log_density) == PRIOR_POINTS
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
    # Above the spikes of small counts (docs/model.md, section 7).
    inside = (grid > np.log(LAST_SPIKE + 1.5)) & (grid < 8.0)
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


def test_small_counts_carry_their_cells_mass_on_spikes_at_the_count() -> None:
    rng = np.random.default_rng(5)
    counts = np.maximum(np.round(np.expm1(rng.normal(1.5, 1.0, 2000))), 0.0)
    theta = np.log1p(counts)
    prior = build_event_prior(theta, count=True)
    grid, density = prior_grid(prior), np.exp(prior.log_density)
    # The reference: the kernel density plus broad normal, integrated over each count's
    # rounding cell (below 0 belongs to count 0), by normal CDFs instead of the binned grid.
    spread = float(np.std(theta))
    bandwidth = 1.06 * spread * theta.size ** (-0.2)
    k = np.arange(LAST_SPIKE + 1)
    lo = np.where(k == 0, -np.inf, np.log(k + 0.5))
    hi = np.log(k + 1.5)
    kde = np.mean(
        stats.norm.cdf((hi[:, None] - theta) / bandwidth)
        - stats.norm.cdf((lo[:, None] - theta) / bandwidth),
        axis=1,
    )
    broad = stats.norm(np.median(theta), BROAD_SD_FACTOR * spread)
    want = (1 - BROAD_SHARE) * kde + BROAD_SHARE * (broad.cdf(hi) - broad.cdf(lo))
    # Each spike's mass: the prior between the midpoints to its neighbouring counts.
    bounds = np.log(np.arange(LAST_SPIKE + 2) + 0.5)
    bounds[0] = -1.0
    got = np.array(
        [np.sum(density[(grid >= a) & (grid < b)]) * prior.grid_step for a, b in pairwise(bounds)]
    )
    # Binning the settled figures onto the coarse grid before smoothing costs a few percent.
    np.testing.assert_allclose(got, want, rtol=0.05)
    # Between two small counts the prior is all but empty: no truth lies there.
    between = np.array([np.log(2.5), np.log(3.5)])
    peaks = np.log1p(np.array([1.0, 2.0]))
    prior_pdf = TabulatedPrior.of(prior).log_pdf
    assert np.all(prior_pdf(between) < prior_pdf(peaks) - 10.0)
