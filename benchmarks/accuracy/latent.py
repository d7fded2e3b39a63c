"""Latent consensus: fused accuracy on events whose consensus is withheld.

Synthetic ``core`` data; consensus is withheld for 50% and for 90% of events. On the withheld
events, compare the fit that uses unsettled events (latent consensus, the default) with the
supervised-only fit and with CATD and GTM run on the same claims; then fit with no consensus
at all and check the identifiability constraint. Prints a Markdown table.

    .venv/bin/python -m benchmarks.accuracy.latent
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import polars as pl

from reliability.baselines import CATD, GTM, Claims
from reliability.outlet_model import OutletModel
from reliability.scales import Scale
from reliability.synth import SynthData, generate, preset

from . import provenance

KEY = ["event_id", "metric", "stratum"]


def _score(fused: pl.DataFrame, truth: pl.DataFrame) -> tuple[float, float]:
    joined = fused.join(truth, on=KEY, nulls_equal=True)
    t = joined["t"].to_numpy()
    count = np.expm1(t).round()
    covered = (joined["lo90"].to_numpy() <= count) & (count <= joined["hi90"].to_numpy())
    return float(np.mean(np.abs(joined["q50"].to_numpy() - t))), float(np.mean(covered))


def run(data: SynthData, shares: list[float]) -> list[str]:
    truth = data.truth_events.select(*KEY, pl.col("true").log1p().alias("t"))
    claims, events, _ = Claims.from_frame(data.reports.filter(pl.col("cites").is_null()), Scale.LOG)
    baselines = {
        name: events.with_columns(pl.Series("q50", make().fit(claims).truths_))
        for name, make in (("CATD", CATD), ("GTM", GTM))
    }
    rows = [
        "| consensus withheld | method | MAE (log scale) | 90% coverage | fit s |",
        "|---|---|---:|---:|---:|",
    ]
    ids = data.consensus["event_id"].unique().sort().to_numpy()
    for share in shares:
        hidden = ids[np.random.default_rng(1).random(ids.size) < share].tolist()
        settled = data.consensus.filter(~pl.col("event_id").is_in(hidden))
        held = data.reports.filter(pl.col("event_id").is_in(hidden))
        for label, latent in (("model, latent consensus", True), ("model, supervised only", False)):
            start = time.perf_counter()
            model = OutletModel(cv_folds=0, latent_consensus=latent).fit(
                data.reports, settled, data.outlets
            )
            seconds = time.perf_counter() - start
            mae, cover = _score(model.fuse_quantities(held), truth)
            rows.append(f"| {share:.0%} | {label} | {mae:.4f} | {cover:.3f} | {seconds:.1f} |")
        for name, frame in baselines.items():
            on_held = frame.filter(pl.col("event_id").is_in(hidden)).join(
                truth, on=KEY, nulls_equal=True
            )
            mae = float(np.mean(np.abs(on_held["q50"].to_numpy() - on_held["t"].to_numpy())))
            rows.append(f"| {share:.0%} | {name} | {mae:.4f} | - | - |")
    model = OutletModel(cv_folds=0).fit(data.reports, None, data.outlets)
    active = [s for s in model.outlets_ if s.n_reports > 0]
    mean_bias = np.average([s.bias.estimate for s in active], weights=[s.n_reports for s in active])
    mae, cover = _score(model.fuse_quantities(data.reports), truth)
    rows.append(f"| 100% | model, unsupervised | {mae:.4f} | {cover:.3f} | - |")
    rows.append("")
    rows.append(
        f"Unsupervised: report-weighted mean outlet bias = {mean_bias:.2e} (constraint: 0)."
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=21)
    args = parser.parse_args()
    print(provenance())
    data = generate(preset("core", n_outlets=400, n_events=6000, n_reports=30000, seed=args.seed))
    print("\n".join(run(data, [0.5, 0.9])))


if __name__ == "__main__":
    main()
