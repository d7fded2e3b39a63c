"""FiveThirtyEight polls (``benchmarks/data/polls``): out-of-time accuracy and house effects.

1. Prediction: the model is fitted on races held up to 2012 (metric ``margin``, linear scale),
   then each 2014-2016 race's polls are fused (``fuse_frame``: each poll debiased by its
   pollster's bias and weighted by its precision; pollsters unseen before 2013 start from their
   methodology group's prior). The fused estimate, the simple average and the median of the
   race's polls are scored by MAE against the actual margin. Races of 2013 are in neither set.
   The configuration (model options, among them the period effect with calendar years as
   periods, and whether house effects are learnt relative to each cycle's industry-wide error
   by the preprocessing below) is chosen first by a time split inside the training years:
   fit on races up to 2008, validate on 2010-2012; the lowest validation MAE wins, a
   configuration with fewer changes from the defaults winning ties within 0.01 points. The
   2014-2016 test is then run once with the chosen configuration (and with the defaults, for
   comparison).
2. House effects: each pollster's fitted bias is correlated with FiveThirtyEight's published
   Mean-Reverted Bias (2016 ratings, matched through ``pollster-ids.csv``). A margin is
   candidate 1 minus candidate 2 as the converter took it; only in Democrat-vs-Republican races
   is candidate 1 always the Democrat (``margin`` = D - R), which is the sign of 538's bias
   (positive = the Democrat did better in polls than in the election). So the bias for this
   comparison is fitted on those races only: with ``--raw`` (538's raw polls file) a race counts
   when 538 computed a bias for it (top two a Democrat and a Republican); without it, general
   elections (race type ``*-G``) stand in, 98.5% of whose polls are D-vs-R. Two fits are shown:
   races up to 2012 (out of time) and all races 1998-2016 (the window of 538's ratings).

    .venv/bin/python -m benchmarks.accuracy.polls \\
        --raw /work/shared/data/fivethirtyeight-polls/raw-polls-1998-2016.csv
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy import stats

from reliability.dataset import Dataset, load_dataset
from reliability.outlet_model import OutletModel

from . import provenance

FloatArray = npt.NDArray[np.float64]
ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "benchmarks" / "data" / "polls"
LAST_TRAIN_YEAR = 2012
TEST_YEARS = (2014, 2016)
LAST_VALIDATION_TRAIN_YEAR = 2008
VALIDATION_YEARS = (2010, 2012)
BOOTSTRAP = 2000
#: Ties in validation MAE (points) go to the configuration with fewer changes.
TIE = 0.01


@dataclass(frozen=True)
class Config:
    """A benchmark configuration: model options and the cycle-relative truth switch.

    ``per_cycle``: fit house effects against ``actual + c``, where ``c`` is the cycle's
    industry-wide error (the mean over its races of mean poll minus result; a cycle is a
    general-election year, other races are their own cycle). The fused figure then estimates
    what an average poll of the cycle would say, and the unknown error of a new cycle is taken
    as zero.
    """

    name: str
    options: dict[str, Any] = field(default_factory=dict)
    per_cycle: bool = False

    @property
    def changes(self) -> int:
        return len(self.options) + int(self.per_cycle)


CANDIDATES = (
    Config("defaults"),
    Config("broad prior", {"size_prior": "broad"}),
    Config("df 10", {"df": 10.0}),
    Config("half-life 4 years", {"half_life_days": 1460.0}),
    Config("per-cycle house effects", per_cycle=True),
    Config("broad prior, df 10", {"size_prior": "broad", "df": 10.0}),
    Config("broad prior, half-life 4 years", {"size_prior": "broad", "half_life_days": 1460.0}),
    Config("broad prior, per-cycle", {"size_prior": "broad"}, per_cycle=True),
    Config("period effect (years)", {"period_months": 12}),
    Config("broad prior, period effect", {"size_prior": "broad", "period_months": 12}),
)


def race_year(column: str = "event_id") -> pl.Expr:
    """The election year, the leading four digits of the race name (``2014_Sen-G_NC``)."""
    return pl.col(column).str.slice(0, 4).cast(pl.Int32)


def race_type(column: str = "event_id") -> pl.Expr:
    """The race type, the middle part of the race name (``Sen-G``, ``Pres-P`` …)."""
    return pl.col(column).str.split("_").list.get(1)


def results_of(dataset: Dataset) -> pl.DataFrame:
    """The election results (the dataset's consensus)."""
    if dataset.consensus is None:
        raise ValueError("the polls dataset has no consensus (election results)")
    return dataset.consensus


def fit(dataset: Dataset, races: pl.Series, config: Config = CANDIDATES[0]) -> OutletModel:
    """The model fitted on the reports and results of ``races``."""
    kept = pl.col("event_id").is_in(races.implode())
    registry = dataset.registry.frame if dataset.registry is not None else None
    results = results_of(dataset).filter(kept)
    if config.per_cycle:
        shift = cycle_errors(dataset, races)
        results = results.join(shift, on="event_id").with_columns(
            pl.col("value", "low", "high") + pl.col("c")
        )
    return OutletModel(scales=dataset.scales, cv_folds=0, **config.options).fit(
        dataset.reports.filter(kept), results.drop("c", strict=False), registry
    )


def cycle_errors(dataset: Dataset, races: pl.Series) -> pl.DataFrame:
    """Per race of ``races``: its cycle's industry-wide error ``c`` (see :class:`Config`)."""
    general = race_type().str.ends_with("-G")
    cycle = pl.when(general).then(race_year().cast(pl.String)).otherwise(pl.col("event_id"))
    per_race = (
        dataset.reports.filter(pl.col("event_id").is_in(races.implode()))
        .group_by("event_id")
        .agg(pl.col("value").mean().alias("average"))
        .join(results_of(dataset).select("event_id", "value"), on="event_id")
        .with_columns(cycle=cycle, error=pl.col("average") - pl.col("value"))
    )
    return per_race.with_columns(c=pl.col("error").mean().over("cycle")).select("event_id", "c")


def prediction(
    dataset: Dataset,
    last_train_year: int = LAST_TRAIN_YEAR,
    years: tuple[int, int] = TEST_YEARS,
    config: Config = CANDIDATES[0],
) -> tuple[pl.DataFrame, OutletModel]:
    """Per race of ``years``: fused, average and median of polls, and the actual margin."""
    races = results_of(dataset).select("event_id", race_year().alias("year"))
    train = train_races(dataset, last_train_year)
    test = races.filter(pl.col("year").is_between(*years))["event_id"]
    model = fit(dataset, train, config)
    reports = dataset.reports.filter(pl.col("event_id").is_in(test.implode()))
    seen = {s.outlet for s in model.outlets_ if not s.cold_start}
    simple = reports.group_by("event_id").agg(
        pl.col("value").mean().alias("average"),
        pl.col("value").median().alias("median"),
        pl.col("outlet").is_in(list(seen)).mean().alias("seen_share"),
    )
    fused = model.fuse_frame(reports).select("event_id", "estimate", "lo90", "hi90", "n_reports")
    actual = results_of(dataset).select("event_id", pl.col("value").alias("actual"))
    results = (
        fused.join(simple, on="event_id")
        .join(actual, on="event_id")
        .with_columns(race_type().alias("type"), race_year().alias("year"))
    )
    return results, model


def train_races(dataset: Dataset, last_train_year: int = LAST_TRAIN_YEAR) -> pl.Series:
    """The races held up to ``last_train_year``."""
    races = results_of(dataset).select("event_id", race_year().alias("year"))
    return races.filter(pl.col("year") <= last_train_year)["event_id"]


def validation(dataset: Dataset) -> tuple[pl.DataFrame, Config]:
    """Every candidate on the time split inside the training years, and the one chosen."""
    rows = []
    for config in CANDIDATES:
        results, _ = prediction(dataset, LAST_VALIDATION_TRAIN_YEAR, VALIDATION_YEARS, config)
        summary = prediction_summary(
            results.with_columns(pl.lit(config.name).alias("config")), ["config"]
        )
        rows.append(summary.with_columns(pl.lit(config.changes).alias("changes")))
    table = pl.concat(rows)
    best = float(table["fused_mae"].min())  # type: ignore[arg-type]
    tied = table.filter(pl.col("fused_mae") <= best + TIE).sort("changes", "fused_mae")
    chosen = next(c for c in CANDIDATES if c.name == tied["config"][0])
    return table, chosen


def prediction_summary(results: pl.DataFrame, by: Sequence[str]) -> pl.DataFrame:
    err = {
        name: (pl.col(name) - pl.col("actual")).abs().mean()
        for name in ("estimate", "average", "median")
    }
    return (
        results.group_by(by)
        .agg(
            pl.len().alias("races"),
            pl.col("n_reports").sum().alias("polls"),
            err["estimate"].alias("fused_mae"),
            err["average"].alias("average_mae"),
            err["median"].alias("median_mae"),
            ((pl.col("lo90") <= pl.col("actual")) & (pl.col("actual") <= pl.col("hi90")))
            .mean()
            .alias("fused_cov90"),
            (pl.col("estimate") - pl.col("actual")).mean().alias("fused_signed"),
            (pl.col("average") - pl.col("actual")).mean().alias("average_signed"),
            pl.col("seen_share").mean().alias("polls_by_seen_pollsters"),
        )
        .sort(by)
    )


def dem_vs_rep_races(dataset: Dataset, raw: Path | None) -> tuple[pl.Series, str]:
    """Races whose margin is Democrat minus Republican, and how they were chosen."""
    if raw is not None:
        polls = pl.read_csv(raw, columns=["race", "bias"], infer_schema_length=0)
        races = polls.filter(pl.col("bias").is_not_null() & (pl.col("bias") != ""))["race"]
        return races.unique().sort().alias("event_id"), f"races with a 538 bias in {raw.name}"
    general = results_of(dataset).filter(race_type().str.ends_with("-G"))["event_id"]
    return general, "general elections (*-G), no raw file given"


def house_effects(dataset: Dataset, races: pl.Series, ratings: pl.DataFrame) -> pl.DataFrame:
    """Each rated pollster's fitted bias on ``races`` beside 538's Mean-Reverted Bias."""
    model = fit(dataset, races)
    fitted = pl.DataFrame(
        {
            "outlet": [s.outlet for s in model.outlets_],
            "n": [s.n_reports for s in model.outlets_],
            "bias": [s.bias.estimate for s in model.outlets_],
            "bias_se": [s.bias_se for s in model.outlets_],
        }
    ).filter(pl.col("n") > 0)
    return fitted.join(ratings, on="outlet")


def ratings_by_outlet(data: Path) -> pl.DataFrame:
    """538's Mean-Reverted Bias per outlet id (pollsters without a 2016 rating are dropped)."""
    ids = pl.read_csv(data / "pollster-ids.csv").select("outlet", "ratings_2016_id")
    ratings = pl.read_csv(data / "pollster-ratings-2016.csv").select(
        pl.col("ID").alias("ratings_2016_id"), pl.col("Mean-Reverted Bias").alias("mrb")
    )
    return ids.join(ratings, on="ratings_2016_id").drop_nulls("mrb").drop("ratings_2016_id")


def correlation(x: FloatArray, y: FloatArray, seed: int) -> dict[str, float]:
    """Pearson r with Fisher and pair-bootstrap 95% intervals, and Spearman's rho."""
    n = x.size
    r = float(np.corrcoef(x, y)[0, 1])
    half = 1.959964 / math.sqrt(n - 3)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, n, size=(BOOTSTRAP, n))
    xs, ys = x[picks], y[picks]
    xc, yc = xs - xs.mean(axis=1, keepdims=True), ys - ys.mean(axis=1, keepdims=True)
    boot = (xc * yc).sum(axis=1) / np.sqrt((xc**2).sum(axis=1) * (yc**2).sum(axis=1))
    return {
        "n": float(n),
        "r": r,
        "fisher_lo": math.tanh(math.atanh(r) - half),
        "fisher_hi": math.tanh(math.atanh(r) + half),
        "boot_lo": float(np.nanpercentile(boot, 2.5)),
        "boot_hi": float(np.nanpercentile(boot, 97.5)),
        "spearman": float(stats.spearmanr(x, y).statistic),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument(
        "--raw", type=Path, default=None, help="538's raw-polls-1998-2016.csv, to pick D-vs-R races"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--disclose",
        action="store_true",
        help="after the choice, also predict 2014-2016 with every candidate (not used for it)",
    )
    args = parser.parse_args(argv)
    print(provenance())
    pl.Config.set_tbl_rows(60)
    pl.Config.set_tbl_cols(20)
    pl.Config.set_tbl_width_chars(250)
    pl.Config.set_float_precision(3)

    dataset = load_dataset(args.data / "dataset.toml")
    table, chosen = validation(dataset)
    print(
        f"Validation: fit on races up to {LAST_VALIDATION_TRAIN_YEAR}, predict "
        f"{VALIDATION_YEARS[0]}-{VALIDATION_YEARS[1]} races (MAE in points of margin)"
    )
    print(table)
    print(f"Chosen: {chosen.name}\n")
    defaults, _ = prediction(dataset)
    results, model = prediction(dataset, config=chosen)
    print(f"Fit on races up to {LAST_TRAIN_YEAR}; predict {TEST_YEARS[0]}-{TEST_YEARS[1]} races")
    print("(MAE in points of margin against the actual result)\n")
    print(
        prediction_summary(
            pl.concat(
                [
                    defaults.with_columns(pl.lit("defaults").alias("config")),
                    results.with_columns(pl.lit(chosen.name).alias("config")),
                ]
            ),
            ["config"],
        )
    )
    print(f"\nChosen configuration ({chosen.name}), by year and race type:")
    print(prediction_summary(results, ["year"]))
    print(prediction_summary(results, ["type"]))
    if args.disclose:
        print("\nEvery candidate on 2014-2016 (disclosure only; the choice above did not see it):")
        disclosed = [
            prediction_summary(
                prediction(dataset, config=config)[0].with_columns(
                    pl.lit(config.name).alias("config")
                ),
                ["config"],
            )
            for config in CANDIDATES
        ]
        print(pl.concat(disclosed))
    params = model.metrics_["margin"]
    print(
        f"\nFitted on <= {LAST_TRAIN_YEAR}: global bias {params.global_bias:+.2f} "
        f"(se {params.global_bias_se:.2f}), event sd {params.event_sd:.2f}, "
        f"typical poll sd {params.typical_sd:.2f}; group means:"
    )
    for group in model.groups_:
        print(f"  {group.group}: {group.bias_mean:+.2f} ({group.n_outlets} pollsters)")
    period_config = next(c for c in CANDIDATES if c.options.get("period_months"))
    with_periods = fit(dataset, train_races(dataset), period_config).metrics_["margin"]
    period = with_periods.period
    if period is not None:
        print(
            f"\nPeriod effects fitted on <= {LAST_TRAIN_YEAR} ({period_config.name}): "
            f"tau_c {period.sd:.2f}, event sd {with_periods.event_sd:.2f}"
        )
        print(
            pl.DataFrame(
                {
                    "start": period.start,
                    "effect": period.effect,
                    "se": period.se,
                    "races": period.n_events,
                }
            )
            .with_columns(pl.col("start").str.slice(0, 4).alias("year"))
            .drop("start")
            .transpose(include_header=True, column_names="year")
        )
    print("\nSigned poll error (poll - actual) by year, all races and general elections:")
    errors = dataset.reports.join(
        results_of(dataset).select("event_id", pl.col("value").alias("actual")), on="event_id"
    ).with_columns(race_year().alias("year"), race_type().str.ends_with("-G").alias("general"))
    print(
        errors.group_by("year")
        .agg(
            (pl.col("value") - pl.col("actual")).mean().alias("all_races"),
            (pl.col("value") - pl.col("actual")).filter(pl.col("general")).mean().alias("general"),
            pl.len().alias("polls"),
        )
        .sort("year")
        .with_columns(pl.col("year").cast(pl.String))
        .transpose(include_header=True, column_names="year")
    )

    ratings = ratings_by_outlet(args.data)
    races, how = dem_vs_rep_races(dataset, args.raw)
    early = races.to_frame().filter(race_year() <= LAST_TRAIN_YEAR)["event_id"]
    print(f"\nHouse effects vs 538 Mean-Reverted Bias; D-vs-R races: {how}")
    rows = []
    for label, subset in (
        (f"D-vs-R races <= {LAST_TRAIN_YEAR}", early),
        ("D-vs-R races 1998-2016", races),
    ):
        effects = house_effects(dataset, subset, ratings)
        for min_n in (1, 10):
            sub = effects.filter(pl.col("n") >= min_n)
            row = correlation(sub["bias"].to_numpy(), sub["mrb"].to_numpy(), args.seed)
            rows.append({"fit": label, "min_polls": min_n, **row})
    print(pl.DataFrame(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
