"""Accuracy on synthetic data with planted truth: interval coverage, oracle gap, baselines.

For each seed the ``core`` preset of :mod:`reliability.synth` (censoring, ranges, Student-t
noise, gross errors, shared event error and group differences on; strata, lag, drift and
citations off) is drawn, a share of events is held out, and the model is fitted on the rest
with their consensus. It then reports

* how often the 90% intervals of each outlet's bias and t scale ``sigma`` cover the truth,
  overall and by the outlet's number of training reports;
* how often the fused 90% interval of a held-out event covers its true figure;
* the fused error on the log scale against the oracle (:mod:`benchmarks.accuracy.oracle`) and
  the truth-discovery baselines, which see every claim of every event.

Censoring decides whether the censored likelihood is right, so every run is repeated under
several censoring mechanisms, applied to the same uncensored figures ``y``:

* ``generator``: what :mod:`reliability.synth` does at the time of the run;
* ``informative``: the original generator's mechanism: "at least L" with L the report's own
  figure rounded down to one or two significant digits, and ranges ``[y·U(.7,1), y·U(1,1.4)]``
  around the report's figure. The survival likelihood is biased for it;
* ``ladder``: non-informative: a threshold L drawn from the round numbers 1, 2, 5, … 1000
  independently of ``y`` and of the event, reported as "at least L" only when ``y >= L``;
  ranges are the fixed bins ``[1, 2), [2, 5), [5, 10), …`` that hold ``y``.

Run (about two minutes on two cores)::

    .venv/bin/python -m benchmarks.accuracy.synthetic --seeds 6
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from reliability.baselines import BASELINES, Claims
from reliability.frames import QUANTITY_KEY
from reliability.outlet_model import OutletModel
from reliability.records import FigureKind
from reliability.scales import Scale
from reliability.synth import SynthData, generate, preset
from reliability.table import EventPrior

from . import provenance
from .oracle import fuse_with, oracle_fuse, true_event_prior, true_outlets

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
KEY = list(QUANTITY_KEY)
MECHANISMS = ("generator", "informative", "ladder")
BASELINE_NAMES = ("median", "mean", "catd", "gtm", "crh")
OUTLET_BINS = (("1-5", 1, 5), ("6-50", 6, 50), (">50", 51, 10**12))
TRUTH_BINS = (("0", 0, 0), ("1-9", 1, 9), ("10-99", 10, 99), (">=100", 100, 10**12))
EVENT_BINS = (("1", 1, 1), ("2", 2, 2), ("3-5", 3, 5), ("6-10", 6, 10), (">10", 11, 10**12))
LADDER = np.array([m * 10.0**k for k in range(8) for m in (1.0, 2.0, 5.0)])
THRESHOLD_LADDER = LADDER[LADDER <= 1000]
ORACLE_TARGET = 0.03
#: Fusions with one group of fitted parameters replaced by the truth: outlet biases; outlet
#: scales (the true sigma instead of hypot(sd, bias_se)); the fitted sd alone, without the
#: bias's standard error; the true df, event error sd and event-size prior together, then each
#: alone; and the reverse: every true outlet parameter with the fitted df, event sd and prior.
HYBRIDS = (
    "h_true_bias",
    "h_true_scale",
    "h_no_se",
    "h_true_event",
    "h_true_prior",
    "h_true_event_sd",
    "h_true_df",
    "h_true_outlets",
)
COVERAGE_TARGET = (0.87, 0.93)


@dataclass(frozen=True)
class Run:
    """Per-outlet and per-held-out-event results of one seed and mechanism."""

    outlets: pl.DataFrame
    events: pl.DataFrame
    fit_seconds: float
    df: float


def recensor(data: SynthData, mechanism: str, seed: int) -> pl.DataFrame:
    """The reports of ``data`` with their figures censored by ``mechanism`` (see module doc)."""
    if mechanism == "generator":
        return data.reports
    config = data.truth.config
    y = data.reports.join(data.truth_reports.select("report_id", "y"), on="report_id", how="left")[
        "y"
    ].to_numpy()
    rng = np.random.default_rng([seed, MECHANISMS.index(mechanism)])
    draw = rng.random(y.size)
    at_least = draw < config.p_at_least
    ranged = (draw >= config.p_at_least) & (draw < config.p_at_least + config.p_range)
    if mechanism == "informative":
        kind, low, high = _informative(rng, y, at_least, ranged)
    else:
        kind, low, high = _ladder(rng, y, ranged, config.p_at_least)
    exact = kind == FigureKind.EXACT.value
    return data.reports.with_columns(
        pl.Series("value", np.where(exact, y, np.nan)).fill_nan(None),
        pl.Series("low", low),
        pl.Series("high", high),
        pl.Series("kind", kind),
    )


def _informative(
    rng: np.random.Generator, y: FloatArray, at_least: BoolArray, ranged: BoolArray
) -> tuple[npt.NDArray[np.str_], FloatArray, FloatArray]:
    low, high = y.copy(), y.copy()
    digits = rng.integers(1, 3, size=y.size)
    step = np.maximum(10.0 ** (np.floor(np.log10(np.maximum(y, 1.0))) - (digits - 1)), 1.0)
    low[at_least] = (np.floor(y / step) * step)[at_least]
    high[at_least] = np.inf
    low[ranged] = np.floor(y * rng.uniform(0.7, 1.0, size=y.size))[ranged]
    high[ranged] = np.ceil(y * rng.uniform(1.0, 1.4, size=y.size))[ranged]
    return _kinds(at_least, ranged & (low < high)), low, high


def _ladder(
    rng: np.random.Generator, y: FloatArray, ranged: BoolArray, share: float
) -> tuple[npt.NDArray[np.str_], FloatArray, FloatArray]:
    low, high = y.copy(), y.copy()
    threshold = rng.choice(THRESHOLD_LADDER, size=y.size)
    reached = y >= threshold
    # The candidates are drawn more often so that the realised share of "at least" reports is
    # about the configured one; the draw stays independent of y.
    boost = min(1.0 / max(float(np.mean(reached)), 1e-9), 1.0 / max(share, 1e-9))
    candidate = rng.random(y.size) < share * boost
    censored = candidate & reached & ~ranged
    low[censored] = threshold[censored]
    high[censored] = np.inf
    k = np.searchsorted(LADDER, y, side="right") - 1
    binned = ranged & (k >= 0) & (k + 1 < LADDER.size)
    low[binned] = LADDER[k[binned]]
    high[binned] = LADDER[np.minimum(k + 1, LADDER.size - 1)[binned]] - 1.0
    return _kinds(censored, binned & (low < high)), low, high


def _kinds(at_least: BoolArray, ranged: BoolArray) -> npt.NDArray[np.str_]:
    return np.where(
        at_least,
        FigureKind.AT_LEAST.value,
        np.where(ranged, FigureKind.RANGE.value, FigureKind.EXACT.value),
    )


def run_once(
    data: SynthData,
    reports: pl.DataFrame,
    holdout: float,
    seed: int,
    prior_draws: int,
    df: float | Literal["auto"] = 4.0,
) -> Run:
    """Fit on the kept events, fuse the held-out ones; score outlets and events."""
    events = data.truth_events.select("event_id")
    held = events.sample(fraction=holdout, seed=seed)["event_id"]
    is_held = pl.col("event_id").is_in(held.implode())
    train = reports.filter(~is_held)
    test = reports.filter(is_held)
    started = time.perf_counter()
    model = OutletModel(df=df, cv_folds=0).fit(train, data.consensus.filter(~is_held), data.outlets)
    fit_seconds = time.perf_counter() - started

    truth = data.truth_outlets.select("outlet", "group", "bias", "sigma")
    outlets = pl.DataFrame(
        {
            "outlet": [s.outlet for s in model.outlets_],
            "n_reports": [s.n_reports for s in model.outlets_],
            "bias_est": [s.bias.estimate for s in model.outlets_],
            "bias_lo": [s.bias.lo90 for s in model.outlets_],
            "bias_hi": [s.bias.hi90 for s in model.outlets_],
            "bias_se": [s.bias_se for s in model.outlets_],
            "sd_est": [s.sd.estimate for s in model.outlets_],
            "sd_lo": [s.sd.lo90 for s in model.outlets_],
            "sd_hi": [s.sd.hi90 for s in model.outlets_],
        }
    ).join(truth, on="outlet")

    true_events = data.truth_events.select(*KEY, "true", "f_true")
    fused = model.fuse_quantities(test).select(
        *KEY, "n_reports", "q05", "q50", "q95", "lo90", "hi90"
    )
    true_prior = true_event_prior(data.truth.config, n_draws=prior_draws)
    oracle = oracle_fuse(test, data, true_prior)
    scored = fused.join(
        oracle.select(
            *KEY,
            pl.col("q05").alias("oracle_q05"),
            pl.col("q50").alias("oracle_q50"),
            pl.col("q95").alias("oracle_q95"),
            pl.col("lo90").alias("oracle_lo90"),
            pl.col("hi90").alias("oracle_hi90"),
        ),
        on=KEY,
        nulls_equal=True,
    ).join(true_events, on=KEY, nulls_equal=True)
    scored = scored.join(_baselines(reports), on=KEY, nulls_equal=True)
    scored = scored.join(_hybrids(model, data, test, true_prior), on=KEY, nulls_equal=True)
    groups = pl.DataFrame(
        {
            "group": [g.group for g in model.groups_],
            "group_mean": [g.bias_mean for g in model.groups_],
            "between_sd": [g.between_sd for g in model.groups_],
            "true_mu": [data.truth.mu[g.group] for g in model.groups_],
            "true_tau": [data.truth.tau[g.group] for g in model.groups_],
        }
    )
    return Run(
        outlets=outlets.join(groups, on="group"),
        events=scored,
        fit_seconds=fit_seconds,
        df=model.metrics_[data.truth.config.metrics[0].name].df,
    )


def _hybrids(
    model: OutletModel, data: SynthData, test: pl.DataFrame, true_prior: EventPrior
) -> pl.DataFrame:
    """Fused medians with some fitted parameters replaced by the truth (see HYBRIDS)."""
    params = model.metrics_[data.truth.config.metrics[0].name]
    fitted = pl.DataFrame(
        {
            "outlet": [s.outlet for s in model.outlets_],
            "bias": [s.bias.estimate for s in model.outlets_],
            # What fusion uses: the spread widened by the bias's own uncertainty.
            "scale": [float(np.hypot(s.sd.estimate, s.bias_se)) for s in model.outlets_],
            "sd": [s.sd.estimate for s in model.outlets_],
        }
    )
    truth = true_outlets(data)
    config = data.truth.config
    if config.nu is None:
        raise ValueError("the hybrids need Student-t report noise: the config has nu = None")
    fitted_setting = (params.df, params.event_sd, params.event_priors[0])
    true_setting = (config.nu, config.tau_u, true_prior)
    variants = {
        "h_true_bias": (
            fitted.drop("bias").join(truth.select("outlet", "bias"), on="outlet"),
            fitted_setting,
        ),
        "h_true_scale": (
            fitted.drop("scale").join(truth.select("outlet", "scale"), on="outlet"),
            fitted_setting,
        ),
        "h_no_se": (fitted.drop("scale").rename({"sd": "scale"}), fitted_setting),
        "h_true_event": (fitted, true_setting),
        "h_true_prior": (fitted, (params.df, params.event_sd, true_prior)),
        "h_true_event_sd": (fitted, (params.df, config.tau_u, params.event_priors[0])),
        "h_true_df": (fitted, (config.nu, params.event_sd, params.event_priors[0])),
        "h_true_outlets": (truth, fitted_setting),
    }
    parts = [
        fuse_with(test, data, outlets, df=df, event_sd=event_sd, prior=prior).select(
            *KEY, pl.col("q50").alias(name)
        )
        for name, (outlets, (df, event_sd, prior)) in variants.items()
    ]
    out = parts[0]
    for part in parts[1:]:
        out = out.join(part, on=KEY, nulls_equal=True)
    return out


def _baselines(reports: pl.DataFrame) -> pl.DataFrame:
    """Every baseline's estimate (model scale) of every event, from all claims."""
    claims, events, _ = Claims.from_frame(reports.filter(pl.col("cites").is_null()), Scale.LOG)
    return events.with_columns(
        pl.Series(name, BASELINES[name]().fit(claims).truths_) for name in BASELINE_NAMES
    )


