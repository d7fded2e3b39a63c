"""Exact one-dimensional fusion of the reports of many events at once, on per-event grids.

For one event with true value ``theta`` (model scale), report ``i`` observes an interval
``[lo_i, hi_i]`` (a point when equal) of ``theta + u + bias_i + scale_i * t_df``, where ``u``
is the error shared by every report of the event. The posterior is

    p(theta | reports) ∝ prior(theta) · ∫ N(u; 0, event_sd²) · Π_i L_i(theta + u) du,

evaluated on an even grid per event: the product of report likelihoods is convolved with the
shared-error normal, multiplied by the event-size prior and normalised. A coarse first pass
locates the posterior mass when the full grid over the claims' reach would be too coarse. No
normal approximation is made, so censored and range claims keep their exact likelihoods. The
arithmetic is one compiled kernel (:mod:`reliability.fusion_kernel`) for a single event and a
batch alike; this module arranges the arrays. See docs/model.md, "Fusion".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from reliability.event_prior import TabulatedPrior
from reliability.fusion_kernel import fuse_sorted
from reliability.intervals import report_interval
from reliability.jit import in_runs
from reliability.scales import Scale

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
_LEVELS = np.array(QUANTILES)
#: Below this many events per thread, starting threads costs more than it saves.
_EVENTS_PER_THREAD = 1_000


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
    counts = np.bincount(batch.event, minlength=batch.n_events)
    if np.any(counts == 0):
        raise ValueError("every event needs at least one report")
    starts = np.zeros(batch.n_events + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    logd, length, bounds = _prior_table(priors)
    lo = (batch.lo - batch.bias)[order]
    hi = (batch.hi - batch.bias)[order]
    scale = np.ascontiguousarray(batch.scale[order], dtype=np.float64)
    prior_of = np.asarray(prior_index, dtype=np.int64)
    known = np.full(batch.n_events, np.nan) if truth is None else np.asarray(truth, np.float64)
    shared = (
        np.full(batch.n_events, float(spec.event_sd))
        if batch.event_sd is None
        else np.asarray(batch.event_sd, dtype=np.float64)
    )

    def part(first: int, last: int) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        r0, r1 = starts[first], starts[last]
        return fuse_sorted(
            starts[first : last + 1] - r0,
            lo[r0:r1],
            hi[r0:r1],
            scale[r0:r1],
            prior_of[first:last],
            logd,
            length,
            bounds,
            known[first:last],
            _LEVELS,
            float(spec.df),
            shared[first:last],
            int(spec.grid_size),
            spec.scale.is_count,
        )

    # Large batches (cross-validation, latent rounds) are split across the cores.
    parts = in_runs(batch.n_events, _EVENTS_PER_THREAD, part)
    quantiles, mean, pit, weights_sorted = (np.concatenate(v) for v in zip(*parts, strict=True))
    weights = np.empty(order.size)
    weights[order] = weights_sorted
    return FusedEvents(quantiles=quantiles, mean_natural=mean, pit=pit, weights=weights)


def fuse_event(
    lo: FloatArray,
    hi: FloatArray,
    bias: FloatArray,
    scale: FloatArray,
    prior: TabulatedPrior,
    spec: FusionSpec,
) -> FusedEvent:
    """:func:`fuse_events` for the reports of a single event, on 1-D arrays.

    A request fuses one event, where sorting by event and tabulating several priors cost more
    than the arithmetic; the kernel and so the answers are the same.
    """
    logd = prior.log_density
    quantiles, mean, _, weights = fuse_sorted(
        np.array([0, lo.size], dtype=np.int64),
        lo - bias,
        hi - bias,
        np.asarray(scale, dtype=np.float64),
        _FIRST_PRIOR,
        logd.reshape(1, logd.size),
        np.array([logd.size], dtype=np.int64),
        np.array([prior.support]),
        _UNKNOWN_TRUTH,
        _LEVELS,
        float(spec.df),
        np.array([float(spec.event_sd)]),
        int(spec.grid_size),
        spec.scale.is_count,
    )
    return FusedEvent(quantiles=quantiles[0], mean_natural=float(mean[0]), weights=weights)


def warm_up() -> None:
    """Load the compiled kernels (compiling them once per install), as a server starts.

    The first call of a kernel in a process costs about a second even from the cache; a
    server pays it here rather than in its first request.
    """
    grid = np.linspace(0.0, 10.0, 16)
    prior = TabulatedPrior(grid, np.zeros(grid.size))
    # A point and a censored claim: both branches of the likelihood.
    lo, hi = report_interval(np.array([5.0, 1.0]), np.array([5.0, np.inf]), Scale.LOG)
    fuse_event(lo, hi, np.zeros(2), np.ones(2), prior, FusionSpec(Scale.LOG, 4.0, 0.1))


_FIRST_PRIOR = np.zeros(1, dtype=np.int64)
_UNKNOWN_TRUTH = np.full(1, np.nan)


def _prior_table(
    priors: list[TabulatedPrior],
) -> tuple[FloatArray, npt.NDArray[np.int64], FloatArray]:
    """The priors' log densities as rows of one array (padded), their lengths and end points."""
    length = np.array([p.log_density.size for p in priors], dtype=np.int64)
    logd = np.full((len(priors), int(length.max())), -np.inf)
    for k, p in enumerate(priors):
        logd[k, : p.log_density.size] = p.log_density
    bounds = np.array([p.support for p in priors], dtype=np.float64).reshape(len(priors), 2)
    return logd, length, bounds
