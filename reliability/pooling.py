"""Hyperparameters of partial pooling, estimated from the data across outlets.

- :func:`paule_mandel` gives the between-outlet variance of bias within each group (and of
  group means around the global mean), solved for all groups at once by vectorised bisection.
- :func:`fit_sd_prior` fits the scaled-inverse-chi^2 prior of outlet error scales by maximum
  marginal likelihood (the only numerical optimisation besides other hyperparameters);
  :func:`fit_group_sd_priors` adds one scale per registry group that is large enough.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import optimize, stats

from reliability.grouped import group_sum

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

_BISECTION_STEPS = 40


def _grouped_q(
    est: FloatArray, var: FloatArray, group: IntArray, tau2: FloatArray, n_groups: int
) -> tuple[FloatArray, FloatArray]:
    w = 1.0 / (var + tau2[group])
    sw = group_sum(group, w, n_groups)
    mean = group_sum(group, w * est, n_groups) / np.where(sw > 0, sw, 1.0)
    q = group_sum(group, w * (est - mean[group]) ** 2, n_groups)
    return q, mean


def paule_mandel(
    est: FloatArray, var: FloatArray, group: IntArray, n_groups: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Paule–Mandel between-unit variance per group.

    Solves ``sum_j (y_j - ybar_w)^2 / (v_j + tau^2) = k - 1`` for ``tau^2 >= 0`` in every group
    (``tau^2 = 0`` when even ``tau^2 = 0`` gives less). Returns ``(tau2, mean, mean_var)``, the
    weighted group mean and its variance, per group. Groups with fewer than two units get
    ``tau2 = nan`` so the caller can pool them.

    >>> import numpy as np
    >>> tau2, mean, _ = paule_mandel(np.array([0., 1., 2., 3.]), np.full(4, 0.01),
    ...                              np.zeros(4, dtype=np.intp), 1)
    >>> round(float(tau2[0]), 4), float(mean[0])
    (1.6567, 1.5)
    """
    k = np.bincount(group, minlength=n_groups).astype(np.float64)
    target = k - 1.0
    y_mean = group_sum(group, est, n_groups) / np.maximum(k, 1.0)
    span = group_sum(group, (est - y_mean[group]) ** 2, n_groups)
    rng = np.zeros(n_groups)
    np.maximum.at(rng, group, np.abs(est - y_mean[group]))
    hi = (span + k * (2 * rng) ** 2) / np.maximum(target, 1.0) + 1e-12
    lo = np.zeros(n_groups)
    q0, _ = _grouped_q(est, var, group, lo, n_groups)
    needs = q0 > target
    for _ in range(_BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        q, _ = _grouped_q(est, var, group, mid, n_groups)
        above = q > target
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    tau2 = np.where(needs, 0.5 * (lo + hi), 0.0)
    tau2 = np.where(k >= 2, tau2, np.nan)
    safe_tau2 = np.where(np.isnan(tau2), 0.0, tau2)
    w = 1.0 / (var + safe_tau2[group])
    sw = group_sum(group, w, n_groups)
    mean = group_sum(group, w * est, n_groups) / np.where(sw > 0, sw, 1.0)
    return tau2, mean, 1.0 / np.where(sw > 0, sw, np.nan)


#: A registry group gets its own spread scale only when at least this many of its outlets carry
#: spread information (residual degrees of freedom above 0.5); with fewer, its ``s0`` would be
#: the noisy mean of a handful of spreads, so the group keeps the pooled prior instead.
MIN_SD_PRIOR_OUTLETS = 10

_SCALE_BISECTION_STEPS = 80


def fit_sd_prior(ss: FloatArray, dof: FloatArray) -> tuple[float, float]:
    """Fit ``sigma^2 ~ Scaled-Inv-chi^2(nu0, s0^2)`` to per-outlet sums of squares.

    With ``ss / sigma^2 ~ chi^2(dof)``, the marginal of ``ss / (dof s0^2)`` is ``F(dof, nu0)``;
    ``(nu0, s0^2)`` maximise that marginal likelihood: ``s0^2`` is the root of its score
    equation at each ``nu0``, and ``nu0`` a bounded one-dimensional search. Returns
    ``(nu0, s0)``.
    """
    keep = _informative(ss, dof)
    ss, dof = ss[keep], dof[keep]
    if ss.size < 2:
        pooled = float(np.sum(ss) / max(float(np.sum(dof)), 1.0)) if ss.size else 1.0
        return 4.0, float(np.sqrt(pooled))
    one = np.zeros(ss.size, dtype=np.intp)

    def negloglik(log_nu0: float) -> float:
        nu0 = float(np.exp(log_nu0))
        scale = dof * _scales_given_dof(ss, dof, one, 1, nu0)[0]
        return float(-np.sum(stats.f.logpdf(ss / scale, dof, nu0) - np.log(scale)))

    res = optimize.minimize_scalar(
        negloglik, bounds=(np.log(0.5), np.log(1e4)), method="bounded", options={"xatol": 1e-4}
    )
    nu0 = float(np.exp(res.x))
    return nu0, float(np.sqrt(_scales_given_dof(ss, dof, one, 1, nu0)[0]))


def fit_group_sd_priors(
    ss: FloatArray,
    dof: FloatArray,
    group: IntArray,
    n_groups: int,
    min_outlets: int = MIN_SD_PRIOR_OUTLETS,
) -> tuple[FloatArray, FloatArray]:
    """Spread priors per registry group: ``(nu0, s0)``, each of length ``n_groups + 1``.

    ``group`` holds codes ``0 .. n_groups``, ``n_groups`` meaning "no group". Every entry
    shares the pooled ``nu0`` of :func:`fit_sd_prior`. A group with at least ``min_outlets``
    informative outlets gets its own ``s0_g``, the maximum of the same marginal likelihood over
    its outlets at that ``nu0`` (all groups at once); smaller groups and the no-group entry
    ``n_groups`` keep the pooled ``s0``.

    ``nu0`` is not refitted within groups: the sums of squares come from the EM at *shrunk*
    spreads, where Student-t weights compress them toward the prior, and a within-group fit
    reads that compression as agreement (docs/model.md section 4).
    """
    nu0, s0 = fit_sd_prior(ss, dof)
    out_s0 = np.full(n_groups + 1, s0)
    keep = _informative(ss, dof)
    counts = np.bincount(group[keep], minlength=n_groups + 1)[:n_groups]
    own = np.flatnonzero(counts >= max(min_outlets, 2))
    if own.size:
        sel = keep & np.isin(group, own)
        code = np.searchsorted(own, group[sel]).astype(np.intp)
        out_s0[own] = np.sqrt(_scales_given_dof(ss[sel], dof[sel], code, own.size, nu0))
    return np.full(n_groups + 1, nu0), out_s0


def _informative(ss: FloatArray, dof: FloatArray) -> npt.NDArray[np.bool_]:
    return (dof > 0.5) & (ss > 0)


def _scales_given_dof(
    ss: FloatArray, dof: FloatArray, group: IntArray, n_groups: int, nu0: float
) -> FloatArray:
    """Maximum-likelihood ``s0^2`` per group at fixed ``nu0``, by vectorised bisection.

    The score equation is ``sum_g (dof + nu0) ss / (nu0 s^2 + ss) = sum_g dof``. Its left side
    falls from ``sum (dof + nu0)`` to 0 as ``s^2`` grows, so the root is unique and the bracket
    (the ratios ``ss / dof`` widened by ``e^30`` each way) always holds it.
    """
    ratio = np.log(ss / dof)
    lo = np.full(n_groups, float(np.min(ratio)) - 30.0)
    hi = np.full(n_groups, float(np.max(ratio)) + 30.0)
    target = group_sum(group, dof, n_groups)
    for _ in range(_SCALE_BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        lhs = group_sum(group, (dof + nu0) * ss / (nu0 * np.exp(mid)[group] + ss), n_groups)
        above = lhs > target
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    return np.asarray(np.exp(0.5 * (lo + hi)), dtype=np.float64)
