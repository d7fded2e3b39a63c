"""Exact one-dimensional fusion of the reports of many events at once, on per-event grids.

For one event with true value ``theta`` (model scale), report ``i`` observes an interval
``[lo_i, hi_i]`` (a point when equal) of ``theta + u + bias_i + scale_i * t_df``, where ``u``
is the error shared by every report of the event. The posterior is

    p(theta | reports) ∝ prior(theta) · ∫ N(u; 0, event_sd²) · Π_i L_i(theta + u) du,

evaluated on an even grid per event: the product of report likelihoods is convolved with the
shared-error normal by FFT, multiplied by the event-size prior and normalised. A second pass
refines the grid to where the posterior mass lies. No normal approximation is made, so
censored and range claims keep their exact likelihoods. See docs/model.md, "Fusion".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

from reliability.event_prior import TabulatedPrior
from reliability.scales import Scale
from reliability.tdist import log_likelihood, log_t_pdf, t_interval_prob

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

_REACH_SDS = 8.0
_TAIL_MASS = 1e-9
_CELLS_PER_SCALE = 8.0
_LOCATE_CELLS = 64
_CHUNK_CELLS = 2_000_000
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


@dataclass(frozen=True)
class ReportBatch:
    """Reports of ``n_events`` events, on the model scale; every event has at least one report.

    ``event_sd``, when given, is each event's shared-error sd in place of the spec's (events
    of different periods share errors of different sizes).
    """

    event: IntArray
    lo: FloatArray
    hi: FloatArray
    bias: FloatArray
    scale: FloatArray
    n_events: int
    event_sd: FloatArray | None = None


@dataclass(frozen=True)
class FusionSpec:
    scale: Scale
    df: float
    event_sd: float
    grid_size: int = 256


@dataclass(frozen=True)
class FusedEvents:
    """Per-event posterior summaries (model scale unless named ``natural``) and report shares."""

    quantiles: FloatArray  # (n_events, len(QUANTILES)) on the model scale
    mean_natural: FloatArray
    pit: FloatArray  # posterior CDF at ``truth``; nan without a truth
    weights: FloatArray  # per report, summing to 1 within each event


@dataclass(frozen=True)
class FusedEvent:
    """One event's posterior summaries (model scale unless named ``natural``) and report shares."""

    quantiles: FloatArray  # (len(QUANTILES),) on the model scale
    mean_natural: float
    weights: FloatArray  # per report, summing to 1


