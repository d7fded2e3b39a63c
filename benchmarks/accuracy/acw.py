"""American Civil War battles (``seeds/acw``): cross-validated accuracy and bias by side.

1. Cross-validation by battle: every battle (both sides, every metric) is held out once, its
   reports fused with parameters fitted on the other battles, and the fused figure compared
   with the NPS consensus: MAE on the log scale against the median, mean, CATD, GTM and CRH
   baselines (which use no consensus, on every claim), and 50%/90% interval coverage
   (target 85-95% for 90%). Folds follow ``reliability.crossval`` (same seeded split); the
   per-event results are kept here so they can be broken down by side and report count.
   ``model`` scores the reported figure (the whole-number posterior median, ``estimate``) on
   the model scale; ``model_q50`` the latent continuous median, which for a count of 0 sits
   near log 1.2 although the reported count is 0.
2. Each source's bias by belligerent (issue #4): the model's stratum biases ``b_o + delta_os``
   from one fit on every battle, with 90% intervals, the factor exp(bias), the number of
   reports, and whether the interval excludes the source's overall bias and zero.
3. The earlier check of the same question: reports and consensus restricted to one side and
   fitted separately, each source's bias per side.

Mind the circularity ``docs/datasets.md`` describes: the consensus is built from CWSS and
CWSAC, and Kennedy follows NPS closely, so those sources look accurate by construction.

    .venv/bin/python -m benchmarks.accuracy.acw
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

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
DF = float | Literal["auto"]


def cross_validated(dataset: Dataset, folds: int, seed: int, df: DF = 4.0) -> pl.DataFrame:
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
        model = OutletModel(scales=dataset.scales, df=df, cv_folds=0, seed=seed).fit(
            reports.filter(~inside), consensus.filter(~inside), registry
        )
        chosen = {m: p.df for m, p in model.metrics_.items()}
        print(f"fold {fold}: df {chosen}", flush=True)
        test = reports.filter(inside & pl.col("metric").is_in(list(model.metrics_)))
        test = test.join(settled, on=KEY, nulls_equal=True)
        parts.append(model.fuse_quantities(test, truth=truth))
    fused = pl.concat(parts).join(truth, on=KEY, nulls_equal=True)
    fused = fused.with_columns(
        truth=pl.Series(_truth_point(fused, dataset.scales)),
        reported=pl.Series(_on_model_scale(fused, dataset.scales)),
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


def _on_model_scale(frame: pl.DataFrame, scales: dict[str, Scale]) -> list[float]:
    """Each row's reported ``estimate`` on its metric's model scale."""
    out = np.empty(frame.height)
    metric = frame["metric"].to_numpy()
    for name in np.unique(metric):
        rows = metric == name
        scale = Scale(scales.get(str(name), Scale.LOG))
        out[rows] = scale.forward(frame["estimate"].to_numpy()[rows])
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
            (pl.col("reported") - pl.col("truth")).abs().mean().alias("model"),
            (pl.col("q50") - pl.col("truth")).abs().mean().alias("model_q50"),
            *[(pl.col(f"b_{b}") - pl.col("truth")).abs().mean().alias(b) for b in BASELINE_NAMES],
            ((pl.col("lo50") <= value) & (value <= pl.col("hi50")))
            .filter(exact)
            .mean()
            .alias("cov50"),
            ((pl.col("lo90") <= value) & (value <= pl.col("hi90")))
            .filter(exact)
            .mean()
            .alias("cov90"),
            (pl.col("reported") - pl.col("truth")).mean().alias("model_signed"),
        )
        .sort(by)
    )


def full_fit(dataset: Dataset, df: DF = 4.0) -> OutletModel:
    """The model fitted on every battle's reports and consensus."""
    return OutletModel(scales=dataset.scales, df=df, cv_folds=0).fit(
        dataset.reports, _consensus(dataset), _registry(dataset)
    )


def stratum_bias_table(model: OutletModel) -> pl.DataFrame:
    """Each source's bias per belligerent (its stratum bias), against its overall bias and 0."""
    rows = [
        {
            "outlet": s.outlet,
            "metric": s.metric,
            "stratum": cell.stratum,
            "n": cell.n_reports,
            "bias": cell.bias.estimate,
            "lo90": cell.bias.lo90,
            "hi90": cell.bias.hi90,
            "overall": s.bias.estimate,
        }
        for s in model.outlets_
        for cell in s.strata
    ]
    inside = pl.col("lo90").le(pl.col("overall")) & pl.col("overall").le(pl.col("hi90"))
    return (
        pl.DataFrame(rows)
        .with_columns(
            factor=pl.col("bias").exp(),
            excludes_overall=~inside,
            excludes_zero=(pl.col("lo90") > 0) | (pl.col("hi90") < 0),
        )
        .sort("metric", "outlet", "stratum")
    )


