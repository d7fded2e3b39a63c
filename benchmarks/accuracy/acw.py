"""American Civil War battles (``seeds/acw``): cross-validated accuracy and bias by side.

1. Cross-validation by battle: every battle (both sides, every metric) is held out once, its
   reports fused with parameters fitted on the other battles, and the fused figure compared
   with the NPS consensus: MAE on the log scale against the median, mean, CATD, GTM and CRH
   baselines (which use no consensus, on every claim), and 50%/90% interval coverage
   (target 85-95% for 90%). Folds follow ``reliability.crossval`` (same seeded split); the
   per-event results are kept here so they can be broken down by side and report count.
2. Each source's bias by belligerent: reports and consensus are restricted to one side (US or
   Confederate) and fitted separately, giving each source's bias (log scale, with its 90%
   interval and as a factor) per side.

Mind the circularity ``docs/datasets.md`` describes: the consensus is built from CWSS and
CWSAC, and Kennedy follows NPS closely, so those sources look accurate by construction.

    .venv/bin/python -m benchmarks.accuracy.acw
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl

from reliability.baselines import BASELINES, Claims
from reliability.dataset import Dataset, load_dataset
from reliability.frames import QUANTITY_KEY
from reliability.intervals import truth_interval, truth_point
from reliability.outlet_model import OutletModel
from reliability.scales import Scale

from . import provenance

ROOT = Path(__file__).resolve().parents[2]
DATASET = ROOT / "seeds" / "acw" / "dataset.toml"
KEY = list(QUANTITY_KEY)
SIDES = ("US", "Confederate")
BASELINE_NAMES = ("median", "mean", "catd", "gtm", "crh")
REPORT_BINS = (("1", 1, 1), ("2", 2, 2), ("3-5", 3, 5), ("6+", 6, 10**9))


def cross_validated(dataset: Dataset, folds: int, seed: int) -> pl.DataFrame:
    """Held-out fused results per (battle, metric, side), with the consensus and baselines."""
    reports, consensus = dataset.reports, _consensus(dataset)
    registry = _registry(dataset)
    settled = consensus.select(KEY).unique()
    events = reports.join(settled, on=KEY, nulls_equal=True)["event_id"].unique().sort()
    order = np.random.default_rng(seed).permutation(events.len())
    fold_of = pl.DataFrame({"event_id": events, "fold": (order % folds).astype(np.int64)})
    truth = consensus.select(*KEY, "low", "high")
    parts = []
    for fold in range(folds):
        held = fold_of.filter(pl.col("fold") == fold)["event_id"].implode()
        inside = pl.col("event_id").is_in(held)
        model = OutletModel(scales=dataset.scales, cv_folds=0, seed=seed).fit(
            reports.filter(~inside), consensus.filter(~inside), registry
        )
        test = reports.filter(inside & pl.col("metric").is_in(list(model.metrics_)))
        test = test.join(settled, on=KEY, nulls_equal=True)
        parts.append(model.fuse_quantities(test, truth=truth))
    fused = pl.concat(parts).join(truth, on=KEY, nulls_equal=True)
    fused = fused.with_columns(
        truth=pl.Series(_truth_point(fused, dataset.scales)),
    )
    return fused.join(_baselines(dataset), on=KEY, how="left", nulls_equal=True)


def _consensus(dataset: Dataset) -> pl.DataFrame:
    if dataset.consensus is None:
        raise ValueError(f"{DATASET}: the dataset has no consensus to validate against")
    return dataset.consensus


def _registry(dataset: Dataset) -> pl.DataFrame | None:
    return dataset.registry.frame if dataset.registry is not None else None


def _truth_point(frame: pl.DataFrame, scales: dict[str, Scale]) -> list[float]:
    """The consensus on each row's model scale (the midpoint of a settled range)."""
    out = np.empty(frame.height)
    metric = frame["metric"].to_numpy()
    for name in np.unique(metric):
        rows = metric == name
        scale = Scale(scales.get(str(name), Scale.LOG))
        lo, hi = truth_interval(
            frame["low"].to_numpy()[rows], frame["high"].to_numpy()[rows], scale
        )
        out[rows] = truth_point(lo, hi)
    return out.tolist()


def _baselines(dataset: Dataset) -> pl.DataFrame:
    """Every baseline's estimate of every quantity, per metric, from all original claims."""
    own = dataset.reports.filter(pl.col("cites").is_null())
    parts = []
    for metric in sorted(own["metric"].unique().to_list()):
        scale = Scale(dataset.scales.get(metric, Scale.LOG))
        claims, events, _ = Claims.from_frame(own.filter(pl.col("metric") == metric), scale)
        parts.append(
            events.with_columns(
                pl.Series(f"b_{name}", BASELINES[name]().fit(claims).truths_)
                for name in BASELINE_NAMES
            )
        )
    return pl.concat(parts)


