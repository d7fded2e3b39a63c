"""The fast EM map (reliability.metric_fit._EmStep) against the map written the plain way.

The E-step is one compiled pass (reliability.em_kernel) and every M-step sum is written
through ``q = omega * (ytil - m)`` and parameter changes; here the same map is computed from
the working response ``ytil`` and the general tilted moments, on censored data with weights,
stratum cells and lag bins, and the fit is checked not to depend on the order of the rows.
"""

from __future__ import annotations

import numpy as np
import pytest

from reliability.effects import Effects
from reliability.grouped import group_sum
from reliability.metric_fit import (
    FloatArray,
    MetricData,
    _EmStep,
    _group_hyper,
    _residual_bounds,
    fit_metric,
)
from reliability.outlet_model import OutletModel
from reliability.synth import generate, preset
from reliability.tdist import tilted_moments

DF = 4.0


def _data(seed: int) -> MetricData:
    rng = np.random.default_rng(seed)
    n, n_out, n_ev = 600, 15, 80
    outlet = rng.integers(0, n_out, n)
    event = rng.integers(0, n_ev, n)
    truth = rng.normal(3.0, 1.0, n_ev)
    x = truth[event] + rng.normal(0.1, 0.3, n) + 0.2 * rng.standard_t(DF, n)
    lo, hi = x.copy(), x.copy()
    ranged = rng.random(n) < 0.4
    lo[ranged] -= rng.uniform(0.02, 0.5, ranged.sum())
    hi[ranged] += rng.uniform(0.02, 0.5, ranged.sum())
    hi[rng.random(n) < 0.1] = np.inf
    lo[rng.random(n) < 0.05] = -np.inf
    stratum = rng.integers(0, 2, n)
    cell = np.where(rng.random(n) < 0.8, outlet * 2 + stratum, -1)
    effects = Effects(
        cell=cell.astype(np.intp),
        cell_outlet=np.repeat(np.arange(n_out), 2).astype(np.intp),
        cell_stratum=np.tile([0, 1], n_out).astype(np.intp),
        lag_bin=rng.integers(-1, 7, n).astype(np.intp),
        reference=6,
    )
    return MetricData(
        outlet=outlet.astype(np.intp),
        event=event.astype(np.intp),
        lo=lo,
        hi=hi,
        truth_lo=truth,
        truth_hi=truth,
        outlet_group=rng.integers(-1, 3, n_out).astype(np.intp),
        n_groups=3,
        offset=np.zeros(n),
        weight=rng.uniform(0.2, 1.0, n),
        effects=effects,
        truth_var=rng.uniform(0.0, 0.01, n_ev),
    )


def _step(data: MetricData) -> _EmStep:
    ra, rb = _residual_bounds(data)
    assert data.effects is not None
    assert data.truth_var is not None
    group = np.where(data.outlet_group >= 0, data.outlet_group, data.n_groups)
    n_rep = group_sum(data.outlet, data.weight, data.n_outlets)
    step = _EmStep(
        data,
        ra,
        rb,
        group,
        n_rep,
        DF,
        # one spread prior per group (and the pooled one last), at different levels
        nu0=np.linspace(4.0, 6.0, data.n_groups + 1),
        s0=np.linspace(0.2, 0.4, data.n_groups + 1),
        event_var=0.02,
        floor2=1e-4,
        effects=data.effects,
        between_floor2=4e-4,
        truth_var=data.truth_var,
    )
    rng = np.random.default_rng(1)
    step.groups = _group_hyper(
        rng.normal(0.1, 0.2, data.n_outlets),
        np.full(data.n_outlets, 0.01),
        group,
        data.n_groups,
        n_rep,
        4e-4,
    )
    step.stratum_mean = rng.normal(0.0, 0.05, data.effects.n_cells)
    return step


