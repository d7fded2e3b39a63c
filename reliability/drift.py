"""Drifting outlet bias: a random walk over time epochs, smoothed exactly per outlet.

With option ``drift_epoch_days`` an outlet's bias in age epoch ``j`` (``j = 0`` the latest
``drift_epoch_days`` of the metric's record, ``j = 1`` the one before, ...) is

    beta_{o,j} = b_o + d_{o,j},   d_{o,0} = 0,   beta_{o,j+1} = beta_{o,j} + N(0, q),

so ``b_o`` is the outlet's *current* bias and older epochs depart from it by a random walk
whose step variance ``q`` is one per metric, estimated from the data (:func:`step_variance`).
The group prior ``N(mu_g, tau_g^2)`` applies to the outlet's bias in its *oldest* epoch with
reports: the walk starts there, so an outlet that drifts away from its group is not pulled
back by the group at its current end, while a stable outlet's whole walk stays tied to it.
Given Gaussian pseudo-observations of each epoch's bias (the EM's weighted residual sums),
:func:`smooth` gives the exact posterior of every ``beta_{o,j}`` by a two-filter smoother in
information form: one pass from the current epoch backward, one from the oldest forward,
combined per epoch. The
passes loop over epochs (a handful) and are vectorised over outlets. See docs/model.md, 4c.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import stats

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

_BISECTION_STEPS = 60
#: Cap of each pair's chi-square term (its 99% point) and the capped chi-square's mean,
#: ``P(chi2_3 < c) + c P(chi2_1 > c)``.
_CAP = float(stats.chi2.ppf(0.99, 1))
_CAPPED_MEAN = float(stats.chi2.cdf(_CAP, 3) + _CAP * stats.chi2.sf(_CAP, 1))


def oldest_epochs(record: FloatArray) -> IntArray:
    """Each outlet's oldest epoch with reports (``record``: reports per outlet and epoch);
    0 for an outlet without any."""
    n_epochs = record.shape[1]
    oldest = n_epochs - 1 - np.argmax(record[:, ::-1] > 0, axis=1)
    return np.where(record.any(axis=1), oldest, 0).astype(np.intp)


def smooth(
    total: FloatArray,
    info: FloatArray,
    prior_mean: FloatArray,
    prior_var: FloatArray,
    prior_epoch: IntArray,
    q: float,
) -> tuple[FloatArray, FloatArray]:
    """Posterior mean and variance of every epoch's bias, shape ``(outlets, epochs)``.

    ``info[o, j]`` is the precision of epoch ``j``'s evidence about ``beta_{o,j}`` and
    ``total[o, j]`` that precision times its mean (zero where there are no reports); the
    outlet's bias in epoch ``prior_epoch[o]`` has prior ``N(prior_mean, prior_var)``, and each
    step between epochs adds variance ``q``.
    """
    n_out, n_epochs = info.shape
    rows = np.arange(n_out)
    info = info.copy()
    total = total.copy()
    info[rows, prior_epoch] += 1.0 / prior_var
    total[rows, prior_epoch] += prior_mean / prior_var
    # Messages into epoch j from the newer and from the older side, as (precision,
    # precision x mean); a random-walk step maps P to P / (1 + q P), the mean unchanged.
    new_prec = np.empty_like(info)
    new_h = np.empty_like(info)
    prec, h = np.zeros(n_out), np.zeros(n_out)
    for j in range(n_epochs):
        new_prec[:, j], new_h[:, j] = prec, h
        prec, h = prec + info[:, j], h + total[:, j]
        prec, h = prec / (1.0 + q * prec), h / (1.0 + q * prec)
    old_prec = np.empty_like(info)
    old_h = np.empty_like(info)
    prec, h = np.zeros(n_out), np.zeros(n_out)
    for j in range(n_epochs - 1, -1, -1):
        old_prec[:, j], old_h[:, j] = prec, h
        prec, h = prec + info[:, j], h + total[:, j]
        prec, h = prec / (1.0 + q * prec), h / (1.0 + q * prec)
    post_prec = new_prec + old_prec + info
    mean = (new_h + old_h + total) / post_prec
    return np.asarray(mean, dtype=np.float64), np.asarray(1.0 / post_prec, dtype=np.float64)


def step_variance(est: FloatArray, var: FloatArray, outlet: IntArray, epoch: IntArray) -> float:
    """Random-walk step variance ``q`` from unshrunk epoch biases, by a robust moment equation.

    ``est`` and ``var`` are each populated (outlet, epoch) cell's own bias estimate and its
    variance, sorted by outlet then epoch. Under the walk, the difference ``D`` of an outlet's
    consecutive populated epochs ``g`` apart has ``E[D^2] = V + q g`` (``V`` the two cells'
    variances), so ``z^2 = D^2 / (V + q g)`` is chi-square with one dof. As Paule–Mandel does
    for a between-unit variance, ``q`` solves ``sum z^2 = N`` over the ``N`` pairs, except that
    each ``z^2`` is capped at the chi-square's 99% point (and the target lowered to match):
    a cell of one or two reports holding a gross error gives a ``z^2`` in the hundreds, and a
    handful of them would otherwise set ``q``. The left side falls in ``q``, so bisection
    finds the root (zero when ``q = 0`` already gives less).

    >>> est = np.array([0.0, 0.0, 0.3, 0.3, 0.0, 0.0])
    >>> outlet = np.array([0, 0, 0, 0, 1, 1]); epoch = np.array([0, 1, 2, 3, 0, 1])
    >>> round(step_variance(est, np.full(6, 0.01), outlet, epoch), 4)
    0.0133
    """
    pair = outlet[1:] == outlet[:-1]
    diff2 = (est[1:] - est[:-1])[pair] ** 2
    both = (var[1:] + var[:-1])[pair]
    gap = (epoch[1:] - epoch[:-1])[pair].astype(np.float64)
    n = diff2.size
    target = n * _CAPPED_MEAN

    def capped(q: float) -> float:
        return float(np.sum(np.minimum(diff2 / (both + q * gap), _CAP)))

    if n == 0 or capped(0.0) <= target:
        return 0.0
    lo, hi = 0.0, float(np.max(diff2 / gap))
    for _ in range(_BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        if capped(mid) > target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)
