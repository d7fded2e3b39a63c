"""Figures in natural units to intervals on a metric's model scale.

A reported count is a whole number, so ``y`` stands for a latent value in ``[y - 0.5,
y + 0.5)``; on the log scale that interval is wide at small counts (``0`` covers everything
below ``log 1.5``) and negligible at large ones, where it becomes a point to save work.
Settled (consensus) figures are the truth itself, so an exact one is a point.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from reliability.jit import kernel
from reliability.scales import Scale

FloatArray = npt.NDArray[np.float64]

#: Rounding intervals narrower than this (model scale) are treated as points.
POINT_WIDTH = 0.05


def report_interval(
    low: FloatArray, high: FloatArray, scale: Scale
) -> tuple[FloatArray, FloatArray]:
    """Model-scale interval of reports with natural bounds ``[low, high]`` (``lo == hi``: point)."""
    low = np.ascontiguousarray(low, dtype=np.float64)
    high = np.ascontiguousarray(high, dtype=np.float64)
    if not scale.is_count:
        return scale.forward(low), scale.forward(high)
    return _count_intervals(low, high, POINT_WIDTH)


@kernel
def _count_intervals(
    low: FloatArray, high: FloatArray, point_width: float
) -> tuple[FloatArray, FloatArray]:
    """:func:`report_interval` on the count (log) scale, ``log1p`` of each bound clamped at 0.

    Compiled: scoring a request converts one figure, where a dozen numpy calls cost more than
    the fusion; a fit converts millions, where they cost a temporary each.
    """
    lo = np.empty(low.size)
    hi = np.empty(low.size)
    for i in range(low.size):
        a, b = low[i], high[i]
        lo[i] = math.log1p(max(a - 0.5, 0.0)) if 0 < a < math.inf else -math.inf
        hi[i] = math.log1p(max(b + 0.5, 0.0)) if math.isfinite(b) else math.inf
        if a == b and hi[i] - lo[i] < point_width:
            lo[i] = hi[i] = math.log1p(max(a, 0.0))
    return lo, hi


def truth_interval(
    low: FloatArray, high: FloatArray, scale: Scale
) -> tuple[FloatArray, FloatArray]:
    """Model-scale interval of settled figures (an exact figure is a point)."""
    return scale.forward(np.asarray(low, np.float64)), scale.forward(np.asarray(high, np.float64))


def truth_point(lo: FloatArray, hi: FloatArray) -> FloatArray:
    """A single model-scale value for a settled interval: its midpoint, or its finite bound."""
    both = np.isfinite(lo) & np.isfinite(hi)
    with np.errstate(invalid="ignore"):
        return np.where(both, (lo + hi) / 2, np.where(np.isfinite(lo), lo, hi))