def outlet_coverage(outlets: pl.DataFrame) -> pl.DataFrame:
    """Coverage of the bias and sigma intervals by outlet size, with the side of the misses."""
    covered = outlets.filter(pl.col("n_reports") > 0).with_columns(
        size=_size_bin(pl.col("n_reports"), OUTLET_BINS),
        bias_below=pl.col("bias") < pl.col("bias_lo"),
        bias_above=pl.col("bias") > pl.col("bias_hi"),
        sd_below=pl.col("sigma") < pl.col("sd_lo"),
        sd_above=pl.col("sigma") > pl.col("sd_hi"),
    )
    summary = [
        pl.len().alias("outlets"),
        (1 - (pl.col("bias_below") | pl.col("bias_above")).mean()).alias("bias_cov90"),
        pl.col("bias_below").mean().alias("bias_true_below"),
        pl.col("bias_above").mean().alias("bias_true_above"),
        (pl.col("bias_est") - pl.col("bias")).abs().mean().alias("bias_mae"),
        (1 - (pl.col("sd_below") | pl.col("sd_above")).mean()).alias("sigma_cov90"),
        pl.col("sd_below").mean().alias("sigma_true_below"),
        pl.col("sd_above").mean().alias("sigma_true_above"),
        (pl.col("sd_est") / pl.col("sigma")).median().alias("sigma_ratio_median"),
    ]
    by_size = covered.group_by("mechanism", "size").agg(summary)
    overall = covered.group_by("mechanism").agg(summary).with_columns(size=pl.lit("all"))
    return pl.concat([overall.select(by_size.columns), by_size]).sort("mechanism", "size")


