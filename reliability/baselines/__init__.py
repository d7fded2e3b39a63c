"""Classic truth-discovery baselines the outlet model is judged against.

Each baseline is an estimator in crowd-kit / scikit-learn style: ``__init__`` stores
parameters, ``fit(claims)`` does the work and returns the estimator, and fitted attributes
end in ``_`` (always ``truths_``; ``source_weights_`` / ``source_variances_`` where the
method has them).

>>> import numpy as np
>>> claims = Claims(
...     event=np.array([0, 0, 1]), source=np.array([0, 1, 1]),
...     value=np.array([1.0, 3.0, 2.0]), n_events=2, n_sources=2,
... )
>>> sorted(BASELINES)
['catd', 'crh', 'gtm', 'mean', 'median']
>>> BASELINES["mean"]().fit(claims).truths_.tolist()
[2.0, 2.0]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, Self

from reliability.baselines.catd import CATD
from reliability.baselines.claims import Claims
from reliability.baselines.crh import CRH
from reliability.baselines.gtm import GTM
from reliability.baselines.mean import MeanBaseline
from reliability.baselines.median import MedianBaseline
from reliability.scales import FloatArray


class Baseline(Protocol):
    """What every baseline offers: ``fit`` on claims, then per-event ``truths_``."""

    truths_: FloatArray

    def fit(self, claims: Claims) -> Self: ...


BASELINES: dict[str, Callable[[], Baseline]] = {
    "mean": MeanBaseline,
    "median": MedianBaseline,
    "catd": CATD,
    "gtm": GTM,
    "crh": CRH,
}

__all__ = [
    "BASELINES",
    "CATD",
    "CRH",
    "GTM",
    "Baseline",
    "Claims",
    "MeanBaseline",
    "MedianBaseline",
]
