"""Report-level effects beyond the outlet's bias: whose casualties, and how early.

- **Stratum bias**: ``delta_{o,s} ~ N(eta_{g,s}, tau_s^2)``, so an outlet's bias for one
  stratum (whose casualties) is ``b_o + delta_{o,s}``, shrunk toward its overall bias plus its
  group's typical lean on that stratum (``eta``, centred within each group; zero for outlets
  without a group).
- **Reporting lag**: a shared, piecewise-constant ``lambda(days after the event)`` over
  doubling bins, zero in the latest populated bin (reports long after the event define the
  outlet's bias), so early undercounting is not charged to the outlet.

Both enter the residual's expectation, ``r_i = b_o + delta_{o,s(i)} + lambda_{k(i)} + u_e +
eps_i``, and are updated inside the same EM by grouped sums. See docs/model.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from reliability.grouped import group_sum

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

#: Lower edges (days after the event) of the reporting-lag bins.
LAG_EDGES = (0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)


def lag_bins(days: FloatArray) -> IntArray:
    """Bin index of each lag in days (``-1`` where unknown)."""
    known = np.isfinite(days)
    index = np.searchsorted(
        np.array(LAG_EDGES), np.where(known, np.maximum(days, 0.0), 0.0), "right"
    )
    return np.where(known, index - 1, -1).astype(np.intp)


@dataclass(frozen=True)
class Effects:
    """Codes of the stratum cells and lag bins of one metric's reports.

    ``cell[i]`` indexes the (outlet, stratum) cell of report ``i`` (``-1``: no stratum) and
    ``cell_outlet[c]`` the outlet of cell ``c``; ``lag_bin[i]`` is ``-1`` where unknown.
    ``reference`` is the lag bin held at zero (``-1`` when the lag effect is off).
    """

    cell: IntArray
    cell_outlet: IntArray
    cell_stratum: IntArray
    lag_bin: IntArray
    reference: int

    @classmethod
    def none(cls, n_reports: int) -> Effects:
        empty = np.zeros(0, dtype=np.intp)
        off = np.full(n_reports, -1, dtype=np.intp)
        return cls(
            cell=off, cell_outlet=empty, cell_stratum=empty, lag_bin=off.copy(), reference=-1
        )

    @property
    def n_cells(self) -> int:
        return int(self.cell_outlet.size)

    @property
    def n_lag_bins(self) -> int:
        return len(LAG_EDGES) if self.reference >= 0 else 0

    def offset(self, delta: FloatArray, lam: FloatArray) -> FloatArray:
        """Each report's shift from its outlet's overall bias."""
        out = np.zeros(self.cell.size)
        if self.n_cells:
            out += np.where(self.cell >= 0, delta[np.maximum(self.cell, 0)], 0.0)
        if self.n_lag_bins:
            out += np.where(self.lag_bin >= 0, lam[np.maximum(self.lag_bin, 0)], 0.0)
        return out

    def cell_info(self, omega: FloatArray) -> FloatArray:
        has = self.cell >= 0
        return group_sum(self.cell[has], omega[has], self.n_cells)

    def update_strata(
        self, omega: FloatArray, resid: FloatArray, prior_mean: FloatArray, var: float
    ) -> FloatArray:
        """Posterior mean of each cell's deviation, shrunk toward ``prior_mean`` (var ``var``)."""
        if not self.n_cells:
            return np.zeros(0)
        has = self.cell >= 0
        total = group_sum(self.cell[has], omega[has] * resid[has], self.n_cells)
        return np.asarray(
            (total + prior_mean / var) / (self.cell_info(omega) + 1.0 / var), dtype=np.float64
        )

    def raw_strata(self, omega: FloatArray, resid: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Unshrunk cell deviations and their information, for the between-cell variance."""
        has = self.cell >= 0
        info = self.cell_info(omega)
        total = group_sum(self.cell[has], omega[has] * resid[has], self.n_cells)
        return total / np.maximum(info, 1e-300), info

    def lag_info(self, omega: FloatArray) -> FloatArray:
        has = self.lag_bin >= 0
        return group_sum(self.lag_bin[has], omega[has], self.n_lag_bins)

    def update_lag(self, omega: FloatArray, resid: FloatArray) -> FloatArray:
        """Weighted mean residual per lag bin, relative to the reference bin."""
        if not self.n_lag_bins:
            return np.zeros(0)
        has = self.lag_bin >= 0
        info = self.lag_info(omega)
        total = group_sum(self.lag_bin[has], omega[has] * resid[has], self.n_lag_bins)
        lam = np.where(info > 0, total / np.maximum(info, 1e-300), 0.0)
        return np.asarray(lam - lam[self.reference], dtype=np.float64)