def group_diagnosis(outlets: pl.DataFrame) -> pl.DataFrame:
    """Per registry group: coverage, the spread of standardised errors and the fitted prior."""
    return (
        outlets.filter(pl.col("n_reports") > 0)
        .with_columns(z=(pl.col("bias_est") - pl.col("bias")) / pl.col("bias_se"))
        .group_by("mechanism", "group")
        .agg(
            pl.len().alias("outlets"),
            ((pl.col("bias") >= pl.col("bias_lo")) & (pl.col("bias") <= pl.col("bias_hi")))
            .mean()
            .alias("bias_cov90"),
            pl.col("z").mean().alias("z_mean"),
            pl.col("z").std().alias("z_sd"),
            pl.col("sigma").median().alias("sigma_median"),
            pl.col("true_mu").first(),
            pl.col("group_mean").mean(),
            pl.col("true_tau").first(),
            pl.col("between_sd").mean(),
        )
        .sort("mechanism", "group")
    )


def event_accuracy(events: pl.DataFrame) -> pl.DataFrame:
    """Fused coverage and MAE of held-out events, with the oracle and baselines, by size."""
    scored = events.with_columns(size=_size_bin(pl.col("n_reports"), EVENT_BINS))
    summary = [
        pl.len().alias("events"),
        _covers("lo90", "hi90").mean().alias("cov90"),
        _covers("oracle_lo90", "oracle_hi90").mean().alias("oracle_cov90"),
        _covers_model("q05", "q95").mean().alias("cov90_log"),
        _covers_model("oracle_q05", "oracle_q95").mean().alias("oracle_cov90_log"),
        (pl.col("q50") - pl.col("f_true")).abs().mean().alias("mae"),
        (pl.col("oracle_q50") - pl.col("f_true")).abs().mean().alias("oracle_mae"),
        *[(pl.col(b) - pl.col("f_true")).abs().mean().alias(b) for b in BASELINE_NAMES],
    ]
    by_size = scored.group_by("mechanism", "size").agg(summary)
    overall = scored.group_by("mechanism").agg(summary).with_columns(size=pl.lit("all"))
    return (
        pl.concat([overall.select(by_size.columns), by_size])
        .with_columns(gap=pl.col("mae") / pl.col("oracle_mae") - 1)
        .sort("mechanism", "size")
    )


