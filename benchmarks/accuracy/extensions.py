"""Estimator extensions on data with every planted effect on: lag, strata, drift, copies.

Method. Each seed draws the synthetic ``full`` preset restricted to the log-count metric
(300 outlets, 4,000 events x 2 strata, 40,000 reports) with reporting lag
(``lambda(d) = -0.3 exp(-d/2)``), stratum biases (``tau_s`` = 0.1, militant outlets +0.5 on
``side_b``), drift (10% of outlets change bias by +-0.3 at the midpoint of the ten-year span)
and citation copies (10% of reports repeat another outlet's figure of the same quantity).
Consensus of 30% of the events is withheld (on top of the preset's 10% never settled); the
model is fitted on the rest and fuses the withheld quantities, which are scored against the
planted truth. Every variant sees the same data:

* ``full``: every extension on, ``half_life_days`` = 365;
* ``half-life 182 d`` / ``730 d`` / ``no half-life``: the recency weighting varied;
* ``drift (yearly epochs)``: no half-life, the outlet's bias a random walk over yearly epochs
  (``drift_epoch_days`` = 365.25), scored by its current bias; ``drift + half-life 365 d``
  both at once;
* ``stratum_bias=False``, ``lag_effect=False``, ``latent_consensus=False``: one switch off;
* ``cites stripped``: the ``cites`` column removed from fit and fusion alike, so copies count
  as their citing outlet's own record and as independent evidence.

Why a one-year half-life: the drift happens 1,825 days before the last report. A report of age
``a`` weighs ``2^(-a/h)``, so the share of an outlet's weight that still comes from before the
drift is about ``2^(-1825/h)``: 0.1% at h = 182, 3% at h = 365, 18% at h = 730. The price is
data: the weighted record is ``(h / ln 2) / 3650`` of the unweighted one, 7%, 14% and 29%. At
h = 365 the old regime leaks less than 0.01 of a 0.3 drift, while outlets keep a seventh of
their record; 182 and 730 days show either side of that trade (measured, 730 d turns out the
better one at this data volume: the lost record costs more than the leakage).

Figures (means over seeds unless said):

* (a) lag curve: per lag bin (bins with at least 200 reports), whether the 90% interval covers
  the planted mean ``lambda`` of the bin's reports relative to the reference bin;
* (b) stratum bias: share of (outlet, stratum) cells of outlets that do not drift, with at
  least 5 own reports, whose 90% interval covers the planted ``b_o + delta_{o,s}``;
* (c) drift: for drifting outlets' cells with at least 10 own reports, mean absolute error of
  the fitted stratum bias to the current (end-of-period) bias ``b_o + delta_{o,s} + drift`` and
  to the former one, and coverage of the current bias;
* (d) copies: on withheld quantities with at least one copied report, fused 90% width (model
  scale) and coverage with the copies and with the copies removed;
* (e) ablation: fused MAE (log scale) on all withheld quantities and on those dated after the
  drift, fused 90% coverage (whole-number quantiles, natural scale), bias coverage over all
  cells against the current bias (a variant without stratum bias is judged by its overall
  interval), lag bins covered.

Reading (numbers in ``benchmarks/RESULTS.md``). In the full model the lag curve's and the stable
outlets' stratum biases' intervals cover the planted values at or above nominal (without a
half-life, with narrower intervals, somewhat below); switching stratum bias or the
lag effect off costs bias coverage (one overall bias cannot hold a one-sided lean; biases absorb
the average undercount) and fused accuracy. Copies with ``cites`` collapse exactly, so fused
intervals are the same with and without them; stripped of ``cites`` they narrow the intervals
and lose coverage. Recency weighting tracks drift only for outlets with a large record: below
that the down-weighted record is shrunk toward the group, and the half-life costs every
outlet data, so fused accuracy is best without it when few outlets drift. The drifting bias
(``drift (yearly epochs)``) tracks the drifting outlets' current bias with calibrated
intervals and keeps stable outlets' coverage near nominal, at about the fused accuracy of the
365-day half-life; combined with a half-life its step is estimated near zero.

    .venv/bin/python -m benchmarks.accuracy.extensions --seeds 5
    .venv/bin/python -m benchmarks.accuracy.extensions --seeds 3 --recency-only
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from reliability.effects import LAG_EDGES, lag_bins
from reliability.outlet_model import OutletModel
from reliability.synth import KILLED, SynthData, generate, preset

from . import provenance

KEY = ["event_id", "metric", "stratum"]
HELD_OUT = 0.3
MIN_LAG_REPORTS = 200
MIN_CELL_REPORTS = 5
MIN_DRIFT_REPORTS = 10
BIG_DRIFT_REPORTS = 100
DRIFT = "drift (yearly epochs)"
RECENCY = (
    "no half-life",
    "half-life 730 d",
    "full (half-life 365 d)",
    "half-life 182 d",
    DRIFT,
    "drift + half-life 365 d",
)


@dataclass(frozen=True)
class Variant:
    """Model options and whether the ``cites`` column is removed before fit and fusion."""

    options: dict[str, Any]
    strip_cites: bool = False


FULL = {"half_life_days": 365.0}
VARIANTS = {
    "full (half-life 365 d)": Variant(FULL),
    "half-life 182 d": Variant({"half_life_days": 182.0}),
    "half-life 730 d": Variant({"half_life_days": 730.0}),
    "no half-life": Variant({}),
    DRIFT: Variant({"drift_epoch_days": 365.25}),
    "drift + half-life 365 d": Variant({**FULL, "drift_epoch_days": 365.25}),
    "stratum_bias=False": Variant({**FULL, "stratum_bias": False}),
    "lag_effect=False": Variant({**FULL, "lag_effect": False}),
    "cites stripped": Variant(FULL, strip_cites=True),
    "latent_consensus=False": Variant({**FULL, "latent_consensus": False}),
}


def simulate(seed: int) -> SynthData:
    """The ``full`` preset's effects on one log-count metric, with more drift and copies."""
    return generate(
        preset(
            "full",
            metrics=(KILLED,),
            n_outlets=300,
            n_events=4000,
            n_reports=40000,
            p_drift=0.1,
            p_cite=0.1,
            seed=seed,
        )
    )


