"""The prior over event sizes, fitted per metric (and per stratum where there is enough data).

A Gaussian kernel density of the settled figures on the model scale, mixed with a small broad
normal component so that the tails stay heavy enough for an event far beyond any seen so far.
It is tabulated on an even grid, so a score table reproduces it exactly.
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


def build_event_prior(
    theta: FloatArray, *, count: bool, stratum: str | None = None, density: bool = True
) -> EventPrior:
    """Tabulate the event-size prior from settled figures ``theta`` on the model scale.

    ``density=False``: only the broad normal. The kernel density's pull toward typical sizes
    assumes report errors independent of the true size; where reports already lean toward the
    typical size (poll margins, compressed by undecided voters) that pull is applied twice.
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
