"""Per-call time of ``OutletModel.fuse`` (50 reports of one event) and ``score`` (one report).

A model is fitted once on synthetic data (``core`` preset); then, in process, ``fuse`` on the
50 reports of one event and ``score`` on single reports are timed with ``timeit``: each of
``--repeat`` rounds runs the call ``--number`` times, and the median over rounds of the
per-call time is reported (with the fastest and slowest round), as wall time and as the CPU
time of this process (less inflated than wall time on a machine shared with other jobs).
Targets: ``fuse`` on 50 reports <= 1 ms, ``score`` <= 0.2 ms.

Then the batched path (``fuse_events``, as cross-validation and latent-consensus fitting call
it): the synthetic data's events, repeated up to ``--events`` events with their reports' fitted
biases and scales, fused in one call; events per second by wall and CPU time.

    .venv/bin/python benchmarks/bench_fuse.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import timeit
from collections.abc import Callable, Sequence

import numpy as np
import polars as pl
from accuracy import provenance

from reliability.event_prior import TabulatedPrior
from reliability.fusion import FusionSpec, ReportBatch, fuse_events
from reliability.intervals import report_interval
from reliability.outlet_model import OutletModel
from reliability.records import Report
from reliability.synth import generate, preset

FUSE_TARGET_MS = 1.0
SCORE_TARGET_MS = 0.2


def event_reports(model: OutletModel, n: int, censored: int, seed: int) -> list[Report]:
    """``n`` reports of one event of true size 120 by distinct fitted outlets.

    The first ``censored`` are split between "at least" figures and ranges.
    """
    rng = np.random.default_rng(seed)
    outlets = [s for s in model.outlets_ if not s.cold_start]
    chosen = rng.choice(len(outlets), size=n, replace=False)
    reports = []
    for k, index in enumerate(chosen):
        score = outlets[int(index)]
        x = np.log1p(120.0) + score.bias.estimate + score.sd.estimate * rng.standard_t(4.0)
        y = float(max(round(np.expm1(x)), 0))
        low: float | None = None
        high: float | None = None
        value: float | None = None
        if k < censored // 2:
            low = float(np.floor(y / 10) * 10)
        elif k < censored:
            low, high = float(np.floor(0.8 * y)), float(np.ceil(1.2 * y) + 1)
        else:
            value = y
        reports.append(
            Report(
                event_id="bench",
                outlet=score.outlet,
                report_id=f"r{k}",
                value=value,
                low=low,
                high=high,
            )
        )
    return reports


def event_batch(
    model: OutletModel, reports: pl.DataFrame, n_events: int
) -> tuple[ReportBatch, list[TabulatedPrior], FusionSpec]:
    """The reports of ``reports``' first metric, their events repeated up to ``n_events``."""
    metric = sorted(reports["metric"].unique().to_list())[0]
    rep = reports.filter(pl.col("metric") == metric)
    lookup = model.lookup(metric)
    event = rep.select(pl.struct("event_id", "stratum").rank("dense") - 1).to_series()
    codes = event.to_numpy().astype(np.intp)
    per_copy = int(codes.max()) + 1
    copies = -(-n_events // per_copy)
    bias, scale, _ = lookup.expected_errors(
        rep["outlet"], rep["stratum"], np.full(rep.height, np.nan)
    )
    lo, hi = report_interval(rep["low"].to_numpy(), rep["high"].to_numpy(), lookup.scale)
    all_codes = (codes[None, :] + per_copy * np.arange(copies)[:, None]).ravel()
    keep = all_codes < n_events
    batch = ReportBatch(
        event=all_codes[keep],
        lo=np.tile(lo, copies)[keep],
        hi=np.tile(hi, copies)[keep],
        bias=np.tile(bias, copies)[keep],
        scale=np.tile(scale, copies)[keep],
        n_events=n_events,
    )
    p = lookup.params
    return batch, lookup.priors, FusionSpec(lookup.scale, p.df, p.event_sd, model.grid_size)


def per_call_ms(
    call: Callable[[], object], number: int, repeat: int, timer: Callable[[], float]
) -> tuple[float, ...]:
    """Median, fastest and slowest round's per-call milliseconds by ``timer``."""
    times = timeit.repeat(call, number=number, repeat=repeat, timer=timer)
    rounds = [t / number * 1e3 for t in times]
    return statistics.median(rounds), min(rounds), max(rounds)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--reports", type=int, default=50, help="reports per fused event")
    parser.add_argument("--number", type=int, default=200, help="calls per timing round")
    parser.add_argument("--repeat", type=int, default=25, help="timing rounds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--events", type=int, default=100_000, help="events of the batched run")
    args = parser.parse_args(argv)
    print(provenance())

    data = generate(preset("core", n_outlets=400, n_events=4000, n_reports=40_000, seed=args.seed))
    model = OutletModel(cv_folds=0).fit(data.reports, data.consensus, data.outlets)
    exact = event_reports(model, args.reports, 0, args.seed)
    mixed = event_reports(model, args.reports, 10, args.seed)
    known, cold = exact[0], Report(event_id="bench", outlet="never-seen", value=120.0)
    print(f"nproc {os.cpu_count()}, load average before {os.getloadavg()}")
    cases: list[tuple[str, Callable[[], object], float]] = [
        (f"fuse, {args.reports} exact reports", lambda: model.fuse(exact), FUSE_TARGET_MS),
        (
            f"fuse, {args.reports} reports (5 at least, 5 ranges)",
            lambda: model.fuse(mixed),
            FUSE_TARGET_MS,
        ),
        ("score, one report of a fitted outlet", lambda: model.score(known), SCORE_TARGET_MS),
        ("score, one report of an unknown outlet", lambda: model.score(cold), SCORE_TARGET_MS),
    ]
    print(f"timeit: {args.repeat} rounds x {args.number} calls; per-call ms\n")
    print(
        "| call | median ms | fastest round ms | slowest round ms | median CPU ms | target ms "
        "| verdict |"
    )
    print("|---|---:|---:|---:|---:|---:|---|")
    for label, call, target in cases:
        call()
        median, fastest, slowest = per_call_ms(call, args.number, args.repeat, time.perf_counter)
        cpu = per_call_ms(call, args.number, args.repeat, time.process_time)[0]
        verdict = "holds" if median <= target else f"FAILS ({median / target:.1f}x target)"
        print(
            f"| {label} | {median:.3f} | {fastest:.3f} | {slowest:.3f} | {cpu:.3f} | {target} "
            f"| {verdict} |"
        )
    batch, priors, spec = event_batch(model, data.reports, args.events)
    prior_index = np.zeros(batch.n_events, dtype=np.intp)
    first = batch.event < 100
    warm = ReportBatch(
        batch.event[first], batch.lo[first], batch.hi[first], batch.bias[first],
        batch.scale[first], 100,
    )  # fmt: skip
    fuse_events(warm, priors, prior_index[:100], spec)
    wall, cpu = time.perf_counter(), time.process_time()
    fuse_events(batch, priors, prior_index, spec)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"\nfuse_events: {batch.n_events:,} events, {batch.event.size:,} reports: "
        f"{wall:.2f} s wall ({batch.n_events / wall:,.0f} events/s), "
        f"{cpu:.2f} s CPU ({batch.n_events / cpu:,.0f} events/s)"
    )
    print(f"\nload average after {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
