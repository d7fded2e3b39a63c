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
    if u_hat.size == 0:
        return 0.0
    marginal = _Quadrature(
        ra, rb, mean, scale, event, u_hat, u_var, df, _MAX_EVENTS, _NODES, seed, extra_var
    )
    lo = np.log(max(upper, 1e-6) * 1e-4)
    hi = np.log(max(upper, 1e-6))
    res = optimize.minimize_scalar(
        lambda log_tau: -marginal.log_likelihood(float(np.exp(log_tau))),
        bounds=(lo, hi),
        method="bounded",
    )
    return float(np.exp(res.x))


def log_marginal_likelihood(
    ra: FloatArray,
    rb: FloatArray,
    mean: FloatArray,
    scale: FloatArray,
    event: IntArray,
    u_hat: FloatArray,
    u_var: FloatArray,
    df: float,
    tau: float,
    max_events: int,
    nodes: int,
    extra_var: FloatArray | None = None,
) -> float:
    """The log-likelihood of the residual intervals with each event's error integrated out,
    ``sum_e log ∫ N(u; 0, tau^2) Π_i L_i(u) du``, over at most ``max_events`` events (a seeded
    sample beyond that, the same one for any ``df``), by ``nodes`` quadrature nodes per event.
    Other arguments as in :func:`fit_event_sd`."""
    if u_hat.size == 0:
        return 0.0
    return _Quadrature(
        ra, rb, mean, scale, event, u_hat, u_var, df, max_events, nodes, 0, extra_var
    ).log_likelihood(tau)


class _Quadrature:
    """Adaptive Gauss–Hermite nodes around each event's posterior of ``u_e``, with the report
    likelihoods at the nodes, which do not depend on ``tau``: computed once per search."""

    def __init__(
        self,
        ra: FloatArray,
        rb: FloatArray,
        mean: FloatArray,
        scale: FloatArray,
        event: IntArray,
        u_hat: FloatArray,
        u_var: FloatArray,
        df: float,
        max_events: int,
        n_nodes: int,
        seed: int,
        extra_var: FloatArray | None,
    ) -> None:
        n_ev = u_hat.size
        chosen = np.arange(n_ev)
        if n_ev > max_events:
            chosen = np.sort(np.random.default_rng(seed).choice(n_ev, max_events, replace=False))
        keep_event = np.zeros(n_ev, dtype=bool)
        keep_event[chosen] = True
        rows = keep_event[event]
        local = np.full(n_ev, -1, dtype=np.intp)
        local[chosen] = np.arange(chosen.size)
        ev = local[event[rows]]
        x, w = np.polynomial.hermite.hermgauss(n_nodes)
        centre = 0.5 * u_hat[chosen]
        spread = 1.5 * np.sqrt(u_var[chosen] + centre**2) + 1e-9
        self.nodes = centre[:, None] + np.sqrt(2.0) * spread[:, None] * x[None, :]
        s = scale[rows][:, None]
        u_at = self.nodes[ev]
        za = (ra[rows][:, None] - mean[rows][:, None] - u_at) / s
        zb = (rb[rows][:, None] - mean[rows][:, None] - u_at) / s
        loglik = np.zeros((chosen.size, n_nodes))
        np.add.at(loglik, ev, log_likelihood(za, zb, s, df))
        log_jacobian = np.log(w)[None, :] + x[None, :] ** 2 + np.log(np.sqrt(2.0) * spread)[:, None]
        self.base = loglik + log_jacobian
        self.extra = np.zeros(chosen.size) if extra_var is None else extra_var[chosen]

    def log_likelihood(self, tau: float) -> float:
        var = tau * tau + self.extra[:, None]
        total = self.base - 0.5 * self.nodes**2 / var - 0.5 * np.log(2 * np.pi * var)
        top = total.max(axis=1, keepdims=True)
        return float(np.sum(top[:, 0] + np.log(np.exp(total - top).sum(axis=1))))
