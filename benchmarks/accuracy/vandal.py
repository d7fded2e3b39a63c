"""Unsupervised fusion against vandal-style figures: the model vs median and CATD.

Method. The synthetic ``core`` preset with no consensus at all, long-tailed event sizes
(``log(T+1) ~ N(2.5, 2.0^2)``: median 11, 1% above about 1,300, the largest of 4,000 events
in the tens of thousands), many sources (2,000 outlets for 16,000 reports, so about half of
them make a single claim) and vandal-style figures: 1% of reports multiplied or divided by
10, 100 or 1000 (``p_gross``) and 1% with one digit typed twice (``p_typo``, 123 -> 1233).
The model is fitted with ``consensus=None`` (biases identified only up to the report-weighted
mean-zero constraint, truths latent) and fuses every event; median and CATD
(``reliability/baselines``) are fitted on the same claims (each report as one log-scale
point). Every method is scored against the planted true count, on the natural scale (mean
absolute error in deaths) and on the log scale (``|f(estimate) - f(T)|``).

The model gives two natural-scale point estimates: ``estimate`` (the posterior median count)
and ``mean`` (the posterior mean count). Absolute error is minimised by the median of the
predictive distribution, so the median is the one to compare; the mean is shown because on
a long-tailed natural scale the right tail of the posterior pulls it up, and that costs
exactly the large events that dominate a natural-scale MAE.

Reading (``benchmarks/RESULTS.md`` has the numbers). Without a settled figure no method can
learn the shift that all outlets share: the model fixes it by the report-weighted mean-zero
bias constraint, so its figures sit at what an average report says, about +0.21 on the log
scale here (the planted report-weighted mean bias is +0.205); the median sits at the median
claim, whose shift is smaller (about +0.07) because "at least" claims enter it at their lower
bound and the median of a few claims from a right-skewed mix of group biases falls below their
mean. That shift, not the vandal figures, is where the model loses log-scale MAE to the median,
and on the natural scale it costs 23% of every large event, which dominate that MAE. With each
method's own shift removed (the part of the error a method can identify) the model's posterior
median is the most accurate on both scales (on the natural scale, on every seed). The posterior
mean is no point estimate here: a single "at least L" claim leaves the log-scale posterior open
above up to the prior's support, and with t tails the natural-scale mean of ``exp`` of it is
set by that far tail: its natural-scale MAE is about a hundred times the posterior median's.

    .venv/bin/python -m benchmarks.accuracy.vandal --seeds 3
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import numpy as np
import polars as pl

from reliability.baselines import CATD, Claims, MedianBaseline
from reliability.outlet_model import OutletModel
from reliability.scales import Scale
from reliability.synth import KILLED, MetricSpec, SynthData, generate, preset

from . import provenance

KEY = ["event_id", "metric", "stratum"]
LONG_TAILED = MetricSpec(name=KILLED.name, scale=KILLED.scale, mean=2.5, sd=2.0)


def simulate(seed: int) -> SynthData:
    return generate(
        preset(
            "core",
            metrics=(LONG_TAILED,),
            n_outlets=6000,
            n_events=4000,
            n_reports=20000,
            p_gross=0.01,
            p_typo=0.01,
            p_consensus=0.0,
            seed=seed,
        )
    )


def _errors(name: str, natural: np.ndarray[Any, Any], truth: pl.DataFrame) -> dict[str, Any]:
    true = truth["true"].to_numpy()
    vandal = truth["vandal"].to_numpy()
    error = np.abs(natural - true)
    signed = np.log1p(natural) - np.log1p(true)
    log_error = np.abs(signed)
    # No method without a settled figure can learn the common shift of all outlets' biases;
    # removing each method's own median shift leaves the part of the error it can identify.
    shifted = np.abs(signed - np.median(signed))
    unshifted = np.expm1(np.log1p(natural) - np.median(signed))
    big = true >= np.quantile(true, 0.99)
    return {
        "method": name,
        "mae": float(error.mean()),
        "mae_log": float(log_error.mean()),
        "shift": float(np.median(signed)),
        "mae_log_unshifted": float(shifted.mean()),
        "mae_unshifted": float(np.abs(unshifted - true).mean()),
        "mae_vandal": float(error[vandal].mean()),
        "mae_log_vandal": float(log_error[vandal].mean()),
        "mae_top1": float(error[big].mean()),
        "share_top1": float(error[big].sum() / error.sum()),
    }


def planted_shift(data: SynthData) -> float:
    """The report-weighted mean of the planted outlet biases (log scale)."""
    outlets = data.truth_outlets
    return float(np.average(outlets["bias"].to_numpy(), weights=outlets["n_reports"].to_numpy()))


def run(data: SynthData, dfs: list[float]) -> dict[str, list[dict[str, Any]]]:
    """Scores of the baselines and of the model (median and mean, per ``df``) on one data set.

    Keyed by the truth scored against: ``planted`` (the generator's truth) and ``constraint``
    (the same truth re-expressed so that the report-weighted mean outlet bias is zero).
    """
    vandal = (
        data.reports.join(data.truth_reports, on="report_id")
        .group_by(KEY)
        .agg(((pl.col("gross_power") != 0) | pl.col("typo")).any().alias("vandal"))
    )
    claims, events, _ = Claims.from_frame(data.reports, Scale.LOG)
    planted = (
        events.join(data.truth_events, on=KEY, how="left", nulls_equal=True, maintain_order="left")
        .join(vandal, on=KEY, how="left", nulls_equal=True, maintain_order="left")
        .select(*KEY, "true", "vandal")
    )
    # Moving every truth up by the mean bias on the log scale is the same data as outlets whose
    # report-weighted mean bias is zero: the constraint the unsupervised fit is identified by.
    shift = planted_shift(data)
    constraint = planted.with_columns((pl.col("true").log1p() + shift).exp().sub(1.0).alias("true"))
    estimates: list[tuple[str, np.ndarray[Any, Any], float | None]] = [
        (name, np.expm1(make().fit(claims).truths_), None)
        for name, make in (("median", MedianBaseline), ("CATD", CATD))
    ]
    for df in dfs:
        start = time.perf_counter()
        model = OutletModel(cv_folds=0, df=df).fit(data.reports, None, data.outlets)
        seconds = time.perf_counter() - start
        fused = planted.select(KEY).join(
            model.fuse_quantities(data.reports), on=KEY, how="left", nulls_equal=True
        )
        for column in ("estimate", "mean"):
            name = f"model (df={df:g}), posterior {column}"
            estimates.append((name, fused[column].to_numpy(), seconds))
    return {
        label: [
            {**_errors(name, natural, truth), "seconds": seconds}
            for name, natural, seconds in estimates
        ]
        for label, truth in (("planted", planted), ("constraint", constraint))
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds 1 .. N")
    parser.add_argument("--df", type=float, nargs="+", default=[4.0])
    args = parser.parse_args()
    print(provenance())
    print(f"nproc {os.cpu_count()}; load average at start {os.getloadavg()}")
    results: dict[str, dict[str, list[dict[str, Any]]]] = {"constraint": {}, "planted": {}}
    for seed in range(1, args.seeds + 1):
        data = simulate(seed)
        singles = float(np.mean(data.reports.group_by("outlet").len()["len"].to_numpy() == 1))
        print(
            f"seed {seed}: {data.reports.height} reports, single-claim outlets {singles:.2f}, "
            f"planted report-weighted mean bias {planted_shift(data):+.3f}"
        )
        for label, rows in run(data, args.df).items():
            for row in rows:
                results[label].setdefault(row["method"], []).append(row)
        print(f"seed {seed} done; load average {os.getloadavg()}", flush=True)
    columns = (
        "mae",
        "mae_log",
        "shift",
        "mae_log_unshifted",
        "mae_unshifted",
        "mae_vandal",
        "mae_log_vandal",
        "mae_top1",
        "share_top1",
    )
    titles = {
        "constraint": "Scored against the truth under the identifiability constraint "
        "(report-weighted mean outlet bias zero)",
        "planted": "Scored against the planted truth (outlets' mean bias not zero)",
    }
    for label, by_method in results.items():
        print(f"\n{titles[label]}:\n")
        print(
            "| method | MAE natural | MAE log | median log error (shift) | MAE log, own shift "
            "removed | MAE natural, own shift removed | MAE natural, events with a vandal "
            "figure | MAE log, same | MAE natural, top 1% events | top 1%'s share of natural "
            "error |"
        )
        print("|---|" + "---:|" * len(columns))
        for method, rows in by_method.items():
            cells = [f"{np.mean([r[c] for r in rows]):.3f}" for c in columns]
            print(f"| {method} | " + " | ".join(cells) + " |")
        print("\nPer seed, natural-scale MAE (own shift removed):")
        for method, rows in by_method.items():
            print(
                f"  {method}: "
                + ", ".join(f"{r['mae']:.2f} ({r['mae_unshifted']:.2f})" for r in rows)
            )


if __name__ == "__main__":
    main()
