"""Grouped sums over integer codes: the vectorised building block of every fit."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


def group_sum(codes: IntArray, values: FloatArray, n: int) -> FloatArray:
    """Sum ``values`` by ``codes`` into ``n`` bins (``np.bincount`` with a float result type).

    >>> group_sum(np.array([0, 2, 0]), np.array([1.0, 2.0, 3.0]), 3).tolist()
    [4.0, 0.0, 2.0]
    """
    return np.asarray(np.bincount(codes, weights=values, minlength=n), dtype=np.float64)
