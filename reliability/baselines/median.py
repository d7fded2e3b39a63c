"""The per-event median of claims, and the grouped weighted median it is built on."""

from __future__ import annotations

from typing import Self

import numpy as np
import numpy.typing as npt

from reliability.baselines.claims import Claims
from reliability.scales import FloatArray


def grouped_weighted_median(
    group: npt.NDArray[np.intp], value: FloatArray, weight: FloatArray, n_groups: int
) -> FloatArray:
    """Weighted median of ``value`` within each group, without a Python loop over groups.

    Values are sorted within groups (one ``lexsort``); the lower median is the first value
    whose within-group cumulative weight reaches half the group's total, the upper median
    the first that passes it, and the result is their midpoint. With equal weights this is
    the ordinary median (midpoint of the two middle values for an even count). Every group
    must have a positive total weight.

    >>> import numpy as np
    >>> group = np.array([0, 0, 0, 1, 1, 1, 1])
    >>> value = np.array([5.0, 1.0, 3.0, 4.0, 1.0, 2.0, 3.0])
    >>> grouped_weighted_median(group, value, np.ones(7), 2).tolist()
    [3.0, 2.5]
    >>> grouped_weighted_median(group, value, np.array([5, 1, 1, 1, 1, 1, 1.0]), 2).tolist()
    [5.0, 2.5]
    """
    order = np.lexsort((value, group))
    sorted_group = group[order]
    sorted_value = value[order]
    cumulative = np.cumsum(weight[order])
    count = np.bincount(group, minlength=n_groups)
    start = np.concatenate(([0], np.cumsum(count)[:-1]))
    before = np.concatenate(([0.0], cumulative))[start]
    within = cumulative - before[sorted_group]
    half = (np.bincount(group, weights=weight, minlength=n_groups) / 2)[sorted_group]
    end = start + count - 1
    below = np.bincount(sorted_group, weights=(within < half).astype(float), minlength=n_groups)
    at_most = np.bincount(sorted_group, weights=(within <= half).astype(float), minlength=n_groups)
    lower = np.minimum(start + below.astype(np.intp), end)
    upper = np.minimum(start + at_most.astype(np.intp), end)
    median: FloatArray = (sorted_value[lower] + sorted_value[upper]) / 2
    return median


class MedianBaseline:
    """Truth = the median of an event's claims; every source counts the same.

    >>> import numpy as np
    >>> claims = Claims(
    ...     event=np.array([0, 0, 0, 1]), source=np.array([0, 1, 2, 1]),
    ...     value=np.array([1.0, 3.0, 10.0, 2.0]), n_events=2, n_sources=3,
    ... )
    >>> MedianBaseline().fit(claims).truths_.tolist()
    [3.0, 2.0]
    """

    truths_: FloatArray

    def fit(self, claims: Claims) -> Self:
        self.truths_ = grouped_weighted_median(
            claims.event, claims.value, np.ones(claims.n_claims), claims.n_events
        )
        return self