def accuracy(results: pl.DataFrame, by: Sequence[str]) -> pl.DataFrame:
    """MAE (model scale) of the model and the baselines, and interval coverage, per group."""
    exact = pl.col("low") == pl.col("high")
    value = pl.col("low")
    return (
        results.group_by(by)
        .agg(
            pl.len().alias("quantities"),
            (pl.col("q50") - pl.col("truth")).abs().mean().alias("model_mae"),
            *[(pl.col(f"b_{b}") - pl.col("truth")).abs().mean().alias(b) for b in BASELINE_NAMES],
            ((pl.col("lo50") <= value) & (value <= pl.col("hi50")))
            .filter(exact)
            .mean()
            .alias("cov50"),
            ((pl.col("lo90") <= value) & (value <= pl.col("hi90")))
            .filter(exact)
            .mean()
            .alias("cov90"),
            (pl.col("q50") - pl.col("truth")).mean().alias("model_signed"),
        )
        .sort(by)
    )


def bias_by_side(dataset: Dataset) -> pl.DataFrame:
    """Each source's bias per metric, fitted separately on each side's reports and consensus."""
    consensus, registry = _consensus(dataset), _registry(dataset)
    parts = []
    for side in SIDES:
        on_side = pl.col("stratum") == side
        model = OutletModel(scales=dataset.scales, cv_folds=0).fit(
            dataset.reports.filter(on_side), consensus.filter(on_side), registry
        )
        parts.append(
            pl.DataFrame(
                {
                    "outlet": [s.outlet for s in model.outlets_],
                    "metric": [s.metric for s in model.outlets_],
                    "side": side,
                    "n": [s.n_reports for s in model.outlets_],
                    "bias": [s.bias.estimate for s in model.outlets_],
                    "lo90": [s.bias.lo90 for s in model.outlets_],
                    "hi90": [s.bias.hi90 for s in model.outlets_],
                    "sd": [s.sd.estimate for s in model.outlets_],
                }
            ).filter(pl.col("n") > 0)
        )
    long = pl.concat(parts)
    us = long.filter(pl.col("side") == "US").drop("side")
    cs = long.filter(pl.col("side") == "Confederate").drop("side")
    wide = us.join(cs, on=["outlet", "metric"], how="full", coalesce=True, suffix="_csa")
    return wide.with_columns(
        factor=pl.col("bias").exp(),
        factor_csa=pl.col("bias_csa").exp(),
        difference=pl.col("bias_csa") - pl.col("bias"),
        apart=(pl.col("lo90_csa") > pl.col("hi90")) | (pl.col("hi90_csa") < pl.col("lo90")),
    ).sort("metric", "outlet")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--dataset", type=Path, default=DATASET)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(provenance())
    pl.Config.set_tbl_rows(200)
    pl.Config.set_tbl_cols(30)
    pl.Config.set_tbl_width_chars(250)
    pl.Config.set_float_precision(3)

    dataset = load_dataset(args.dataset)
    results = cross_validated(dataset, args.folds, args.seed)
    sized = results.with_columns(
        reports=pl.coalesce(
            pl.when(pl.col("n_reports").is_between(lo, hi)).then(pl.lit(label))
            for label, lo, hi in REPORT_BINS
        )
    )
    print(f"{args.folds}-fold cross-validation by battle (seed {args.seed}); MAE on the log scale")
    print("\nBy metric:")
    print(accuracy(results, ["metric"]))
    print("\nBy metric and side:")
    print(accuracy(results.filter(pl.col("stratum").is_in(SIDES)), ["metric", "stratum"]))
    print("\nCasualties by reports per quantity:")
    print(accuracy(sized.filter(pl.col("metric") == "casualties"), ["reports"]))
    print("\nCasualties, worst held-out misses outside the 90% interval:")
    misses = results.filter(
        (pl.col("metric") == "casualties")
        & ((pl.col("low") < pl.col("lo90")) | (pl.col("low") > pl.col("hi90")))
    )
    print(
        misses.with_columns(err=(pl.col("q50") - pl.col("truth")))
        .sort(pl.col("err").abs(), descending=True)
        .select(*KEY, "n_reports", "low", "estimate", "lo90", "hi90", "err")
        .head(15)
    )
    n_casualties = results.filter(pl.col("metric") == "casualties").height
    print(f"\n{misses.height} casualties misses of {n_casualties}")
    print("\nBias by side (log scale; factor = exp(bias); fitted on each side alone):")
    print(bias_by_side(dataset))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
