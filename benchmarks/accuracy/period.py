"""The period effect on synthetic data: what it costs where there is none, what it buys where
there is one.

For each planted ``tau_c`` (0: the ``core`` preset exactly; and the ``--tau-c`` value: an error
shared by every report of a calendar year, on top of the event error ``tau_u = 0.1``) and each
seed, a ``core`` data set over ten years is drawn and two hold-outs are predicted:

* ``random``: 30% of the events at random; their years are settled in the training data, so
  the fitted period effects are used;
* ``last 2 years``: every event of the last two calendar years; their periods are new, so the
  fused estimate integrates over ``c ~ N(0, tau_c^2)``.

The model is fitted with the period effect off (the default) and on (``period_months=12``); for
each run it prints the fused MAE of the held-out events on the log scale (the whole-number
median against the true count), the coverage of their 90% intervals, the fitted ``tau_u`` and
``tau_c``, and the correlation of the fitted period effects with the planted ones.

    .venv/bin/python -m benchmarks.accuracy.period --seeds 2
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

import numpy as np
import polars as pl

from reliability.frames import QUANTITY_KEY
from reliability.outlet_model import OutletModel
from reliability.synth import SynthData, generate, preset

from . import provenance

KEY = list(QUANTITY_KEY)
HOLDOUTS = ("random", "last 2 years")


def held_out(data: SynthData, holdout: str, seed: int) -> pl.Series:
    """The event ids predicted under ``holdout``."""
    events = data.truth_events.select("event_id", "event_date").unique(
        "event_id", maintain_order=True
    )
    if holdout == "random":
        return events.sample(fraction=0.3, seed=seed)["event_id"]
    last = int(events["event_date"].dt.year().max())  # type: ignore[arg-type]
    return events.filter(pl.col("event_date").dt.year() >= last - 1)["event_id"]


def run(data: SynthData, holdout: str, seed: int, period_months: int | None) -> dict[str, object]:
    held = held_out(data, holdout, seed)
    is_held = pl.col("event_id").is_in(held.implode())
    model = OutletModel(cv_folds=0, period_months=period_months).fit(
        data.reports.filter(~is_held), data.consensus.filter(~is_held), data.outlets
    )
    fused = model.fuse_quantities(data.reports.filter(is_held)).join(
        data.truth_events.select(*KEY, "true", "f_true"), on=KEY, nulls_equal=True
    )
    params = model.metrics_["killed"]
    row: dict[str, object] = {
        "tau_c": data.truth.tau_c,
        "seed": seed,
        "holdout": holdout,
        "period": "on" if period_months else "off",
        "events": fused.height,
        "fused_mae": float(
            np.mean(np.abs(np.log1p(fused["estimate"].to_numpy()) - fused["f_true"].to_numpy()))
        ),
        "cov90": float(
            np.mean(
                (fused["lo90"] <= fused["true"]).to_numpy()
                & (fused["true"] <= fused["hi90"]).to_numpy()
            )
        ),
        "fit_tau_u": params.event_sd,
        "fit_tau_c": None if params.period is None else params.period.sd,
        "corr_c": None,
    }
    if params.period is not None and "period_effect" in data.truth_events.columns:
        planted = (
            data.truth_events.group_by(pl.col("event_date").dt.year().alias("year"))
            .agg(pl.col("period_effect").first())
            .with_columns(pl.format("{}-01", pl.col("year")).alias("start"))
        )
        fitted = pl.DataFrame({"start": params.period.start, "effect": params.period.effect})
        both = fitted.join(planted, on="start")
        row["corr_c"] = float(np.corrcoef(both["effect"], both["period_effect"])[0, 1])
    return row


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--tau-c", type=float, default=0.15)
    parser.add_argument("--outlets", type=int, default=500)
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--reports", type=int, default=15000)
    args = parser.parse_args(argv)
    print(provenance())
    print(f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} cores")
    rows = []
    for tau_c in (0.0, args.tau_c):
        for seed in range(args.seeds):
            data = generate(
                preset(
                    "core",
                    n_outlets=args.outlets,
                    n_events=args.events,
                    n_reports=args.reports,
                    seed=seed,
                    tau_c=tau_c,
                )
            )
            for holdout in HOLDOUTS:
                for months in (None, 12):
                    rows.append(run(data, holdout, seed, months))
    pl.Config.set_tbl_rows(100)
    pl.Config.set_tbl_width_chars(200)
    pl.Config.set_tbl_cols(20)
    pl.Config.set_float_precision(4)
    table = pl.DataFrame(rows)
    print(table)
    print(
        table.group_by("tau_c", "holdout", "period", maintain_order=True).agg(
            pl.col("fused_mae", "cov90").mean()
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