def fuse_events(
    batch: ReportBatch,
    priors: list[TabulatedPrior],
    prior_index: IntArray,
    spec: FusionSpec,
    truth: FloatArray | None = None,
) -> FusedEvents:
    """Fuse every event of ``batch``; ``prior_index[e]`` picks event ``e``'s prior."""
    order = np.argsort(batch.event, kind="stable")
    ev_sorted = batch.event[order]
    counts = np.bincount(ev_sorted, minlength=batch.n_events)
    if np.any(counts == 0):
        raise ValueError("every event needs at least one report")
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    quantiles = np.empty((batch.n_events, len(QUANTILES)))
    mean = np.empty(batch.n_events)
    pit = np.full(batch.n_events, np.nan)
    weights_sorted = np.empty(order.size)
    per_event = max(1, _CHUNK_CELLS // (spec.grid_size * max(1, int(counts.max()))))
    for first in range(0, batch.n_events, per_event):
        last = min(batch.n_events, first + per_event)
        r0, r1 = starts[first], starts[last - 1] + counts[last - 1]
        rows = order[r0:r1]
        chunk = _Chunk(
            event=ev_sorted[r0:r1] - first,
            lo=batch.lo[rows],
            hi=batch.hi[rows],
            bias=batch.bias[rows],
            scale=batch.scale[rows],
            starts=starts[first:last] - r0,
            priors=priors,
            prior_index=prior_index[first:last],
            truth=None if truth is None else truth[first:last],
            event_sd=None if batch.event_sd is None else batch.event_sd[first:last],
        )
        q, m, p, w = chunk.fuse(spec)
        quantiles[first:last], mean[first:last], pit[first:last] = q, m, p
        weights_sorted[r0:r1] = w
    weights = np.empty(order.size)
    weights[order] = weights_sorted
    return FusedEvents(quantiles=quantiles, mean_natural=mean, pit=pit, weights=weights)


@dataclass(frozen=True)
class _Chunk:
    event: IntArray
    lo: FloatArray
    hi: FloatArray
    bias: FloatArray
    scale: FloatArray
    starts: IntArray
    priors: list[TabulatedPrior]
    prior_index: IntArray
    truth: FloatArray | None
    event_sd: FloatArray | None = None

    def shared_sd(self, spec: FusionSpec) -> FloatArray:
        """Each event's shared-error sd."""
        if self.event_sd is None:
            return np.full(self.starts.size, spec.event_sd)
        return self.event_sd

    def fuse(self, spec: FusionSpec) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        lower, upper = self._initial_range(spec)
        # When the full grid would not resolve the sharpest likelihood of some event, a coarse
        # pass only locates the mass and a second pass puts the full grid where it lies.
        counts = np.diff(np.append(self.starts, self.event.size))
        sharpest = np.minimum.reduceat(self.scale, self.starts) / np.sqrt(counts)
        full_step = (upper - lower) / (spec.grid_size - 1)
        if np.any(full_step > sharpest / _CELLS_PER_SCALE):
            size = _locate_size(spec)
            grid, loglik, post = self._posterior(lower, upper, spec, size)
            cdf = np.cumsum(post, axis=1) - post / 2
            step = grid[:, 1] - grid[:, 0]
            tails = _quantiles(grid, cdf, np.array([_TAIL_MASS, 1 - _TAIL_MASS]))
            lower = np.maximum(lower, tails[:, 0] - 2 * step)
            upper = np.minimum(upper, tails[:, 1] + 2 * step)
        grid, loglik, post = self._posterior(lower, upper, spec, spec.grid_size)
        cdf = np.cumsum(post, axis=1) - post / 2
        quantiles = _quantiles(grid, cdf, np.array(QUANTILES))
        mean = np.sum(post * spec.scale.inverse(grid), axis=1)
        pit = (
            np.full(grid.shape[0], np.nan) if self.truth is None else _cdf_at(grid, cdf, self.truth)
        )
        return quantiles, mean, pit, self._shares(grid, loglik, post)

    def _initial_range(self, spec: FusionSpec) -> tuple[FloatArray, FloatArray]:
        reach = _REACH_SDS * self.scale
        lo_c = self.lo - self.bias
        hi_c = self.hi - self.bias
        lower = np.where(
            np.isfinite(lo_c), lo_c - reach, np.where(np.isfinite(hi_c), hi_c - reach, -np.inf)
        )
        upper = np.where(
            np.isfinite(hi_c), hi_c + reach, np.where(np.isfinite(lo_c), lo_c + reach, np.inf)
        )
        support = np.array([p.support for p in self.priors])[self.prior_index]
        shared = self.shared_sd(spec)
        ev_lower = np.minimum.reduceat(lower, self.starts) - 4 * shared
        ev_upper = np.maximum.reduceat(upper, self.starts) + 4 * shared
        # An event known only through one-sided claims is bounded on its open side by the prior.
        open_lo = np.minimum.reduceat(np.where(np.isfinite(lo_c), 0.0, 1.0), self.starts) > 0
        open_hi = np.minimum.reduceat(np.where(np.isfinite(hi_c), 0.0, 1.0), self.starts) > 0
        ev_lower = np.where(open_lo | ~np.isfinite(ev_lower), support[:, 0], ev_lower)
        ev_upper = np.where(open_hi | ~np.isfinite(ev_upper), support[:, 1], ev_upper)
        ev_lower = np.minimum(np.maximum(ev_lower, support[:, 0]), support[:, 1])
        ev_upper = np.minimum(np.maximum(ev_upper, support[:, 0]), support[:, 1])
        empty = ev_upper - ev_lower <= 1e-9
        return (
            np.where(empty, support[:, 0], ev_lower),
            np.where(empty, support[:, 1], ev_upper),
        )

    def _posterior(
        self, lower: FloatArray, upper: FloatArray, spec: FusionSpec, g: int
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        frac = np.linspace(0.0, 1.0, g)
        grid = lower[:, None] + (upper - lower)[:, None] * frac[None, :]
        theta = grid[self.event]
        scale = self.scale[:, None]
        za = (self.lo[:, None] - self.bias[:, None] - theta) / scale
        zb = (self.hi[:, None] - self.bias[:, None] - theta) / scale
        loglik = log_likelihood(za, zb, scale, spec.df)
        total = np.add.reduceat(loglik, self.starts, axis=0)
        total -= total.max(axis=1, keepdims=True)
        lik = np.exp(total)
        step = grid[:, 1] - grid[:, 0]
        shared = self.shared_sd(spec)
        if np.any(shared > 0):
            lik = _gaussian_smooth(lik, shared / step)
        logprior = np.empty_like(grid)
        for k in np.unique(self.prior_index):
            rows = self.prior_index == k
            logprior[rows] = self.priors[k].log_pdf(grid[rows])
        with np.errstate(divide="ignore"):
            logpost = np.log(np.maximum(lik, 0.0)) + logprior
        logpost -= logpost.max(axis=1, keepdims=True)
        post = np.exp(logpost)
        post /= post.sum(axis=1, keepdims=True)
        return grid, loglik, post

    def _shares(self, grid: FloatArray, loglik: FloatArray, post: FloatArray) -> FloatArray:
        """Each report's share of the posterior-expected observed information."""
        step = (grid[:, 1] - grid[:, 0])[self.event]
        curvature = -(loglik[:, 2:] - 2 * loglik[:, 1:-1] + loglik[:, :-2]) / (step**2)[:, None]
        curvature = np.where(np.isfinite(curvature), curvature, 0.0)
        info = np.maximum(np.sum(post[self.event, 1:-1] * curvature, axis=1), 0.0)
        total = np.add.reduceat(info, self.starts)
        n = np.diff(np.append(self.starts, self.event.size))
        flat = total <= 0
        return np.where(
            flat[self.event],
            1.0 / n[self.event],
            info / np.where(flat, 1.0, total)[self.event],
        )


def _gaussian_smooth(rows: FloatArray, sd_cells: FloatArray) -> FloatArray:
    g = rows.shape[1]
    size = 2 * g
    spectrum = np.fft.rfft(rows, n=size, axis=1)
    freq = np.fft.rfftfreq(size)
    kernel = np.exp(-2.0 * (np.pi * sd_cells[:, None] * freq[None, :]) ** 2)
    return np.asarray(np.fft.irfft(spectrum * kernel, n=size, axis=1)[:, :g], dtype=np.float64)


def _quantiles(grid: FloatArray, cdf: FloatArray, qs: FloatArray) -> FloatArray:
    """Quantiles ``qs`` of every row by linear interpolation of its (mid-cell) CDF."""
    g = grid.shape[1]
    k = np.minimum(np.maximum(np.sum(cdf[:, None, :] < qs[None, :, None], axis=2), 1), g - 1)
    c0 = np.take_along_axis(cdf, k - 1, axis=1)
    c1 = np.take_along_axis(cdf, k, axis=1)
    x0 = np.take_along_axis(grid, k - 1, axis=1)
    x1 = np.take_along_axis(grid, k, axis=1)
    frac = np.minimum(np.maximum((qs[None, :] - c0) / np.where(c1 > c0, c1 - c0, 1.0), 0.0), 1.0)
    return np.asarray(x0 + frac * (x1 - x0), dtype=np.float64)


def _cdf_at(grid: FloatArray, cdf: FloatArray, x: FloatArray) -> FloatArray:
    step = grid[:, 1] - grid[:, 0]
    unknown = np.isnan(x)
    pos = np.clip(np.nan_to_num((x - grid[:, 0]) / step), 0.0, grid.shape[1] - 1.0)
    k = np.floor(pos).astype(np.intp)
    k1 = np.minimum(k + 1, grid.shape[1] - 1)
    rows = np.arange(grid.shape[0])
    frac = pos - k
    value = cdf[rows, k] * (1 - frac) + cdf[rows, k1] * frac
    inside = np.where(x < grid[:, 0], 0.0, np.where(x > grid[:, -1], 1.0, value))
    return np.asarray(np.where(unknown, np.nan, inside))


def fuse_event(
    lo: FloatArray,
    hi: FloatArray,
    bias: FloatArray,
    scale: FloatArray,
    prior: TabulatedPrior,
    spec: FusionSpec,
) -> FusedEvent:
    """:func:`fuse_events` for the reports of a single event, on 1-D arrays.

    A request fuses one event, where the batched path's bookkeeping (sorting, segment
    reductions, chunking) costs more than the arithmetic. This path does the same floating-point
    operations in the same order, so it gives the same answers, bit for bit in the first pass:
    that matters because the refinement puts its grid at the 1e-9 tail quantiles of the first
    pass, where a rounding-level change of the CDF near 1 moved the final quantiles by up to
    1e-5 of their spread in a random test (benchmarks/RESULTS.md, "Single-event fusion path").
    """
    lo_c, hi_c = lo - bias, hi - bias
    lower, upper = _event_range(lo_c, hi_c, scale, prior.support, spec.event_sd)
    sharpest = float(scale.min()) / math.sqrt(scale.size)
    if (upper - lower) / (spec.grid_size - 1) > sharpest / _CELLS_PER_SCALE:
        size = _locate_size(spec)
        grid, loglik, post = _event_posterior(lower, upper, lo_c, hi_c, scale, prior, spec, size)
        cdf = np.cumsum(post) - post / 2
        step = float(grid[1] - grid[0])
        tail_lo, tail_hi = _event_quantiles(grid, cdf, _TAILS)
        lower = max(lower, tail_lo - 2 * step)
        upper = min(upper, tail_hi + 2 * step)
    grid, loglik, post = _event_posterior(
        lower, upper, lo_c, hi_c, scale, prior, spec, spec.grid_size
    )
    cdf = np.cumsum(post) - post / 2
    return FusedEvent(
        quantiles=np.array(_event_quantiles(grid, cdf, _QUANTILES)),
        mean_natural=float((post * spec.scale.inverse(grid)).sum()),
        weights=_event_shares(grid, loglik, post),
    )


_QUANTILES = np.array(QUANTILES)
_TAILS = np.array([_TAIL_MASS, 1 - _TAIL_MASS])
_FIRST_ROW = np.zeros(1, dtype=np.intp)


def _event_range(
    lo: FloatArray,
    hi: FloatArray,
    scale: FloatArray,
    support: tuple[float, float],
    event_sd: float,
) -> tuple[float, float]:
    """``_Chunk._initial_range`` of one event's bias-corrected claims ``[lo, hi]``.

    In plain floats: the same operations, for a handful of reports, cost less than numpy calls.
    """
    lower, upper = math.inf, -math.inf
    open_lo = open_hi = True
    for a, b, s in zip(lo.tolist(), hi.tolist(), scale.tolist(), strict=True):
        reach = _REACH_SDS * s
        a_known, b_known = math.isfinite(a), math.isfinite(b)
        open_lo, open_hi = open_lo and not a_known, open_hi and not b_known
        end = a if a_known else (b if b_known else -math.inf)
        lower = min(lower, end - reach)
        end = b if b_known else (a if a_known else math.inf)
        upper = max(upper, end + reach)
    lower -= 4 * event_sd
    upper += 4 * event_sd
    # An event known only through one-sided claims is bounded on its open side by the prior.
    if open_lo or not math.isfinite(lower):
        lower = support[0]
    if open_hi or not math.isfinite(upper):
        upper = support[1]
    lower = min(max(lower, support[0]), support[1])
    upper = min(max(upper, support[0]), support[1])
    if upper - lower <= 1e-9:
        return support
    return lower, upper


def _event_posterior(
    lower: float,
    upper: float,
    lo: FloatArray,
    hi: FloatArray,
    scale: FloatArray,
    prior: TabulatedPrior,
    spec: FusionSpec,
    g: int,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``_Chunk._posterior`` of one event: its grid, per-report log-likelihoods and posterior."""
    grid = lower + (upper - lower) * _unit_grid(g)
    loglik = _event_loglik(grid, lo, hi, scale, spec.df)
    # The batched path's segment sum, whose rounding (unlike sum's) the first pass must match.
    total = np.add.reduceat(loglik, _FIRST_ROW, axis=0)[0]
    total -= total.max()
    lik = np.exp(total)
    if spec.event_sd > 0:
        spread = np.pi * (spec.event_sd / float(grid[1] - grid[0]))
        kernel = np.exp(-2.0 * (spread * _padded_freq(g)) ** 2)
        lik = np.fft.irfft(np.fft.rfft(lik, n=2 * g) * kernel, n=2 * g)[:g]
    with np.errstate(divide="ignore"):
        logpost = np.log(np.maximum(lik, 0.0))
    logpost += prior.log_pdf(grid)
    logpost -= logpost.max()
    post = np.exp(logpost)
    post /= post.sum()
    return grid, loglik, post


def _event_loglik(
    grid: FloatArray, lo: FloatArray, hi: FloatArray, scale: FloatArray, df: float
) -> FloatArray:
    """:func:`reliability.tdist.log_likelihood` of each claim at every grid value, one row per
    claim, by the same operations, with points and intervals computed apart."""
    point = lo == hi
    if point.all():
        return _point_loglik(grid, lo, scale, df)
    out = np.empty((lo.size, grid.size))
    if point.any():
        out[point] = _point_loglik(grid, lo[point], scale[point], df)
    claim = ~point
    width = scale[claim, None]
    za = (lo[claim, None] - grid) / width
    zb = (hi[claim, None] - grid) / width
    with np.errstate(divide="ignore"):
        out[claim] = np.log(t_interval_prob(za, zb, df))
    return out


def _point_loglik(grid: FloatArray, x: FloatArray, scale: FloatArray, df: float) -> FloatArray:
    out = log_t_pdf((x[:, None] - grid) / scale[:, None], df)
    out -= np.log(scale)[:, None]
    return out


def _event_quantiles(grid: FloatArray, cdf: FloatArray, qs: FloatArray) -> list[float]:
    """:func:`_quantiles` of one event.

    The mid-cell CDF never decreases (but by a rounding where cells carry no mass), so the
    clipped count of cells below ``q`` is a binary search over the inner cells.
    """
    k = np.searchsorted(cdf[1:-1], qs) + 1
    out = []
    for q, c0, c1, x0, x1 in zip(
        qs.tolist(),
        cdf[k - 1].tolist(),
        cdf[k].tolist(),
        grid[k - 1].tolist(),
        grid[k].tolist(),
        strict=True,
    ):
        frac = min(max((q - c0) / (c1 - c0 if c1 > c0 else 1.0), 0.0), 1.0)
        out.append(x0 + frac * (x1 - x0))
    return out


def _event_shares(grid: FloatArray, loglik: FloatArray, post: FloatArray) -> FloatArray:
    """``_Chunk._shares`` of one event: each report's share of the expected information."""
    n = loglik.shape[0]
    if n == 1:
        return np.ones(1)
    step = float(grid[1] - grid[0])
    curvature = -(loglik[:, 2:] - 2 * loglik[:, 1:-1] + loglik[:, :-2]) / (step * step)
    curvature[~np.isfinite(curvature)] = 0.0
    info = np.maximum(np.sum(post[1:-1] * curvature, axis=1), 0.0)
    total = float(info.sum())
    if total <= 0:
        return np.full(n, 1.0 / n)
    return np.asarray(info / total, dtype=np.float64)


def _locate_size(spec: FusionSpec) -> int:
    """Points of the pass that only locates the posterior mass before the full grid."""
    return min(_LOCATE_CELLS, spec.grid_size)


def _unit_grid(size: int) -> FloatArray:
    return np.linspace(0.0, 1.0, size)


@cache
def _padded_freq(size: int) -> FloatArray:
    """Frequencies of the FFT that smooths a ``size``-cell grid, zero-padded to twice its size."""
    return np.asarray(np.fft.rfftfreq(2 * size), dtype=np.float64)
