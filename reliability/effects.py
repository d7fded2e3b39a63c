"""Report-level effects beyond the outlet's bias: whose casualties, how early, and when.

- **Stratum bias**: ``delta_{o,s} ~ N(eta_{g,s}, tau_s^2)``, so an outlet's bias for one
  stratum (whose casualties) is ``b_o + delta_{o,s}``, shrunk toward its overall bias plus its
  group's typical lean on that stratum (``eta``, centred within each group; zero for outlets
  without a group).
- **Reporting lag**: a shared, piecewise-constant ``lambda(days after the event)`` over
  doubling bins, zero in the latest populated bin (reports long after the event define the
  outlet's bias), so early undercounting is not charged to the outlet.
- **Period effect**: ``c_p ~ N(0, tau_c^2)``, an error shared by every report of every event
  in the same period (a polling cycle, a phase of a conflict), so outlet biases are relative
  to the period's shared error.

All enter the residual's expectation, ``r_i = b_o + delta_{o,s(i)} + lambda_{k(i)} +
c_{p(e)} + u_e + eps_i``, and are updated inside the same EM by grouped sums. See
docs/model.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

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


def _no_codes() -> IntArray:
    return np.zeros(0, dtype=np.intp)


@dataclass(frozen=True)
class Effects:
    """Codes of the stratum cells, lag bins and periods of one metric's reports.

    ``cell[i]`` indexes the (outlet, stratum) cell of report ``i`` (``-1``: no stratum) and
    ``cell_outlet[c]`` the outlet of cell ``c``; ``lag_bin[i]`` is ``-1`` where unknown.
    ``reference`` is the lag bin held at zero (``-1`` when the lag effect is off).
    ``event_period[e]`` is the period of event ``e`` and ``period[i]`` that of report ``i``'s
    event (``-1``: none); both are ignored while ``n_periods`` is 0 (the period effect is off).
    ``epoch_cell[i]`` indexes report ``i``'s (outlet, age epoch) drift cell,
    ``outlet * n_epochs + epoch`` (``None`` when drift is off; see ``drift.py``).
    """

    cell: IntArray
    cell_outlet: IntArray
    cell_stratum: IntArray
    lag_bin: IntArray
    reference: int
    period: IntArray = field(default_factory=_no_codes)
    event_period: IntArray = field(default_factory=_no_codes)
    n_periods: int = 0
    epoch_cell: IntArray | None = None
    n_epochs: int = 0
    n_epoch_cells: int = 0

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

    @cached_property
    def _cell_code(self) -> IntArray:
        # Rows without a cell point one past the last cell, at a zero (or a discarded sum).
        return np.where(self.cell >= 0, self.cell, self.n_cells)

    @cached_property
    def _lag_code(self) -> IntArray:
        return np.where(self.lag_bin >= 0, self.lag_bin, self.n_lag_bins)

    @cached_property
    def _period_code(self) -> IntArray:
        return np.where(self.period >= 0, self.period, self.n_periods)

    @cached_property
    def _event_period_code(self) -> IntArray:
        return np.where(self.event_period >= 0, self.event_period, self.n_periods)

    def take(self, rows: IntArray) -> Effects:
        """The same effects with the reports reordered (or subset) by ``rows``."""
        return Effects(
            cell=self.cell[rows],
            cell_outlet=self.cell_outlet,
            cell_stratum=self.cell_stratum,
            lag_bin=self.lag_bin[rows],
            reference=self.reference,
            period=self.period[rows] if self.n_periods else self.period,
            event_period=self.event_period,
            n_periods=self.n_periods,
            epoch_cell=None if self.epoch_cell is None else self.epoch_cell[rows],
            n_epochs=self.n_epochs,
            n_epoch_cells=self.n_epoch_cells,
        )

    def offset(
        self, delta: FloatArray, lam: FloatArray, period: FloatArray | None = None
    ) -> FloatArray:
        """Each report's shift from its outlet's overall bias (period effects where given)."""
        out = self._fixed_offset(delta, lam)
        if self.n_periods and period is not None:
            out += np.append(period, 0.0)[self._period_code]
        return out

    def event_period_value(self, period: FloatArray) -> FloatArray:
        """Each event's period effect (0 for events without a period)."""
        return np.append(period, 0.0)[self._event_period_code]

    def _fixed_offset(self, delta: FloatArray, lam: FloatArray) -> FloatArray:
        if self.n_cells and self.n_lag_bins:
            out = np.append(delta, 0.0)[self._cell_code]
            out += np.append(lam, 0.0)[self._lag_code]
            return out
        if self.n_cells:
            return np.append(delta, 0.0)[self._cell_code]
        if self.n_lag_bins:
            return np.append(lam, 0.0)[self._lag_code]
        return np.zeros(self.cell.size)

    def cell_sum(self, values: FloatArray) -> FloatArray:
        """Sums of per-report ``values`` over each stratum cell."""
        return group_sum(self._cell_code, values, self.n_cells + 1)[: self.n_cells]

    def lag_sum(self, values: FloatArray) -> FloatArray:
        """Sums of per-report ``values`` over each lag bin."""
        return group_sum(self._lag_code, values, self.n_lag_bins + 1)[: self.n_lag_bins]

    def period_sum(self, event_values: FloatArray) -> FloatArray:
        """Sums of per-event ``event_values`` over each period."""
        return group_sum(self._event_period_code, event_values, self.n_periods + 1)[
            : self.n_periods
        ]

    def update_period(
        self, before: FloatArray, info: FloatArray, prior_var: FloatArray, period_var: float
    ) -> tuple[FloatArray, FloatArray]:
        """Period effects and event errors jointly, from each event's weighted residual sum
        ``before`` both (net of everything else), its information ``info`` and the prior
        variance ``prior_var`` of its error.

        With the event errors integrated out, an event's mean residual ``before / info`` has
        variance ``1/info + prior_var`` around its period's effect: the period's posterior mean
        weighs events by the inverse of that, shrunk toward 0 with variance ``period_var``.
        Each event error is then its posterior mean given the new period effect. Updating the
        two in turn instead would crawl: an event error takes most of its event's shared
        residual before the period effect sees it.
        """
        damp = 1.0 / (1.0 + info * prior_var)
        total = self.period_sum(before * damp)
        weight = self.period_sum(info * damp)
        period = np.asarray(total / (weight + 1.0 / period_var), dtype=np.float64)
        u = (before - info * self.event_period_value(period)) / (info + 1.0 / prior_var)
        return period, np.asarray(u, dtype=np.float64)

    def drift_offset(self, drift: FloatArray) -> FloatArray:
        """Each report's shift from its outlet's current bias: its epoch's drift deviation."""
        if self.epoch_cell is None:
            return np.zeros(self.cell.size)
        return np.asarray(drift[self.epoch_cell], dtype=np.float64)

    def epoch_sum(self, values: FloatArray) -> FloatArray:
        """Sums of per-report ``values`` over each (outlet, epoch) drift cell."""
        assert self.epoch_cell is not None
        return group_sum(self.epoch_cell, values, self.n_epoch_cells)

    def update_strata(
        self, total: FloatArray, info: FloatArray, prior_mean: FloatArray, var: float
    ) -> FloatArray:
        """Posterior mean of each cell's deviation from its weighted residual sum ``total`` and
        information ``info``, shrunk toward ``prior_mean`` (variance ``var``)."""
        return np.asarray((total + prior_mean / var) / (info + 1.0 / var), dtype=np.float64)

    def update_lag(self, total: FloatArray, info: FloatArray) -> FloatArray:
        """Weighted mean residual per lag bin, relative to the reference bin."""
        if not self.n_lag_bins:
            return np.zeros(0)
        lam = np.where(info > 0, total / np.maximum(info, 1e-300), 0.0)
        return np.asarray(lam - lam[self.reference], dtype=np.float64)
