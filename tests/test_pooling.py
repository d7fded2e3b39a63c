"""Known answers for the pooling hyperparameters (reliability.pooling)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from scipy import optimize

from reliability.pooling import fit_sd_prior, paule_mandel

FloatArray = npt.NDArray[np.float64]


def _q(tau2: float, est: FloatArray, var: FloatArray) -> float:
    w = 1.0 / (var + tau2)
    mean = np.sum(w * est) / np.sum(w)
    return float(np.sum(w * (est - mean) ** 2))


def _brentq_tau2(est: FloatArray, var: FloatArray) -> float:
    """The Paule–Mandel equation Q(tau^2) = k - 1 solved directly for one group."""
    target = est.size - 1.0
    if _q(0.0, est, var) <= target:
        return 0.0
    return float(
        optimize.brentq(lambda t: _q(t, est, var) - target, 0.0, 1e6, xtol=1e-14, rtol=1e-12)
    )


def test_paule_mandel_matches_brentq_per_group() -> None:
    rng = np.random.default_rng(3)
    sizes = [2, 3, 5, 12, 40]
    group = np.repeat(np.arange(len(sizes)), sizes).astype(np.intp)
    true_tau = np.array([0.5, 1.0, 0.2, 2.0, 0.7])[group]
    var = rng.uniform(0.01, 0.3, group.size)
    est = rng.normal(0.0, true_tau) + rng.normal(0.0, np.sqrt(var))
    tau2, mean, mean_var = paule_mandel(est, var, group, len(sizes))
    for g in range(len(sizes)):
        mine = group == g
        want = _brentq_tau2(est[mine], var[mine])
        assert tau2[g] == pytest.approx(want, rel=1e-7, abs=1e-12)
        w = 1.0 / (var[mine] + want)
        assert mean[g] == pytest.approx(np.sum(w * est[mine]) / np.sum(w), rel=1e-7)
        assert mean_var[g] == pytest.approx(1.0 / np.sum(w), rel=1e-7)
        if want > 0:
            assert _q(float(tau2[g]), est[mine], var[mine]) == pytest.approx(mine.sum() - 1.0)


def test_paule_mandel_is_zero_when_q_is_already_below_k_minus_one() -> None:
    # Estimates much closer together than their own variances explain.
    est = np.array([1.0, 1.01, 0.99, 1.02, 10.0, 10.0, 10.001])
    var = np.full(7, 0.5)
    group = np.array([0, 0, 0, 0, 1, 1, 1], dtype=np.intp)
    for g in (0, 1):
        assert _q(0.0, est[group == g], var[group == g]) < (group == g).sum() - 1
    tau2, mean, mean_var = paule_mandel(est, var, group, 2)
    np.testing.assert_array_equal(tau2, [0.0, 0.0])
    np.testing.assert_allclose(mean, [np.mean(est[:4]), np.mean(est[4:])])
    np.testing.assert_allclose(mean_var, [0.5 / 4, 0.5 / 3])


def test_paule_mandel_leaves_single_unit_groups_undetermined() -> None:
    est = np.array([1.0, 2.0, 4.0, 3.0])
    var = np.full(4, 0.1)
    group = np.array([0, 0, 0, 1], dtype=np.intp)
    tau2, mean, _ = paule_mandel(est, var, group, 3)
    assert np.isfinite(tau2[0])
    assert np.isnan(tau2[1])
    assert np.isnan(tau2[2])
    assert mean[1] == 3.0


@pytest.mark.parametrize(("nu0", "s0"), [(6.0, 0.4), (20.0, 1.5)])
def test_fit_sd_prior_recovers_planted_values(nu0: float, s0: float) -> None:
    rng = np.random.default_rng(11)
    n = 3000
    sigma2 = nu0 * s0**2 / rng.chisquare(nu0, n)
    dof = rng.integers(3, 40, n).astype(np.float64)
    ss = sigma2 * rng.chisquare(dof)
    got_nu0, got_s0 = fit_sd_prior(ss, dof)
    assert got_nu0 == pytest.approx(nu0, rel=0.2)
    assert got_s0 == pytest.approx(s0, rel=0.03)


def test_fit_sd_prior_ignores_outlets_without_information() -> None:
    rng = np.random.default_rng(5)
    dof = rng.integers(3, 40, 500).astype(np.float64)
    ss = 0.25 * rng.chisquare(dof)
    base = fit_sd_prior(ss, dof)
    padded = fit_sd_prior(np.concatenate([ss, [0.0, 5.0]]), np.concatenate([dof, [10.0, 0.2]]))
    assert padded == pytest.approx(base)
