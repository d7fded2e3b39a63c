"""The compiled E-step (reliability.em_kernel) against the numpy tilted moments, and warm starts.

The kernel takes the even-df closed forms and leaves the rest (odd df, far finite bounds,
intervals without mass) to the general numpy path; both halves are checked against
``tdist.tilted_moments`` averaged over the two Gauss–Hermite nodes.
"""

from __future__ import annotations

import numpy as np
import pytest

from reliability import em_kernel
from reliability.em_kernel import event_precision, expect, pair_sums, residual_sums, spread_sums
from reliability.metric_fit import FloatArray, fit_metric
from reliability.tdist import tilted_moments
from tests.test_em_step import _data

INF = np.inf
SHIFTED_A = np.array([-5.0, -1.0, 0.0, 0.3, 2.0, 7.0, -1.0, 0.5, -INF, 2.0, -INF, -6.0])
SHIFTED_B = np.array([-5.0, -1.0, 0.0, 0.3, 2.0, 7.0, 2.0, 0.6, -3.0, INF, INF, -2.5])


def _standardised(
    za: FloatArray, zb: FloatArray, spread: FloatArray, df: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The kernel's moments of standardised bounds: one outlet of unit scale, one event per
    report whose posterior sd (in scale units) is ``spread``."""
    n = za.size
    with np.errstate(divide="ignore"):
        precision = 1.0 / (spread * spread)
    _, ew, ewz, ewz2, _, _ = expect(
        za,
        zb,
        np.zeros(n, dtype=np.intp),
        np.arange(n, dtype=np.intp),
        np.zeros(n),
        np.zeros(1),
        np.ones(1),
        np.zeros(n),
        df,
        u_precision=precision,
    )
    return ew, ewz, ewz2


def _two_nodes(
    za: FloatArray, zb: FloatArray, spread: FloatArray, df: float
) -> tuple[FloatArray, ...]:
    low = tilted_moments(za + spread, zb + spread, df)
    high = tilted_moments(za - spread, zb - spread, df)
    return tuple((a + b) / 2 for a, b in zip(low, high, strict=True))


@pytest.mark.parametrize("df", [4.0, 5.0, 6.0])
def test_kernel_moments_equal_the_numpy_moments_at_two_nodes(df: float) -> None:
    rng = np.random.default_rng(int(df))
    n_points, n = 300, 1_000
    za = rng.normal(0.0, 3.0, n)
    zb = za.copy()
    zb[n_points:] += rng.uniform(0.01, 3.0, n - n_points)
    # Open bounds, far finite bounds (the general path) and intervals without usable mass.
    zb[n_points : n_points + 100] = INF
    za[n_points + 100 : n_points + 200] = -INF
    za[n_points + 200 : n_points + 250] = rng.uniform(-40.0, -9.0, 50)
    za[n_points + 250 : n_points + 260] = 1e5
    zb[n_points + 250 : n_points + 260] = 1e5 + 1.0
    spread = rng.uniform(0.0, 0.6, n)
    # Points and intervals interleaved: the kernel tells them apart per report.
    rows = rng.permutation(n)
    za, zb, spread = za[rows], zb[rows], spread[rows]
    got = _standardised(za, zb, spread, df)
    want = _two_nodes(za, zb, spread, df)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-13)


def test_kernel_moments_without_spread_are_the_tilted_moments() -> None:
    got = _standardised(SHIFTED_A, SHIFTED_B, np.zeros(SHIFTED_A.size), 4.0)
    for g, want in zip(got, tilted_moments(SHIFTED_A, SHIFTED_B, 4.0), strict=True):
        np.testing.assert_allclose(g, want, rtol=1e-12, atol=1e-15)


def test_kernel_moments_in_the_normal_limit_add_the_centre_variance() -> None:
    z = np.array([-3.0, -0.5, 0.0, 1.2])
    spread = np.array([0.1, 0.3, 0.5, 0.2])
    ew, ewz, ewz2 = _standardised(z, z, spread, 1e12)
    np.testing.assert_allclose(ew, 1.0, rtol=1e-9)
    np.testing.assert_allclose(ewz, z, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ewz2, z * z + spread * spread, rtol=1e-9)


@pytest.mark.parametrize("spread", [0.2, 0.35])
def test_kernel_moments_match_fine_quadrature_over_the_shift(spread: float) -> None:
    # The two-point rule against 80-point Gauss-Hermite over a N(0, spread^2) shift, at the
    # spreads of a shared event error relative to report noise; plug-in moments (no spread)
    # are off by 0.05-0.14 here.
    got = np.stack(_standardised(SHIFTED_A, SHIFTED_B, np.full(SHIFTED_A.size, spread), 4.0))
    nodes, weights = np.polynomial.hermite_e.hermegauss(80)
    weights /= weights.sum()
    want = sum(
        wk * np.stack(tilted_moments(SHIFTED_A - spread * xk, SHIFTED_B - spread * xk, 4.0))
        for xk, wk in zip(nodes, weights, strict=True)
    )
    plug_in = np.stack(tilted_moments(SHIFTED_A, SHIFTED_B, 4.0))
    assert np.max(np.abs(got - want)) < 0.01
    assert np.sum(np.abs(got - want)) < 0.05 * np.sum(np.abs(plug_in - want))


def test_weights_and_extra_variance_scale_the_precision_and_pull() -> None:
    rng = np.random.default_rng(3)
    n = 200
    ra = rng.normal(0.0, 1.0, n)
    rb = ra + np.where(np.arange(n) < 80, 0.0, rng.uniform(0.1, 1.0, n))
    outlet = rng.integers(0, 4, n).astype(np.intp)
    sigma2 = np.array([0.5, 1.0, 2.0, 0.25])
    b = rng.normal(0.0, 0.3, 4)
    extra = rng.uniform(0.0, 0.5, n)
    weight = rng.uniform(0.2, 1.0, n)
    shift = rng.normal(0.0, 0.2, n)
    m, ew, ewz, _, omega, q = expect(
        ra,
        rb,
        outlet,
        np.zeros(n, dtype=np.intp),
        shift,
        b,
        sigma2,
        np.zeros(1),
        4.0,
        weight=weight,
        extra_var=extra,
    )
    var = sigma2[outlet] + extra
    s = np.sqrt(var)
    za = (ra - m) / s
    want = tilted_moments(za, np.where(np.arange(n) < 80, za, (rb - m) / s), 4.0)
    np.testing.assert_allclose(m, b[outlet] + shift, rtol=1e-15)
    np.testing.assert_allclose(ew, weight * want[0], rtol=1e-12)
    np.testing.assert_allclose(omega, weight * want[0] / var, rtol=1e-12)
    np.testing.assert_allclose(q, weight * want[1] / s, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(ewz, weight * want[1], rtol=1e-10, atol=1e-14)


def test_residual_sums_subtract_the_parameter_changes() -> None:
    rng = np.random.default_rng(5)
    n, n_out, n_ev = 500, 7, 40
    outlet = rng.integers(0, n_out, n).astype(np.intp)
    event = rng.integers(0, n_ev, n).astype(np.intp)
    cell = rng.integers(0, 4, n).astype(np.intp)  # 3 cells; code 3 is "none"
    lag = rng.integers(0, 3, n).astype(np.intp)  # 2 bins; code 2 is "none"
    du, db = rng.normal(size=n_ev), rng.normal(size=n_out)
    ddelta, dlam = np.append(rng.normal(size=3), 0.0), np.append(rng.normal(size=2), 0.0)
    omega, q = rng.uniform(0.1, 2.0, n), rng.normal(size=n)
    no_epoch = np.zeros(0, dtype=np.intp)
    info, net = residual_sums(
        outlet,
        n_out,
        outlet,
        event,
        cell,
        lag,
        no_epoch,
        du,
        db,
        ddelta,
        dlam,
        np.zeros(0),
        omega,
        q,
    )
    shift = du[event] + db[outlet] + ddelta[cell] + dlam[lag]
    np.testing.assert_allclose(info, np.bincount(outlet, omega, n_out), rtol=1e-12)
    np.testing.assert_allclose(net, np.bincount(outlet, q - omega * shift, n_out), rtol=1e-10)
    # Drift cells (outlet x 2 epochs) move their reports too.
    epoch = (outlet * 2 + rng.integers(0, 2, n)).astype(np.intp)
    ddrift = rng.normal(size=2 * n_out)
    _, net = residual_sums(
        event, n_ev, outlet, event, cell, lag, epoch, du, db, ddelta, dlam, ddrift, omega, q
    )
    shift += ddrift[epoch]
    np.testing.assert_allclose(net, np.bincount(event, q - omega * shift, n_ev), rtol=1e-10)


def test_a_warm_start_from_the_fit_itself_ends_where_the_cold_fit_did() -> None:
    data = _data(4)
    cold = fit_metric(data, df=4.0)
    warm = fit_metric(data, df=4.0, start=cold.state)
    assert warm.iterations < cold.iterations / 2
    # Both stop within a few convergence tolerances (1e-4 residual spreads, about 3e-5 here)
    # of the fixed point, at hyperparameters that settled from different sides.
    np.testing.assert_allclose(warm.bias, cold.bias, rtol=0, atol=3e-4)
    np.testing.assert_allclose(warm.sd, cold.sd, rtol=0, atol=3e-4)
    assert warm.event_sd == pytest.approx(cold.event_sd, rel=0.02)


def test_a_pass_split_across_threads_equals_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(11)
    n, n_ev = 300, 30
    ra = rng.normal(0.0, 1.0, n)
    # Points, intervals and a few far bounds that take the general (numpy) path.
    rb = ra + np.where(np.arange(n) % 3 == 0, 0.0, rng.uniform(0.1, 1.0, n))
    rb[::50] = 40.0
    outlet = rng.integers(0, 4, n).astype(np.intp)
    event = rng.integers(0, n_ev, n).astype(np.intp)
    args = (ra, rb, outlet, event, rng.normal(0, 0.2, n), rng.normal(0, 0.3, 4))
    weight, extra_var = rng.uniform(0.2, 1.0, n), rng.uniform(0.0, 0.5, n)
    u_precision = rng.uniform(1.0, 9.0, n_ev)
    sigma2, u = np.array([0.5, 1.0, 2.0, 0.25]), rng.normal(0, 0.1, n_ev)
    monkeypatch.setattr(em_kernel, "_REPORTS_PER_THREAD", 10**9)
    whole = expect(
        *args, sigma2, u, 3.0, weight=weight, extra_var=extra_var, u_precision=u_precision
    )
    monkeypatch.setattr(em_kernel, "_REPORTS_PER_THREAD", 70)
    monkeypatch.setattr("os.cpu_count", lambda: 3)
    split = expect(
        *args, sigma2, u, 3.0, weight=weight, extra_var=extra_var, u_precision=u_precision
    )
    for got, want in zip(split, whole, strict=True):
        np.testing.assert_array_equal(got, want)


def test_sums_split_across_threads_add_up_to_the_numpy_sums(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(12)
    n, n_out, n_ev = 400, 6, 50
    outlet = rng.integers(0, n_out, n).astype(np.intp)
    event = rng.integers(0, n_ev, n).astype(np.intp)
    cell = rng.integers(0, 3, n).astype(np.intp)
    lag = rng.integers(0, 2, n).astype(np.intp)
    epoch = (outlet * 2 + rng.integers(0, 2, n)).astype(np.intp)
    du, db = rng.normal(size=n_ev), rng.normal(size=n_out)
    ddelta, dlam = np.append(rng.normal(size=2), 0.0), np.append(rng.normal(size=1), 0.0)
    ddrift = rng.normal(size=2 * n_out)
    ew, ewz, ewz2 = rng.uniform(0.1, 2.0, n), rng.normal(size=n), rng.uniform(0.0, 3.0, n)
    weight, sigma2, prior = rng.uniform(0.2, 1.0, n), rng.uniform(0.5, 2.0, n_out), np.ones(n_ev)
    shift = du[event] + db[outlet] + ddelta[cell] + dlam[lag] + ddrift[epoch]
    changes = (outlet, event, cell, lag, epoch, du, db, ddelta, dlam, ddrift)
    monkeypatch.setattr(em_kernel, "_REPORTS_PER_THREAD", 70)
    monkeypatch.setattr("os.cpu_count", lambda: 3)

    info, net = residual_sums(event, n_ev, *changes, ew, ewz)
    np.testing.assert_allclose(info, np.bincount(event, ew, n_ev), rtol=1e-12)
    np.testing.assert_allclose(net, np.bincount(event, ewz - ew * shift, n_ev), rtol=1e-10)
    square, cross, moved = spread_sums(n_out, *changes, ew, ewz, ewz2)
    np.testing.assert_allclose(square, np.bincount(outlet, ewz2, n_out), rtol=1e-12)
    np.testing.assert_allclose(cross, np.bincount(outlet, ewz * shift, n_out), rtol=1e-10)
    np.testing.assert_allclose(moved, np.bincount(outlet, ew * shift**2, n_out), rtol=1e-12)
    sx, sy = pair_sums(outlet, n_out, ew, ewz)
    np.testing.assert_allclose(sx, np.bincount(outlet, ew, n_out), rtol=1e-12)
    np.testing.assert_allclose(sy, np.bincount(outlet, ewz, n_out), rtol=1e-10)
    precision = event_precision(outlet, event, weight, sigma2, prior)
    want = prior + np.bincount(event, weight / sigma2[outlet], n_ev)
    np.testing.assert_allclose(precision, want, rtol=1e-12)
