"""The oracle: fusion that knows every true parameter of the synthetic generator.

It fuses reports with each outlet's true bias ``b`` and t scale ``sigma``, the true degrees of
freedom ``nu``, the true shared event error ``tau_u`` and an event-size prior tabulated from
many draws of the generator's event distribution, using the same exact censored grid
likelihood as the model (:func:`reliability.fusion.fuse_events`). No estimator that sees only
the reports can beat it on average, so it is the ceiling the model's accuracy is judged by.

>>> from reliability.synth import generate, preset
>>> data = generate(preset("core", n_outlets=20, n_events=50, n_reports=300, seed=1))
>>> fused = oracle_fuse(data.reports, data, true_event_prior(data.truth.config, n_draws=10_000))
>>> fused.height == data.reports["event_id"].n_unique()
True
"""

from __future__ import annotations

import numpy as np
import polars as pl

from reliability.event_prior import TabulatedPrior, build_event_prior
from reliability.frames import QUANTITY_KEY
from reliability.fusion import QUANTILES, FusionSpec, ReportBatch, fuse_events
from reliability.intervals import report_interval
from reliability.scales import Scale
from reliability.synth import SynthConfig, SynthData
from reliability.table import EventPrior

KEY = list(QUANTITY_KEY)
QUANTILE_COLUMNS = [f"q{int(q * 100):02d}" for q in QUANTILES]


def true_event_prior(
    config: SynthConfig, *, n_draws: int = 1_000_000, seed: int = 12345
) -> EventPrior:
    """The event-size prior of the first metric, from ``n_draws`` draws of the generator's law.

    The generator draws a latent ``N(mean, sd^2)`` and, for counts, rounds ``expm1`` of it to
    a whole number, so the true size on the model scale is ``log1p`` of that count.
    """
    metric = config.metrics[0]
    latent = np.random.default_rng(seed).normal(metric.mean, metric.sd, size=n_draws)
    if metric.scale.is_count:
        theta = np.log1p(np.maximum(np.round(np.expm1(latent)), 0.0))
    else:
        theta = latent
    return build_event_prior(theta, count=metric.scale.is_count)


def oracle_fuse(
    reports: pl.DataFrame, data: SynthData, prior: EventPrior, *, grid_size: int = 256
) -> pl.DataFrame:
    """Fuse ``reports`` (canonical frame, first metric only) with the true parameters.

    Returns what :func:`fuse_with` returns.
    """
    config = data.truth.config
    if config.nu is None:
        raise ValueError("the oracle needs Student-t report noise: the config has nu = None")
    if config.strata or config.lag_amplitude or config.p_drift or config.p_cite:
        raise ValueError("the oracle knows bias, sigma, nu and tau_u only: turn extensions off")
    outlets = true_outlets(data)
    return fuse_with(
        reports,
        data,
        outlets,
        df=config.nu,
        event_sd=config.tau_u,
        prior=prior,
        grid_size=grid_size,
    )


def true_outlets(data: SynthData) -> pl.DataFrame:
    """Each outlet's true ``bias`` and t scale (as ``scale``) for the first metric."""
    metric = data.truth.config.metrics[0].name
    return data.truth_outlets.filter(pl.col("metric") == metric).select(
        "outlet", "bias", pl.col("sigma").alias("scale")
    )


def fuse_with(
    reports: pl.DataFrame,
    data: SynthData,
    outlets: pl.DataFrame,
    *,
    df: float,
    event_sd: float,
    prior: EventPrior,
    grid_size: int = 256,
) -> pl.DataFrame:
    """Fuse ``reports`` of the first metric with given per-outlet ``bias`` and ``scale``.

    Mixing true and fitted parameters here shows which estimate costs the model accuracy.
    Returns one row per quantity: the key, ``n_reports``, model-scale ``q05 … q95`` and the
    natural-scale 90% interval ``lo90``/``hi90`` (rounded outward for counts, as the model
    does).
    """
    metric = data.truth.config.metrics[0]
    scale = Scale(metric.scale)
    rep = reports.filter(pl.col("metric") == metric.name).join(outlets, on="outlet", how="left")
    if rep["bias"].null_count() or rep["scale"].null_count():
        raise ValueError("reports name outlets without parameters")
    keys = rep.select(KEY).unique(maintain_order=True).with_row_index("event")
    rep = rep.join(keys, on=KEY, nulls_equal=True)
    lo, hi = report_interval(rep["low"].to_numpy(), rep["high"].to_numpy(), scale)
    batch = ReportBatch(
        event=rep["event"].to_numpy().astype(np.intp),
        lo=lo,
        hi=hi,
        bias=rep["bias"].to_numpy(),
        scale=rep["scale"].to_numpy(),
        n_events=keys.height,
    )
    spec = FusionSpec(scale=scale, df=df, event_sd=event_sd, grid_size=grid_size)
    fused = fuse_events(
        batch, [TabulatedPrior.of(prior)], np.zeros(keys.height, dtype=np.intp), spec
    )
    natural = scale.inverse(fused.quantiles[:, [0, -1]])
    if scale.is_count:
        natural = np.column_stack(
            [np.floor(np.maximum(natural[:, 0], 0.0) + 1e-9), np.ceil(natural[:, 1] - 1e-9)]
        )
    counts = rep.group_by("event").len("n_reports")
    return (
        keys.join(counts, on="event")
        .sort("event")
        .with_columns(
            *[pl.Series(name, fused.quantiles[:, k]) for k, name in enumerate(QUANTILE_COLUMNS)],
            pl.Series("lo90", natural[:, 0]),
            pl.Series("hi90", natural[:, 1]),
        )
        .drop("event")
    )
