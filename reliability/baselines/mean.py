"""The per-event mean of claims, and the grouped weighted mean the weighted baselines share."""

from __future__ import annotations

from typing import Self

import numpy as np

from reliability.baselines.claims import Claims
from reliability.scales import FloatArray


def event_weighted_mean(claims: Claims, weight: FloatArray) -> FloatArray:
    """Per-event mean of claims weighted by ``weight`` (one non-negative weight per claim).

    An event whose claims all have zero weight falls back to the plain mean, so every truth
    stays defined and inside the range of its claims.

    >>> import numpy as np
    >>> claims = Claims(
    ...     event=np.array([0, 0, 1]), source=np.array([0, 1, 0]),
    ...     value=np.array([1.0, 4.0, 2.0]), n_events=2, n_sources=2,
    ... )
    >>> event_weighted_mean(claims, np.array([2.0, 1.0, 0.0])).tolist()
    [2.0, 2.0]
    """
    n = claims.n_events
    total = np.bincount(claims.event, weights=weight, minlength=n)
    weighted = np.bincount(claims.event, weights=weight * claims.value, minlength=n)
    plain = np.bincount(claims.event, weights=claims.value, minlength=n) / np.bincount(
        claims.event, minlength=n
    )
    has_weight = total > 0
    return np.where(has_weight, weighted / np.where(has_weight, total, 1.0), plain)


class MeanBaseline:
    """Truth = the unweighted mean of an event's claims; every source counts the same.

    >>> import numpy as np
    >>> claims = Claims(
    ...     event=np.array([0, 0, 1]), source=np.array([0, 1, 1]),
    ...     value=np.array([1.0, 3.0, 2.0]), n_events=2, n_sources=2,
    ... )
    >>> MeanBaseline().fit(claims).truths_.tolist()
    [2.0, 2.0]
    """

    truths_: FloatArray

    def fit(self, claims: Claims) -> Self:
        self.truths_ = event_weighted_mean(claims, np.ones(claims.n_claims))
        return self
