"""The shared event error's scale ``tau_u``, by maximum marginal likelihood.

The EM map approximates the posterior of ``u_e`` by a normal, so ``tau_u`` is not updated
from it but fitted as a hyperparameter on the exact marginal likelihood: for each event,
``∫ N(u; 0, tau^2) Π_i L_i(u) du`` by adaptive Gauss–Hermite quadrature around the current
posterior of ``u_e``. The report likelihoods at the nodes do not depend on ``tau``, so they are
computed once and the 1-D search is cheap.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import optimize

from reliability.tdist import log_likelihood

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

_NODES = 16
_MAX_EVENTS = 5_000


def fit_event_sd(
    ra: FloatArray,
    rb: FloatArray,
    mean: FloatArray,
    scale: FloatArray,
    event: IntArray,
    u_hat: FloatArray,
    u_var: FloatArray,
    df: float,
    upper: float,
    seed: int = 0,
    extra_var: FloatArray | None = None,
) -> float:
    """Maximise the marginal likelihood of residual intervals ``[ra, rb]`` over ``tau_u``.

    ``extra_var`` (per event) is the variance of an event's truth where that is itself an
    estimate; it adds to ``tau^2`` in the event's prior.
    ``mean`` and ``scale`` are each report's expected residual without the event error and
    its t scale; ``u_hat``/``u_var`` locate each event's current posterior for the nodes.
    """
    n_ev = u_hat.size
    if n_ev == 0:
        return 0.0
    chosen = np.arange(n_ev)
    if n_ev > _MAX_EVENTS:
        chosen = np.sort(np.random.default_rng(seed).choice(n_ev, _MAX_EVENTS, replace=False))
    keep_event = np.zeros(n_ev, dtype=bool)
    keep_event[chosen] = True
    rows = keep_event[event]
    local = np.full(n_ev, -1, dtype=np.intp)
    local[chosen] = np.arange(chosen.size)
    ev = local[event[rows]]
    x, w = np.polynomial.hermite.hermgauss(_NODES)
    centre = 0.5 * u_hat[chosen]
    spread = 1.5 * np.sqrt(u_var[chosen] + centre**2) + 1e-9
    nodes = centre[:, None] + np.sqrt(2.0) * spread[:, None] * x[None, :]
    s = scale[rows][:, None]
    u_at = nodes[ev]
    za = (ra[rows][:, None] - mean[rows][:, None] - u_at) / s
    zb = (rb[rows][:, None] - mean[rows][:, None] - u_at) / s
    loglik = np.zeros((chosen.size, _NODES))
    np.add.at(loglik, ev, log_likelihood(za, zb, s, df))
    log_jacobian = np.log(w)[None, :] + x[None, :] ** 2 + np.log(np.sqrt(2.0) * spread)[:, None]
    base = loglik + log_jacobian
    extra = np.zeros(chosen.size) if extra_var is None else extra_var[chosen]

    def negative(log_tau: float) -> float:
        var = np.exp(2 * log_tau) + extra[:, None]
        logprior = -0.5 * nodes**2 / var - 0.5 * np.log(2 * np.pi * var)
        total = base + logprior
        top = total.max(axis=1, keepdims=True)
        return float(-np.sum(top[:, 0] + np.log(np.exp(total - top).sum(axis=1))))

    lo = np.log(max(upper, 1e-6) * 1e-4)
    hi = np.log(max(upper, 1e-6))
    res = optimize.minimize_scalar(negative, bounds=(lo, hi), method="bounded")
    return float(np.exp(res.x))