@dataclass(frozen=True)
class Seeded:
    """One seed's data, the withheld quantities with their truth, and the planted cells."""

    data: SynthData
    settled: pl.DataFrame
    held: pl.DataFrame
    truth: pl.DataFrame
    cells: pl.DataFrame
    lag_truth: np.ndarray[Any, np.dtype[np.float64]]
    lag_counts: np.ndarray[Any, np.dtype[np.int64]]


def prepare(seed: int) -> Seeded:
    data = simulate(seed)
    ids = data.truth_events["event_id"].unique().sort().to_numpy()
    hidden = ids[np.random.default_rng(seed + 1000).random(ids.size) < HELD_OUT].tolist()
    settled = data.consensus.filter(~pl.col("event_id").is_in(hidden))
    held = data.reports.filter(pl.col("event_id").is_in(hidden))
    drift_at = data.truth.drift_at
    truth = data.truth_events.select(
        *KEY,
        pl.col("f_true").alias("t"),
        pl.col("true"),
        (pl.col("event_date").cast(pl.Datetime("us", "UTC")) >= drift_at).alias("late"),
    )
    own = data.reports.filter(pl.col("cites").is_null())
    counts = own.group_by("outlet", "stratum").len("n_own")
    planted = data.truth_outlets.unpivot(
        on=["bias_side_a", "bias_side_b"], index=["outlet", "drift"], value_name="former"
    ).with_columns(pl.col("variable").str.strip_prefix("bias_").alias("stratum"))
    cells = planted.join(counts, on=["outlet", "stratum"]).select(
        "outlet",
        "stratum",
        "n_own",
        "former",
        (pl.col("former") + pl.col("drift")).alias("current"),
        (pl.col("drift") != 0).alias("drifting"),
    )
    lag = own.select("report_id").join(data.truth_reports, on="report_id")
    bins = lag_bins(lag["lag_days"].to_numpy())
    effect = lag["lag_effect"].to_numpy()
    lag_counts = np.bincount(bins, minlength=len(LAG_EDGES))
    lag_truth = np.array(
        [effect[bins == k].mean() if lag_counts[k] else np.nan for k in range(len(LAG_EDGES))]
    )
    return Seeded(data, settled, held, truth, cells, lag_truth, lag_counts)


def _strip(frame: pl.DataFrame, variant: Variant) -> pl.DataFrame:
    return (
        frame.with_columns(pl.lit(None, pl.String).alias("cites")) if variant.strip_cites else frame
    )


