"""Reported figures to model-scale intervals: rounding intervals of counts, open bounds, points."""

from __future__ import annotations

import numpy as np

from reliability.intervals import POINT_WIDTH, report_interval
from reliability.scales import Scale


def test_count_figures_become_their_rounding_intervals() -> None:
    inf = np.inf
    # exact 120, exact 3, exact 0, at least 10, at most 5 (low 0), range 10-20, low 0.3.
    low = np.array([120.0, 3.0, 0.0, 10.0, 0.0, 10.0, 0.3])
    high = np.array([120.0, 3.0, 0.0, inf, 5.0, 20.0, inf])
    lo, hi = report_interval(low, high, Scale.LOG)
    # A count y stands for [y - 0.5, y + 0.5): log1p(y - 0.5) = log(y + 0.5), and so on.
    want_lo = np.array([np.log(121.0), np.log(3.5), -inf, np.log(10.5), -inf, np.log(10.5), 0.0])
    want_hi = np.array(
        [np.log(121.0), np.log(4.5), np.log(1.5), inf, np.log(6.5), np.log(21.5), inf]
    )
    np.testing.assert_allclose(lo, want_lo, rtol=1e-15)
    np.testing.assert_allclose(hi, want_hi, rtol=1e-15)
    # A large exact count is a point: its rounding interval is narrower than POINT_WIDTH.
    assert np.log(120.5 / 119.5) < POINT_WIDTH < np.log(4.5 / 3.5)


def test_unknown_upper_bounds_are_open() -> None:
    lo, hi = report_interval(np.array([7.0]), np.array([np.nan]), Scale.LOG)
    assert lo[0] == np.log1p(6.5)
    assert hi[0] == np.inf


def test_linear_figures_pass_through() -> None:
    low = np.array([-2.5, 1.0, -np.inf])
    high = np.array([-2.5, 4.0, 3.0])
    lo, hi = report_interval(low, high, Scale.LINEAR)
    np.testing.assert_array_equal(lo, low)
    np.testing.assert_array_equal(hi, high)
