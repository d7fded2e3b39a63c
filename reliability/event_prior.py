"""The prior over event sizes, fitted per metric (and per stratum where there is enough data).

A Gaussian kernel density of the settled figures on the model scale, mixed with a small broad
normal component so that the tails stay heavy enough for an event far beyond any seen so far.
For counts, whose true sizes are whole numbers, the density's mass over each small count's
rounding cell is put back on that count as a narrow spike. It is tabulated on an even grid, so
a score table reproduces it exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from reliability.table import EventPrior

FloatArray = npt.NDArray[np.float64]

PRIOR_POINTS = 512
BROAD_SHARE = 0.02
BROAD_SD_FACTOR = 3.0
SPAN_SDS = 8.0
#: Width (model scale) of the spike a whole count gets: as narrow as the fusion grid of a
#: single report still samples evenly (its step is about 0.01-0.04).
SPIKE_SD = 0.02
#: Counts get spikes while neighbouring counts are this many spike widths apart on the log
#: scale; above, the spikes would merge into the smooth density anyway.
SPIKE_SEPARATION = 4.0
#: The largest count with a spike (11).
LAST_SPIKE = int(1.0 / np.expm1(SPIKE_SEPARATION * SPIKE_SD) - 1.0)


def build_event_prior(
    theta: FloatArray, *, count: bool, stratum: str | None = None, density: bool = True
) -> EventPrior:
    """Tabulate the event-size prior from settled figures ``theta`` on the model scale.

    ``density=False``: only the broad normal. The kernel density's pull toward typical sizes
    assumes report errors independent of the true size; where reports already lean toward the
    typical size (poll margins, compressed by undecided voters) that pull is applied twice.
    ``count``: the model scale is ``log(1 + count)``, and the density is made discrete at small
    counts (:func:`_whole_counts`).
    """
    theta = theta[np.isfinite(theta)]
    n = theta.size
    centre = float(np.median(theta)) if n else (2.0 if count else 0.0)
    spread = float(np.std(theta)) if n >= 2 else 0.0
    if spread <= 0:
        spread = 1.5 if count else max(abs(centre), 10.0)
    broad_sd = BROAD_SD_FACTOR * spread
    lo = 0.0 if count else float(min(theta.min(initial=centre), centre) - SPAN_SDS * broad_sd)
    hi = float(max(theta.max(initial=centre), centre) + SPAN_SDS * broad_sd)
    grid = np.linspace(lo, hi, PRIOR_POINTS)
    log_broad = -0.5 * ((grid - centre) / broad_sd) ** 2 - np.log(broad_sd * np.sqrt(2 * np.pi))
    if n >= 2 and density:
        bandwidth = 1.06 * spread * n ** (-0.2)
        kde = _kde(theta, grid, bandwidth)
        mixed = (1 - BROAD_SHARE) * kde + BROAD_SHARE * np.exp(log_broad)
        if count:
            grid, mixed = _whole_counts(grid, mixed)
    else:
        mixed = np.exp(log_broad)
    step = float(grid[1] - grid[0])
    mixed /= mixed.sum() * step
    return EventPrior(
        stratum=stratum,
        n_events=int(n),
        grid_start=lo,
        grid_step=step,
        log_density=[float(v) for v in np.log(np.maximum(mixed, 1e-300))],
    )


def _whole_counts(grid: FloatArray, density: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The density with the mass of each small count's cell moved onto a spike at the count.

    A count ``k`` is the latent value rounded, so it owns the cell
    ``[log(k + 1/2), log(k + 3/2))`` (everything below ``log 3/2`` for 0). A smooth density
    spreads that mass over the cell, and a fused median then lands between whole counts where
    the truth never is; the spike ``N(log(1 + k), SPIKE_SD^2)`` keeps it where the truth is.
    Retabulated on a grid fine enough for the spikes (step ``SPIKE_SD / 2``); returns the grid
    and the density, which still integrates to one.
    """
    counts = np.arange(LAST_SPIKE + 1, dtype=np.float64)
    step = grid[1] - grid[0]
    cell_edges = np.append(grid - step / 2, grid[-1] + step / 2)
    # The kernel density integrates to one over the whole line; what spilled below the grid
    # rounds to 0 as well, so it starts the cumulative mass.
    cumulative = np.concatenate([[0.0], np.cumsum(density) * step])
    cumulative += max(1.0 - cumulative[-1], 0.0)
    cumulative[0] = 0.0
    edges = np.concatenate([[cell_edges[0]], np.log(counts + 1.5)])
    mass = np.diff(np.interp(edges, cell_edges, cumulative))
    points = max(PRIOR_POINTS, int(np.ceil((grid[-1] - grid[0]) / (SPIKE_SD / 2))) + 1)
    fine = np.linspace(grid[0], grid[-1], points)
    out = np.where(fine >= edges[-1], np.interp(fine, grid, density), 0.0)
    z = (fine[:, None] - np.log1p(counts)[None, :]) / SPIKE_SD
    spikes = np.exp(-0.5 * z * z)
    # Each spike is scaled to its mass as tabulated, so the one of 0, which sits on the
    # support's edge with its lower half cut off, keeps its whole mass.
    spikes *= mass / (spikes.sum(axis=0) * (fine[1] - fine[0]))
    out += spikes.sum(axis=1)
    return fine, out


def _kde(theta: FloatArray, grid: FloatArray, bandwidth: float) -> FloatArray:
    """Gaussian KDE on an even grid by binning then convolving (linear in the data size)."""
    step = grid[1] - grid[0]
    counts = np.histogram(theta, bins=grid.size, range=(grid[0] - step / 2, grid[-1] + step / 2))[0]
    half = int(np.ceil(5 * bandwidth / step))
    offsets = np.arange(-half, half + 1) * step
    kernel = np.exp(-0.5 * (offsets / bandwidth) ** 2)
    kernel /= kernel.sum() * step
    return np.asarray(np.convolve(counts, kernel, mode="same") / theta.size, dtype=np.float64)


@dataclass(frozen=True)
class TabulatedPrior:
    """An :class:`EventPrior` as arrays, built once and reused by every fusion."""

    grid: FloatArray
    log_density: FloatArray

    @classmethod
    def of(cls, prior: EventPrior) -> TabulatedPrior:
        return cls(prior_grid(prior), np.asarray(prior.log_density, dtype=np.float64))

    @property
    def support(self) -> tuple[float, float]:
        return float(self.grid[0]), float(self.grid[-1])

    def log_pdf(self, x: FloatArray) -> FloatArray:
        """Interpolated log density; ``-inf`` outside the tabulated support."""
        return np.asarray(
            np.interp(x, self.grid, self.log_density, left=-np.inf, right=-np.inf),
            dtype=np.float64,
        )


def prior_grid(prior: EventPrior) -> FloatArray:
    steps = np.arange(len(prior.log_density), dtype=np.float64)
    return np.asarray(prior.grid_start + prior.grid_step * steps, dtype=np.float64)