def hybrid_gaps(events: pl.DataFrame) -> pl.DataFrame:
    """MAE gap to the oracle when fitted parameters are swapped for true ones (see HYBRIDS)."""
    oracle = (pl.col("oracle_q50") - pl.col("f_true")).abs().mean()
    return (
        events.group_by("mechanism")
        .agg(
            ((pl.col(name) - pl.col("f_true")).abs().mean() / oracle - 1).alias(name)
            for name in ("q50", *HYBRIDS)
        )
        .rename({"q50": "model"})
        .sort("mechanism")
    )


def coverage_by_truth(events: pl.DataFrame) -> pl.DataFrame:
    """Coverage by true size: natural intervals are rounded outward to whole counts, which
    matters at small counts, and a true zero sits on the edge of the log-scale support."""
    return (
        events.with_columns(true_size=_size_bin(pl.col("true").cast(pl.Int64), TRUTH_BINS))
        .group_by("mechanism", "true_size")
        .agg(
            pl.len().alias("events"),
            _covers("lo90", "hi90").mean().alias("cov90"),
            _covers("oracle_lo90", "oracle_hi90").mean().alias("oracle_cov90"),
            _covers_model("q05", "q95").mean().alias("cov90_log"),
            _covers_model("oracle_q05", "oracle_q95").mean().alias("oracle_cov90_log"),
        )
        .sort("mechanism", "true_size")
    )


