"""GTM, the Gaussian truth model (Zhao & Han, QDB 2012)."""

from __future__ import annotations

from typing import Self

import numpy as np

from reliability.baselines.claims import Claims, check_iteration
from reliability.baselines.median import grouped_weighted_median
from reliability.scales import FloatArray


class GTM:
    """Bayesian truth model: ``mu_e ~ N(mu0, sigma0^2)``, ``x ~ N(mu_e, sigma_s^2)``,
    ``sigma_s^2 ~ Inv-Gamma(alpha, beta)``, fitted by EM for the MAP estimate.

    As in the paper, claims are standardised per event before fitting and the truths are
    transformed back: ``z = (x - c_e) / d_e`` with ``c_e`` the median and ``d_e`` the standard
    deviation of event ``e``'s claims (``d_e = 1`` when they all agree). The paper also
    drops outlying claims first; this baseline keeps every claim and centres on the median
    so outliers do not drag the centre. Defaults are the paper's: ``alpha = beta = 10`` on
    standardised data, ``mu0 = 0`` and ``sigma0 = 1`` (the prior says "the truth is near the
    centre, within about one spread").

    Truths start at the centre (``z = 0``); each round then updates

    * ``sigma_s^2 = (2 beta + sum_{claims of s} (z - mu_e)^2) / (2 (alpha + 1) + n_s)``
    * ``mu_e = (mu0 / sigma0^2 + sum_{claims of e} z / sigma_s^2)
      / (1 / sigma0^2 + sum_{claims of e} 1 / sigma_s^2)``

    until no model-scale truth moves by more than ``tol`` or ``max_iter`` rounds ran.

    Fitted attributes: ``truths_`` (n_events, model scale), ``source_variances_`` (n_sources,
    standardised units), ``source_weights_ = 1 / source_variances_``, ``n_iter_``.

    >>> import numpy as np
    >>> claims = Claims(
    ...     event=np.array([0, 0, 0, 1, 1, 1]), source=np.array([0, 1, 2, 0, 1, 2]),
    ...     value=np.array([10.0, 10.2, 14.0, 5.0, 5.1, 1.0]), n_events=2, n_sources=3,
    ... )
    >>> model = GTM().fit(claims)
    >>> int(np.argmax(model.source_variances_))
    2
    """

    truths_: FloatArray
    source_variances_: FloatArray
    source_weights_: FloatArray
    n_iter_: int

    def __init__(
        self,
        *,
        alpha: float = 10.0,
        beta: float = 10.0,
        mu0: float = 0.0,
        sigma0: float = 1.0,
        max_iter: int = 100,
        tol: float = 1e-6,
    ) -> None:
        self.alpha = alpha
        self.beta = beta
        self.mu0 = mu0
        self.sigma0 = sigma0
        self.max_iter = max_iter
        self.tol = tol

    def fit(self, claims: Claims) -> Self:
        check_iteration(self.max_iter, self.tol)
        for name in ("alpha", "beta", "sigma0"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if not np.isfinite(self.mu0):
            raise ValueError(f"mu0 must be finite, got {self.mu0}")
        centre = grouped_weighted_median(
            claims.event, claims.value, np.ones(claims.n_claims), claims.n_events
        )
        spread = claims.event_std()
        spread = np.where(spread > 0, spread, 1.0)
        z = (claims.value - centre[claims.event]) / spread[claims.event]
        n_source = np.bincount(claims.source, minlength=claims.n_sources)
        prior_precision = 1.0 / self.sigma0**2
        mu = np.zeros(claims.n_events)
        n_iter, change = 0, np.inf
        while n_iter < self.max_iter and change > self.tol:
            n_iter += 1
            squared = np.bincount(
                claims.source, weights=(z - mu[claims.event]) ** 2, minlength=claims.n_sources
            )
            variance = (2 * self.beta + squared) / (2 * (self.alpha + 1) + n_source)
            precision = (1.0 / variance)[claims.source]
            updated = (
                self.mu0 * prior_precision
                + np.bincount(claims.event, weights=z * precision, minlength=claims.n_events)
            ) / (
                prior_precision
                + np.bincount(claims.event, weights=precision, minlength=claims.n_events)
            )
            change = float(np.max(np.abs(updated - mu) * spread))
            mu = updated
        self.truths_ = centre + spread * mu
        self.source_variances_ = variance
        self.source_weights_ = 1.0 / variance
        self.n_iter_ = n_iter
        return self
