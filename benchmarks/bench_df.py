"""Cost of ``df="auto"``: fit time against a fixed df, interleaved in one process.

One ``core`` synthetic dataset is fitted alternately with ``df=4`` and ``df="auto"`` (no
cross-validation); the medians and their ratio are printed with the chosen df and the
criterion of every candidate. Interleaving keeps the ratio honest on a shared machine.

    .venv/bin/python benchmarks/bench_df.py --reports 100000 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Sequence

from reliability.outlet_model import OutletModel
from reliability.synth import generate, preset


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    n = args.reports
    data = generate(preset("core", n_outlets=n // 25, n_events=n // 5, n_reports=n, seed=args.seed))
    print(f"core preset, {n:,} reports; load average {os.getloadavg()}")
    seconds: dict[str, list[float]] = {"4": [], "auto": []}
    chosen = None
    for _ in range(args.rounds):
        for label, times in seconds.items():
            started = time.perf_counter()
            model = OutletModel(df="auto" if label == "auto" else 4.0, cv_folds=0).fit(
                data.reports, data.consensus, data.outlets
            )
            times.append(time.perf_counter() - started)
            if label == "auto":
                chosen = model.metrics_["killed"]
    for label, times in seconds.items():
        print(f"df={label}: median fit {statistics.median(times):.1f} s over {len(times)} rounds")
    ratio = statistics.median(seconds["auto"]) / statistics.median(seconds["4"])
    print(f"ratio auto / fixed: {ratio:.1f}")
    if chosen is not None and chosen.df_selection is not None:
        print(f"chosen df {chosen.df:g}; marginal log-likelihood by candidate:")
        for df, value in zip(
            chosen.df_selection.candidates, chosen.df_selection.log_likelihood, strict=True
        ):
            print(f"  df {df:g}: {value:.1f}")
    print(f"load average {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