def seed_spread(events: pl.DataFrame) -> pl.DataFrame:
    """Per-seed oracle gap and coverage: how much the headline figures move between seeds."""
    return (
        events.group_by("mechanism", "seed")
        .agg(
            ((pl.col("q50") - pl.col("f_true")).abs().mean()).alias("mae"),
            ((pl.col("oracle_q50") - pl.col("f_true")).abs().mean()).alias("oracle_mae"),
            _covers("lo90", "hi90").mean().alias("cov90"),
        )
        .with_columns(gap=pl.col("mae") / pl.col("oracle_mae") - 1)
        .group_by("mechanism")
        .agg(
            pl.col("gap").min().alias("gap_min"),
            pl.col("gap").max().alias("gap_max"),
            pl.col("cov90").min().alias("cov90_min"),
            pl.col("cov90").max().alias("cov90_max"),
        )
        .sort("mechanism")
    )


def censoring_mix(reports: pl.DataFrame) -> pl.DataFrame:
    return (
        reports.group_by("mechanism", "kind")
        .len()
        .with_columns(share=pl.col("len") / pl.col("len").sum().over("mechanism"))
        .sort("mechanism", "kind")
    )


def _covers(lo: str, hi: str) -> pl.Expr:
    return (pl.col(lo) <= pl.col("true")) & (pl.col("true") <= pl.col(hi))


def _covers_model(lo: str, hi: str) -> pl.Expr:
    return (pl.col(lo) <= pl.col("f_true")) & (pl.col("f_true") <= pl.col(hi))


def _size_bin(n: pl.Expr, bins: Sequence[tuple[str, int, int]]) -> pl.Expr:
    return pl.coalesce(pl.when(n.is_between(lo, hi)).then(pl.lit(label)) for label, lo, hi in bins)


def verdicts(outlets: pl.DataFrame, events: pl.DataFrame) -> list[str]:
    """One line per target: the figure and whether it holds."""
    lo, hi = COVERAGE_TARGET
    lines = []
    for row in outlets.filter(pl.col("size") == "all").iter_rows(named=True):
        for what in ("bias", "sigma"):
            cov = row[f"{what}_cov90"]
            lines.append(
                f"{row['mechanism']}: {what} 90% coverage {cov:.3f} "
                f"({'holds' if lo <= cov <= hi else 'FAILS'}, target {lo}-{hi})"
            )
    for row in events.filter(pl.col("size") == "all").iter_rows(named=True):
        mech, cov, gap = row["mechanism"], row["cov90"], row["gap"]
        lines.append(
            f"{mech}: fused 90% coverage {cov:.3f} ({'holds' if lo <= cov <= hi else 'FAILS'})"
        )
        lines.append(
            f"{mech}: fused MAE {row['mae']:.4f} vs oracle {row['oracle_mae']:.4f}: "
            f"{gap:+.1%} ({'holds' if gap <= ORACLE_TARGET else 'FAILS'}, target <= +3%)"
        )
        beaten = [b for b in ("median", "mean", "catd", "gtm") if row["mae"] < row[b]]
        lines.append(
            f"{mech}: fused MAE below {len(beaten)}/4 of median, mean, CATD, GTM "
            f"({'holds' if len(beaten) == 4 else 'FAILS'})"
        )
    return lines