def fused_scores(model: OutletModel, reports: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    """Withheld quantities fused, with their truth, 90% width and whether it covers the truth."""
    return (
        model.fuse_quantities(reports)
        .join(truth, on=KEY, nulls_equal=True)
        .with_columns(
            (pl.col("q50") - pl.col("t")).abs().alias("err"),
            (pl.col("q95") - pl.col("q05")).alias("width"),
            ((pl.col("lo90") <= pl.col("true")) & (pl.col("true") <= pl.col("hi90"))).alias(
                "covered"
            ),
        )
    )


def fitted_cells(model: OutletModel, cells: pl.DataFrame) -> pl.DataFrame:
    """Each planted cell with its fitted bias interval: the stratum's, else the outlet's."""
    rows = [
        {
            "outlet": score.outlet,
            "stratum": stratum,
            "estimate": interval.estimate,
            "lo": interval.lo90,
            "hi": interval.hi90,
        }
        for score in model.outlets_
        for stratum in ("side_a", "side_b")
        for interval in [next((s.bias for s in score.strata if s.stratum == stratum), score.bias)]
    ]
    return cells.join(pl.DataFrame(rows), on=["outlet", "stratum"]).with_columns(
        ((pl.col("lo") <= pl.col("current")) & (pl.col("current") <= pl.col("hi"))).alias("hit")
    )


def lag_hits(model: OutletModel, seeded: Seeded) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Per lag bin: 1 if the 90% interval covers the planted relative effect, 0 if not, nan
    for bins that are thin or absent (or for a model without the lag effect)."""
    hits = np.full(len(LAG_EDGES), np.nan)
    lag = model.metrics_[KILLED.name].lag
    if lag is None:
        return hits
    reference = int(np.flatnonzero(np.array(lag.effect) == 0.0)[0])
    relative = seeded.lag_truth - seeded.lag_truth[reference]
    big = (seeded.lag_counts >= MIN_LAG_REPORTS) & (np.arange(len(LAG_EDGES)) != reference)
    inside = (np.array(lag.lo90) <= relative) & (relative <= np.array(lag.hi90))
    hits[big] = inside[big].astype(np.float64)
    return hits


def evaluate(seeded: Seeded, variant: Variant) -> dict[str, Any]:
    data = seeded.data
    model = OutletModel(cv_folds=0, **variant.options).fit(
        _strip(data.reports, variant), seeded.settled, data.outlets
    )
    held = _strip(seeded.held, variant)
    fused = fused_scores(model, held, seeded.truth)
    copied = held.filter(pl.col("cites").is_not_null()).select(KEY).unique()
    if variant.strip_cites:
        copied = seeded.held.filter(pl.col("cites").is_not_null()).select(KEY).unique()
    with_copies = fused.join(copied, on=KEY, nulls_equal=True)
    originals = seeded.held.filter(pl.col("cites").is_null())
    without = fused_scores(model, originals, seeded.truth).join(copied, on=KEY, nulls_equal=True)
    cells = fitted_cells(model, seeded.cells)
    stable = cells.filter(~pl.col("drifting") & (pl.col("n_own") >= MIN_CELL_REPORTS))
    drifting = cells.filter(pl.col("drifting") & (pl.col("n_own") >= MIN_DRIFT_REPORTS))
    big = drifting.filter(pl.col("n_own") >= BIG_DRIFT_REPORTS)
    return {
        "mae": fused["err"].mean(),
        "mae_late": fused.filter("late")["err"].mean(),
        "cover": fused["covered"].mean(),
        "width": fused["width"].mean(),
        "bias_cover": cells.filter(pl.col("n_own") >= MIN_CELL_REPORTS)["hit"].mean(),
        "stable_cover": stable["hit"].mean(),
        "drift_err": (drifting["estimate"] - drifting["current"]).abs().mean(),
        "drift_err_former": (drifting["estimate"] - drifting["former"]).abs().mean(),
        "drift_cover": drifting["hit"].mean(),
        "big_err": (big["estimate"] - big["current"]).abs().mean(),
        "big_err_former": (big["estimate"] - big["former"]).abs().mean(),
        "big_cover": big["hit"].mean(),
        "n_big_cells": big.height,
        "drift_width": (drifting["hi"] - drifting["lo"]).mean(),
        "n_drift_cells": drifting.height,
        "copy_width": with_copies["width"].mean(),
        "copy_cover": with_copies["covered"].mean(),
        "nocopy_width": without["width"].mean(),
        "nocopy_cover": without["covered"].mean(),
        "n_copy_events": with_copies.height,
        "lag_hits": lag_hits(model, seeded),
    }


def _mean(results: list[dict[str, Any]], key: str) -> float:
    return float(np.mean([r[key] for r in results]))


def _table(
    header: list[str], rows: list[tuple[str, list[dict[str, Any]]]], cells: list[Callable[..., str]]
) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    out += ["| " + " | ".join([name, *(f(r) for f in cells)]) + " |" for name, r in rows]
    return out


def report(results: dict[str, list[dict[str, Any]]], seeds: list[Seeded]) -> list[str]:
    if set(results) == set(RECENCY):
        return drift_table(results)
    full = results["full (half-life 365 d)"]
    lines = ["", "(a) Lag curve, full model: planted effect relative to the reference bin", ""]
    hits = np.array([r["lag_hits"] for r in full])
    planted = np.array([s.lag_truth for s in seeds])
    lines += [
        "| lag bin (days) | planted (mean over seeds) | 90% interval covers |",
        "|---|---:|---:|",
    ]
    for k, edge in enumerate(LAG_EDGES):
        column = hits[:, k]
        seen = column[~np.isnan(column)]
        if seen.size:
            lines.append(
                f"| {edge:g}+ | {np.nanmean(planted[:, k]):+.3f} | {int(seen.sum())}/{seen.size} |"
            )
    pooled = hits[~np.isnan(hits)]
    lines.append(
        f"\nPooled over bins and seeds: {pooled.mean():.2f} ({int(pooled.sum())}/{pooled.size})."
    )

    lines += ["", "(b, e) Ablation: fused accuracy on withheld quantities, bias coverage", ""]
    lines += _table(
        [
            "variant",
            "fused MAE (log)",
            "MAE, events after drift",
            "fused 90% cov",
            "fused 90% width (log)",
            "bias cov, all cells (current)",
            "(b) stratum-bias cov, stable outlets",
            "lag bins covered",
        ],
        list(results.items()),
        [
            lambda r: f"{_mean(r, 'mae'):.4f}",
            lambda r: f"{_mean(r, 'mae_late'):.4f}",
            lambda r: f"{_mean(r, 'cover'):.3f}",
            lambda r: f"{_mean(r, 'width'):.3f}",
            lambda r: f"{_mean(r, 'bias_cover'):.3f}",
            lambda r: f"{_mean(r, 'stable_cover'):.3f}",
            _lag_share,
        ],
    )

    lines += drift_table(results)

    lines += ["", "(d) Withheld quantities with copied reports: fused 90% intervals", ""]
    lines += _table(
        [
            "model",
            "width with copies",
            "width copies removed",
            "cov with copies",
            "cov copies removed",
        ],
        [(name, results[name]) for name in ("full (half-life 365 d)", "cites stripped")],
        [
            lambda r: f"{_mean(r, 'copy_width'):.4f}",
            lambda r: f"{_mean(r, 'nocopy_width'):.4f}",
            lambda r: f"{_mean(r, 'copy_cover'):.3f}",
            lambda r: f"{_mean(r, 'nocopy_cover'):.3f}",
        ],
    )
    n_copy = [r["n_copy_events"] for r in full]
    lines.append(f"\nWithheld quantities with copies per seed: {n_copy}.")
    return lines


def drift_table(results: dict[str, list[dict[str, Any]]]) -> list[str]:
    lines = ["", "(c) Drifting outlets' cells: fitted stratum bias vs current (end) bias", ""]
    lines += _table(
        [
            "recency",
            "MAE to current",
            "MAE to former",
            "90% cov of current",
            "mean 90% width",
            f"MAE to current, cells >= {BIG_DRIFT_REPORTS} reports",
            "MAE to former, same",
            "90% cov of current, same",
        ],
        [(name, results[name]) for name in RECENCY],
        [
            lambda r: f"{_mean(r, 'drift_err'):.3f}",
            lambda r: f"{_mean(r, 'drift_err_former'):.3f}",
            lambda r: f"{_mean(r, 'drift_cover'):.3f}",
            lambda r: f"{_mean(r, 'drift_width'):.3f}",
            lambda r: f"{_mean(r, 'big_err'):.3f}",
            lambda r: f"{_mean(r, 'big_err_former'):.3f}",
            lambda r: f"{_mean(r, 'big_cover'):.3f}",
        ],
    )
    full = results["full (half-life 365 d)"]
    n_cells = [(r["n_drift_cells"], r["n_big_cells"]) for r in full]
    lines.append(
        f"\nDrifting cells per seed (>= {MIN_DRIFT_REPORTS}, >= {BIG_DRIFT_REPORTS} own "
        f"reports): {n_cells}."
    )
    return lines


def _lag_share(results: list[dict[str, Any]]) -> str:
    hits = np.array([r["lag_hits"] for r in results])
    seen = hits[~np.isnan(hits)]
    return f"{int(seen.sum())}/{seen.size}" if seen.size else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds 1 .. N")
    parser.add_argument(
        "--recency-only",
        action="store_true",
        help="only the half-life and drift variants, table (c)",
    )
    args = parser.parse_args()
    variants = {k: VARIANTS[k] for k in RECENCY} if args.recency_only else VARIANTS
    print(provenance())
    print(f"nproc {os.cpu_count()}; load average at start {os.getloadavg()}")
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
    seeds = []
    for seed in range(1, args.seeds + 1):
        seeded = prepare(seed)
        seeds.append(seeded)
        for name, variant in variants.items():
            results[name].append(evaluate(seeded, variant))
        print(f"seed {seed} done; load average {os.getloadavg()}", flush=True)
    print("\n".join(report(results, seeds)))


if __name__ == "__main__":
    main()