def spread_check(dataset: Dataset, model: OutletModel) -> pl.DataFrame:
    """Per source: fitted spread against the empirical spread of its errors (casualties).

    Errors are log(report + 1) - log(consensus + 1) over exact reports of exact consensus;
    ``fitted_sd`` is the t standard deviation sigma * sqrt(df / (df - 2)) (none for df <= 2).
    """
    exact = (pl.col("low") == pl.col("high")) & pl.col("low").is_not_null()
    truth = _consensus(dataset).filter(exact).select(*KEY, pl.col("low").alias("t"))
    errors = (
        dataset.reports.filter(exact & pl.col("cites").is_null())
        .join(truth, on=KEY, nulls_equal=True)
        .select("outlet", "metric", err=(pl.col("low") + 1).log() - (pl.col("t") + 1).log())
    )
    nu = model.metrics_["casualties"].df
    inflate = float(np.sqrt(nu / (nu - 2))) if nu > 2 else float("nan")
    fitted = pl.DataFrame(
        {
            "outlet": [s.outlet for s in model.outlets_],
            "metric": [s.metric for s in model.outlets_],
            "sigma": [s.sd.estimate for s in model.outlets_],
        }
    ).with_columns(fitted_sd=pl.col("sigma") * inflate)
    return (
        errors.group_by("outlet", "metric")
        .agg(
            pl.len().alias("n"),
            (pl.col("err") == 0).mean().alias("exact_share"),
            pl.col("err").std().alias("sd"),
            ((pl.col("err") - pl.col("err").median()).abs().median() * 1.4826).alias("mad_sd"),
            pl.col("err").abs().quantile(0.9).alias("abs_q90"),
        )
        .join(fitted, on=["outlet", "metric"])
        .filter(pl.col("metric") == "casualties")
        .sort("outlet")
    )


def bias_by_side(dataset: Dataset, df: DF = 4.0) -> pl.DataFrame:
    """Each source's bias per metric, fitted separately on each side's reports and consensus."""
    consensus, registry = _consensus(dataset), _registry(dataset)
    parts = []
    for side in SIDES:
        on_side = pl.col("stratum") == side
        model = OutletModel(scales=dataset.scales, df=df, cv_folds=0).fit(
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
    parser.add_argument(
        "--df", type=_df, default=4.0, help="Student-t df, or 'auto' to estimate (default 4)"
    )
    args = parser.parse_args(argv)
    print(provenance())
    pl.Config.set_tbl_rows(200)
    pl.Config.set_tbl_cols(30)
    pl.Config.set_tbl_width_chars(250)
    pl.Config.set_float_precision(3)

    dataset = load_dataset(args.dataset)
    results = cross_validated(dataset, args.folds, args.seed, args.df)
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
    appomattox = (pl.col("event_id") == "VA097") & (pl.col("stratum") == "Confederate")
    print("\nCasualties without Appomattox, Confederate (VA097; consensus 28,305 = the army):")
    print(accuracy(results.filter((pl.col("metric") == "casualties") & ~appomattox), ["metric"]))
    print("\nCasualties by whether CWSS (the consensus's own source) reports the quantity:")
    cwss = dataset.reports.filter(pl.col("outlet") == "cwss").select(KEY).unique()
    with_cwss = results.join(
        cwss.with_columns(cwss=pl.lit(True)), on=KEY, how="left", nulls_equal=True
    ).with_columns(pl.col("cwss").fill_null(False))
    print(accuracy(with_cwss.filter(pl.col("metric") == "casualties"), ["cwss"]))
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
    model = full_fit(dataset, args.df)
    casualties = model.metrics_["casualties"]
    print(
        f"\nFitted on every battle: df {casualties.df:g} (candidates and marginal "
        f"log-likelihood: {casualties.df_selection}), event sd {casualties.event_sd:.4f}, "
        f"typical sd {casualties.typical_sd:.4f}"
    )
    print("\nSpread per source (casualties): fitted t sd vs the empirical sd of its errors:")
    print(spread_check(dataset, model))
    print("\nBias by belligerent (stratum bias, log scale, 90% interval; one fit on all battles):")
    print(stratum_bias_table(model))
    print("\nBias by side (log scale; factor = exp(bias); fitted on each side alone):")
    print(bias_by_side(dataset, args.df))
    return 0


def _df(text: str) -> DF:
    return "auto" if text == "auto" else float(text)


if __name__ == "__main__":
    raise SystemExit(main())
