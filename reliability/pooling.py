"""Hyperparameters of partial pooling, estimated from the data across outlets.

- :func:`paule_mandel` gives the between-outlet variance of bias within each group (and of
  group means around the global mean), solved for all groups at once by vectorised bisection.
- :func:`fit_sd_prior` fits the scaled-inverse-chi^2 prior of outlet error scales by maximum
  marginal likelihood (the only numerical optimisation besides other hyperparameters).
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


def fit_sd_prior(ss: FloatArray, dof: FloatArray) -> tuple[float, float]:
    """Fit ``sigma^2 ~ Scaled-Inv-chi^2(nu0, s0^2)`` to per-outlet sums of squares.

    With ``ss / sigma^2 ~ chi^2(dof)``, the marginal of ``ss / (dof s0^2)`` is ``F(dof, nu0)``;
    ``(nu0, s0^2)`` maximise that marginal likelihood. Returns ``(nu0, s0)``.
    """
    keep = (dof > 0.5) & (ss > 0)
    ss, dof = ss[keep], dof[keep]
    if ss.size < 2:
        pooled = float(np.sum(ss) / max(float(np.sum(dof)), 1.0)) if ss.size else 1.0
        return 4.0, float(np.sqrt(pooled))
    start = np.array([np.log(8.0), np.log(np.median(ss / dof))])

    def negloglik(theta: FloatArray) -> float:
        nu0 = np.exp(theta[0])
        s2 = np.exp(theta[1])
        ratio = ss / (dof * s2)
        ll = stats.f.logpdf(ratio, dof, nu0) - np.log(dof * s2)
        return float(-np.sum(ll))

    res = optimize.minimize(
        negloglik,
        start,
        method="L-BFGS-B",
        bounds=[(np.log(0.5), np.log(1e4)), (start[1] - 10, start[1] + 10)],
    )
    return float(np.exp(res.x[0])), float(np.sqrt(np.exp(res.x[1])))
