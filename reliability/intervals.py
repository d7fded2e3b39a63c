"""Figures in natural units to intervals on a metric's model scale.

A reported count is a whole number, so ``y`` stands for a latent value in ``[y - 0.5,
y + 0.5)``; on the log scale that interval is wide at small counts (``0`` covers everything
below ``log 1.5``) and negligible at large ones, where it becomes a point to save work.
Settled (consensus) figures are the truth itself, so an exact one is a point.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from reliability.scales import Scale

FloatArray = npt.NDArray[np.float64]

#: Rounding intervals narrower than this (model scale) are treated as points.
POINT_WIDTH = 0.05


def report_interval(
    low: FloatArray, high: FloatArray, scale: Scale
) -> tuple[FloatArray, FloatArray]:
    """Model-scale interval of reports with natural bounds ``[low, high]`` (``lo == hi``: point)."""
    low = np.asarray(low, dtype=np.float64)
    high = np.asarray(high, dtype=np.float64)
    if not scale.is_count:
        return scale.forward(low), scale.forward(high)
    # One forward() for every candidate bound (it clamps at zero, so none fails); the bounds
    # that are open, or collapse to a point, are then replaced. Called per request: few calls.
    n = low.size
    bounds = scale.forward(np.concatenate((low - 0.5, high + 0.5, low)))
    lo, hi, centre = bounds[:n], bounds[n : 2 * n], bounds[2 * n :]
    lo[~((low > 0) & (low < np.inf))] = -np.inf
    hi[~np.isfinite(high)] = np.inf
    point = (low == high) & (hi - lo < POINT_WIDTH)
    np.copyto(lo, centre, where=point)
    np.copyto(hi, centre, where=point)
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