def _plain_map(step: _EmStep, theta: FloatArray) -> FloatArray:
    """The EM map through the working response ytil, every sum formed directly."""
    data, fx = step.data, step.effects
    o, e, w = data.outlet, data.event, data.weight
    n_out, n_ev = data.n_outlets, data.n_events
    b, sigma2, u = step.unpack(theta)
    delta, lam = step.unpack_effects(theta)
    off = fx.offset(delta, lam)
    m = b[o] + u[e] + off
    s = np.sqrt(sigma2[o])
    # Moments averaged over the event error's normal-model posterior: two Gauss-Hermite nodes.
    u_prec = 1.0 / (step.event_var + step.truth_var) + group_sum(e, w / sigma2[o], n_ev)
    spread = 1.0 / np.sqrt(u_prec[e] * sigma2[o])
    za, zb = (step.ra - m) / s, (step.rb - m) / s
    nodes = [tilted_moments(za + d, zb + d, DF) for d in (-spread, spread)]
    ew, ewz, ewz2 = ((low + high) / 2 for low, high in zip(*nodes, strict=True))
    ytil = m + s * ewz / ew
    ew, ewz, ewz2 = ew * w, ewz * w, ewz2 * w
    omega = ew / sigma2[o]
    precision_e = 1.0 / (step.event_var + step.truth_var) + group_sum(e, omega, n_ev)
    u_new = group_sum(e, omega * (ytil - b[o] - off), n_ev) / precision_e
    info = group_sum(o, omega, n_out)
    raw = group_sum(o, omega * (ytil - u_new[e] - off), n_out) / info
    prior_mean = step.groups.group_mean[step.group]
    prior_var = step.groups.group_var[step.group]
    b_new = (prior_mean / prior_var + info * raw) / (1.0 / prior_var + info)
    base = ytil - u_new[e] - b_new[o]
    has = fx.cell >= 0
    resid = (base - fx.offset(np.zeros(fx.n_cells), lam))[has]
    cell_info = group_sum(fx.cell[has], omega[has], fx.n_cells)
    total = group_sum(fx.cell[has], omega[has] * resid, fx.n_cells)
    delta_new = (total + step.stratum_mean / step.stratum_var) / (cell_info + 1 / step.stratum_var)
    dated = fx.lag_bin >= 0
    resid = (base - fx.offset(delta_new, np.zeros(fx.n_lag_bins)))[dated]
    lag_info = group_sum(fx.lag_bin[dated], omega[dated], fx.n_lag_bins)
    lam_new = group_sum(fx.lag_bin[dated], omega[dated] * resid, fx.n_lag_bins) / lag_info
    lam_new -= lam_new[fx.reference]
    dm = m - (b_new[o] + u_new[e] + fx.offset(delta_new, lam_new))
    ss = group_sum(o, sigma2[o] * ewz2 + 2 * s * ewz * dm + ew * dm * dm, n_out)
    nu0, s0 = step.nu0[step.group], step.s0[step.group]
    sigma2_new = np.maximum((nu0 * s0**2 + ss) / (nu0 + step.n_rep), step.floor2)
    return np.concatenate([b_new, np.log(sigma2_new), u_new, delta_new, lam_new])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fast_em_map_equals_the_plain_map(seed: int) -> None:
    data = _data(seed)
    step = _step(data)
    rng = np.random.default_rng(seed + 10)
    theta = np.concatenate(
        [
            rng.normal(0.1, 0.2, data.n_outlets),
            np.log(rng.uniform(0.05, 0.2, data.n_outlets)),
            rng.normal(0.0, 0.1, data.n_events),
            rng.normal(0.0, 0.05, step.effects.n_cells),
            rng.normal(0.0, 0.1, step.effects.n_lag_bins),
        ]
    )
    np.testing.assert_allclose(step(theta), _plain_map(step, theta), rtol=1e-9, atol=1e-11)


def test_the_fit_ignores_row_order() -> None:
    data = _data(3)
    rows = np.random.default_rng(0).permutation(data.outlet.size)
    assert data.effects is not None
    shuffled = MetricData(
        outlet=data.outlet[rows],
        event=data.event[rows],
        lo=data.lo[rows],
        hi=data.hi[rows],
        truth_lo=data.truth_lo,
        truth_hi=data.truth_hi,
        outlet_group=data.outlet_group,
        n_groups=data.n_groups,
        offset=data.offset[rows],
        weight=data.weight[rows],
        effects=data.effects.take(rows),
        truth_var=data.truth_var,
    )
    first, second = fit_metric(data, df=DF), fit_metric(shuffled, df=DF)
    # Row order changes only the rounding of sums, so the two runs stop within the convergence
    # tolerance (1e-4 residual spreads, about 3e-5 here) of each other.
    np.testing.assert_allclose(first.bias, second.bias, rtol=0, atol=1e-5)
    np.testing.assert_allclose(first.sd, second.sd, rtol=0, atol=1e-5)
    np.testing.assert_allclose(first.bias_se, second.bias_se, rtol=1e-4)


def test_outlet_model_fit_ignores_the_order_of_report_rows() -> None:
    data = generate(preset("core", n_outlets=40, n_events=300, n_reports=2_000, seed=4))
    shuffled = data.reports.sample(fraction=1.0, shuffle=True, seed=1)
    first = OutletModel(cv_folds=0).fit(data.reports, data.consensus, data.outlets)
    second = OutletModel(cv_folds=0).fit(shuffled, data.consensus, data.outlets)
    # The rows are sorted before the fit, so the estimates agree to the last digit.
    assert [(s.outlet, s.bias.estimate, s.sd.estimate) for s in first.outlets_] == [
        (s.outlet, s.bias.estimate, s.sd.estimate) for s in second.outlets_
    ]