def _override(item: str) -> tuple[str, float]:
    field, sep, value = item.partition("=")
    if not sep:
        raise SystemExit(f"--set expects FIELD=NUMBER, got {item!r}")
    try:
        return field.strip(), float(value)
    except ValueError:
        raise SystemExit(f"--set {field}: {value!r} is not a number") from None


def _df(text: str) -> float | Literal["auto"]:
    return "auto" if text == "auto" else float(text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seeds", type=int, default=6, help="independent datasets (default 6)")
    parser.add_argument("--outlets", type=int, default=1000)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--reports", type=int, default=25000)
    parser.add_argument("--holdout", type=float, default=0.3, help="share of events held out")
    parser.add_argument("--prior-draws", type=int, default=1_000_000)
    parser.add_argument("--mechanisms", nargs="+", choices=MECHANISMS, default=list(MECHANISMS))
    parser.add_argument(
        "--df", type=_df, default=4.0, help="the model's Student-t df, or 'auto' (default 4)"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=NUMBER",
        help="override a numeric field of the core preset, e.g. --set p_gross=0 (repeatable)",
    )
    args = parser.parse_args(argv)
    print(provenance())
    overrides = dict(_override(item) for item in args.set)

    pl.Config.set_tbl_rows(100)
    pl.Config.set_tbl_cols(30)
    pl.Config.set_tbl_width_chars(250)
    pl.Config.set_float_precision(3)
    outlet_parts, event_parts, report_parts = [], [], []
    for seed in range(args.seeds):
        config = preset(
            "core",
            n_outlets=args.outlets,
            n_events=args.events,
            n_reports=args.reports,
            seed=seed,
            **overrides,
        )
        data = generate(config)
        for mechanism in args.mechanisms:
            reports = recensor(data, mechanism, seed)
            run = run_once(data, reports, args.holdout, seed, args.prior_draws, args.df)
            tag = [pl.lit(mechanism).alias("mechanism"), pl.lit(seed).alias("seed")]
            outlet_parts.append(run.outlets.with_columns(tag))
            event_parts.append(run.events.with_columns(tag))
            report_parts.append(reports.select("kind").with_columns(tag))
            print(
                f"seed {seed} {mechanism}: fit {run.fit_seconds:.1f} s, df {run.df:g}", flush=True
            )

    outlets, events = pl.concat(outlet_parts), pl.concat(event_parts)
    print(f"\n{args.seeds} seeds x core preset: {args.outlets} outlets, {args.events} events,")
    print(f"{args.reports} reports each; {args.holdout:.0%} of events held out; overrides:")
    print(f"{overrides or 'none'}\n")
    print("Censoring mix (share of reports):")
    print(censoring_mix(pl.concat(report_parts)))
    by_outlet = outlet_coverage(outlets)
    print("\nOutlet parameter intervals (90%), by training reports per outlet:")
    print(by_outlet)
    print("\nBias by group (all sizes; z = (estimate - truth) / bias_se, ideally sd 1):")
    print(group_diagnosis(outlets))
    by_event = event_accuracy(events)
    print("\nHeld-out events: fused 90% coverage and MAE (log scale), by reports per event:")
    print(by_event)
    print("\nMAE gap to the oracle with fitted parameters replaced by true ones:")
    print(hybrid_gaps(events))
    print("\nHeld-out events: coverage by true size:")
    print(coverage_by_truth(events))
    print("\nSpread over seeds:")
    print(seed_spread(events))
    print("\nSigned error of the fused median (mean of q50 - truth, log scale):")
    print(
        events.group_by("mechanism")
        .agg(
            (pl.col("q50") - pl.col("f_true")).mean().alias("model"),
            (pl.col("oracle_q50") - pl.col("f_true")).mean().alias("oracle"),
        )
        .sort("mechanism")
    )
    print("\nTargets:")
    for line in verdicts(by_outlet, by_event):
        print("  " + line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
