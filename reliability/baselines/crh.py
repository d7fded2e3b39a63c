"""CRH for continuous data (Li et al., SIGMOD 2014)."""

from __future__ import annotations

from typing import Self

import numpy as np

from reliability.baselines.claims import Claims, check_iteration
from reliability.baselines.mean import event_weighted_mean
from reliability.baselines.median import grouped_weighted_median
from reliability.scales import FloatArray


class CRH:
    """Conflict resolution on heterogeneous data, restricted to one continuous property.

    The loss of a claim is its squared deviation from the event's truth divided by the
    standard deviation of that event's claims, so events with widely spread claims do not
    dominate. A source's weight is ``w_s = -log(L_s / sum_s' L_s')`` where ``L_s`` is the
    summed loss of its claims, and truths are the ``w``-weighted means of each event's
    claims (the minimiser of the weighted squared loss; the paper's weighted median goes
    with an absolute loss instead). Truths start at the per-event median; weights and
    truths are updated in turn until no truth moves by more than ``tol`` or ``max_iter``
    rounds ran.

    Events whose claims all agree carry no information about sources: their loss is 0
    rather than 0/0. A source with zero loss would get an infinite weight, so its loss share
    is floored at ``share_floor`` (weight at most ``-log(share_floor)``). If no claim has
    any loss, all sources get weight 1.

    Fitted attributes: ``truths_`` (n_events,), ``source_weights_`` (n_sources,), ``n_iter_``.

    >>> import numpy as np
    >>> claims = Claims(
    ...     event=np.array([0, 0, 0, 1, 1, 1]), source=np.array([0, 1, 2, 0, 1, 2]),
    ...     value=np.array([10.0, 10.2, 14.0, 5.0, 5.1, 1.0]), n_events=2, n_sources=3,
    ... )
    >>> model = CRH().fit(claims)
    >>> int(np.argmin(model.source_weights_))
    2
    """

    truths_: FloatArray
    source_weights_: FloatArray
    n_iter_: int

    def __init__(
        self, *, max_iter: int = 100, tol: float = 1e-6, share_floor: float = 1e-10
    ) -> None:
        self.max_iter = max_iter
        self.tol = tol
        self.share_floor = share_floor

    def fit(self, claims: Claims) -> Self:
        check_iteration(self.max_iter, self.tol)
        if not 0 < self.share_floor < 1:
            raise ValueError(
                f"share_floor must lie strictly between 0 and 1, got {self.share_floor}"
            )
        spread = claims.event_std()[claims.event]
        informative = spread > 0
        spread = np.where(informative, spread, 1.0)
        truths = grouped_weighted_median(
            claims.event, claims.value, np.ones(claims.n_claims), claims.n_events
        )
        n_iter, change = 0, np.inf
        while n_iter < self.max_iter and change > self.tol:
            n_iter += 1
            loss = np.where(informative, (claims.value - truths[claims.event]) ** 2 / spread, 0.0)
            source_loss = np.bincount(claims.source, weights=loss, minlength=claims.n_sources)
            total = source_loss.sum()
            if total > 0:
                weights = -np.log(np.maximum(source_loss / total, self.share_floor))
            else:
                weights = np.ones(claims.n_sources)
            updated = event_weighted_mean(claims, weights[claims.source])
            change = float(np.max(np.abs(updated - truths)))
            truths = updated
        self.truths_ = truths
        self.source_weights_ = weights
        self.n_iter_ = n_iter
        return self
