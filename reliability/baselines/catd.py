"""CATD: confidence-aware truth discovery (Li et al., PVLDB 8(4), 2014)."""

from __future__ import annotations

from typing import Self

import numpy as np
from scipy.stats import chi2

from reliability.baselines.claims import Claims, check_iteration
from reliability.baselines.mean import event_weighted_mean
from reliability.baselines.median import grouped_weighted_median
from reliability.scales import FloatArray


class CATD:
    """Weights each source by the reciprocal of the upper confidence bound of its error
    variance, so a source with few claims is not trusted on the strength of a lucky streak.

    ``w_s = chi2.ppf(alpha / 2, n_s) / sum_{claims of s} (x - truth_e)^2`` uses the *lower*
    chi-square quantile: dividing the residual sum by it gives the upper end of the
    ``1 - alpha`` interval for the source's variance. Truths are the ``w``-weighted means of
    each event's claims; they start at the per-event median, and weights and truths are
    updated in turn until no truth moves by more than ``tol`` or ``max_iter`` rounds ran.

    A source whose claims all equal the current truths has a zero residual sum; it is
    floored at ``residual_floor`` (model-scale units squared) so its weight is large but
    finite.

    Fitted attributes: ``truths_`` (n_events,), ``source_weights_`` (n_sources,), ``n_iter_``.

    >>> import numpy as np
    >>> claims = Claims(
    ...     event=np.array([0, 0, 0, 1, 1, 1]), source=np.array([0, 1, 2, 0, 1, 2]),
    ...     value=np.array([10.0, 10.2, 14.0, 5.0, 5.1, 1.0]), n_events=2, n_sources=3,
    ... )
    >>> model = CATD().fit(claims)
    >>> np.round(model.truths_, 1).tolist()
    [10.2, 5.1]
    >>> int(np.argmin(model.source_weights_))
    2
    """

    truths_: FloatArray
    source_weights_: FloatArray
    n_iter_: int

    def __init__(
        self,
        *,
        alpha: float = 0.05,
        max_iter: int = 100,
        tol: float = 1e-6,
        residual_floor: float = 1e-12,
    ) -> None:
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol
        self.residual_floor = residual_floor

    def fit(self, claims: Claims) -> Self:
        check_iteration(self.max_iter, self.tol)
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must lie strictly between 0 and 1, got {self.alpha}")
        if not self.residual_floor > 0:
            raise ValueError(f"residual_floor must be positive, got {self.residual_floor}")
        quantile = chi2.ppf(self.alpha / 2, np.bincount(claims.source, minlength=claims.n_sources))
        truths = grouped_weighted_median(
            claims.event, claims.value, np.ones(claims.n_claims), claims.n_events
        )
        n_iter, change = 0, np.inf
        while n_iter < self.max_iter and change > self.tol:
            n_iter += 1
            residual = np.bincount(
                claims.source,
                weights=(claims.value - truths[claims.event]) ** 2,
                minlength=claims.n_sources,
            )
            weights = quantile / np.maximum(residual, self.residual_floor)
            updated = event_weighted_mean(claims, weights[claims.source])
            change = float(np.max(np.abs(updated - truths)))
            truths = updated
        self.truths_ = truths
        self.source_weights_ = weights
        self.n_iter_ = n_iter
        return self
