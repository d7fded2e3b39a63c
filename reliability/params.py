"""Fitted parameters of one metric as score-table entries, and the lookup that scores with them.

A fitted model and a model rebuilt from its score table answer through the same
:class:`MetricLookup`, built from the same table Structs, so both give identical answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy import stats

from reliability.effects import LAG_EDGES, Effects, lag_bins
from reliability.event_prior import TabulatedPrior, build_event_prior
from reliability.metric_fit import MetricFit
from reliability.scales import Scale
from reliability.table import (
    EventPrior,
    GroupPrior,
    Interval,
    LagEffect,
    MetricParams,
    OutletScore,
    PeriodEffect,
    StratumBias,
)

FloatArray = npt.NDArray[np.float64]

#: Strata with at least this many settled events get their own event-size prior.
MIN_STRATUM_EVENTS = 50


@dataclass(frozen=True)
class OutletInfo:
    """Registry facts about the outlets of one metric, indexed by outlet code."""

    names: list[str]
    groups: list[str | None]
    display: list[str | None]
    aliases: list[list[str]]
    last_report_at: list[datetime | None]
    n_events: npt.NDArray[np.int64]
    n_reports: npt.NDArray[np.int64]


def metric_params(
    metric: str,
    scale: Scale,
    fit: MetricFit,
    priors: list[EventPrior],
    *,
    n_reports: int,
    n_events: int,
    lag: LagEffect | None = None,
    period: PeriodEffect | None = None,
) -> MetricParams:
    predictive = np.sqrt(fit.sd**2 + fit.bias_se**2)
    active = fit.n_reports > 0
    typical = (
        float(
            np.median(
                np.repeat(predictive[active], np.maximum(fit.n_reports[active], 1).astype(int))
            )
        )
        if active.any()
        else float(fit.sd_prior_scale)
    )
    return MetricParams(
        metric=metric,
        scale=scale.value,
        df=fit.df,
        event_sd=fit.event_sd,
        global_bias=fit.global_bias,
        global_bias_se=fit.global_bias_se,
        between_group_sd=fit.between_group_sd,
        pooled_between_sd=fit.pooled_between_sd,
        sd_prior_dof=fit.sd_prior_dof,
        sd_prior_scale=fit.sd_prior_scale,
        typical_sd=typical,
        n_reports=n_reports,
        n_events=n_events,
        n_outlets=int(active.sum()),
        event_priors=priors,
        lag=lag,
        period=period,
        drift_sd=fit.drift_sd,
    )


def event_priors(
    theta: FloatArray, strata: list[str | None], scale: Scale, *, density: bool = True
) -> list[EventPrior]:
    """The metric-wide prior first, then one per stratum with enough settled events.

    ``density=False`` keeps only the broad normal component (``size_prior="broad"``).
    """
    out = [build_event_prior(theta, count=scale.is_count, density=density)]
    labels = np.array(["" if s is None else s for s in strata], dtype=object)
    present = np.array([s is not None for s in strata], dtype=bool)
    for label in sorted({s for s in strata if s is not None}):
        mask = present & (labels == label)
        if int(mask.sum()) >= MIN_STRATUM_EVENTS:
            out.append(
                build_event_prior(theta[mask], count=scale.is_count, stratum=label, density=density)
            )
    return out


def lag_curve(fit: MetricFit) -> LagEffect:
    """The shared reporting-lag effect with 90% intervals, one value per lag bin."""
    half = float(stats.norm.ppf(0.95)) * fit.lag_se
    return LagEffect(
        days=list(LAG_EDGES),
        effect=[float(v) for v in fit.lag_effect],
        lo90=[float(v) for v in fit.lag_effect - half],
        hi90=[float(v) for v in fit.lag_effect + half],
    )


def period_starts(dates: pl.Series, months: int) -> pl.Series:
    """The period of each date: the first month (``YYYY-MM``) of its run of ``months`` calendar
    months, counted from January of year 0 (so 12 gives calendar years); null without a date."""
    index = (dates.dt.year().cast(pl.Int64) * 12 + dates.dt.month().cast(pl.Int64) - 1) // months
    first = index * months
    return (
        pl.DataFrame({"first": first})
        .select(
            pl.format(
                "{}-{}",
                (pl.col("first") // 12).cast(pl.String).str.zfill(4),
                (pl.col("first") % 12 + 1).cast(pl.String).str.zfill(2),
            ).alias("period")
        )
        .to_series()
    )


def period_effect(fit: MetricFit, effects: Effects, starts: list[str], months: int) -> PeriodEffect:
    """The fitted period effects with 90% intervals, one per period with settled events."""
    half = float(stats.norm.ppf(0.95)) * fit.period_se
    counts = np.bincount(effects.event_period[effects.event_period >= 0], minlength=len(starts))
    return PeriodEffect(
        months=months,
        sd=fit.period_sd,
        start=starts,
        effect=[float(v) for v in fit.period_effect],
        se=[float(v) for v in fit.period_se],
        lo90=[float(v) for v in fit.period_effect - half],
        hi90=[float(v) for v in fit.period_effect + half],
        n_events=[int(v) for v in counts],
    )


def stratum_biases(
    fit: MetricFit, effects: Effects, cell_strata: list[str], scale: Scale, n_outlets: int
) -> list[list[StratumBias]]:
    """Per outlet, its bias for each stratum it reported: overall bias plus the deviation."""
    out: list[list[StratumBias]] = [[] for _ in range(n_outlets)]
    if not effects.n_cells:
        return out
    has = effects.cell >= 0
    counts = np.bincount(effects.cell[has], minlength=effects.n_cells)
    z = float(stats.norm.ppf(0.95))
    for c, (outlet, stratum) in enumerate(zip(effects.cell_outlet, cell_strata, strict=True)):
        estimate = float(fit.bias[outlet] + fit.stratum_delta[c])
        se = float(np.hypot(fit.bias_se[outlet], fit.stratum_delta_se[c]))
        bias = Interval(estimate, estimate - z * se, estimate + z * se)
        out[outlet].append(
            StratumBias(
                stratum=stratum,
                n_reports=int(counts[c]),
                bias=bias,
                bias_se=se,
                factor=factor_of(bias, scale),
            )
        )
    return out


def group_priors(metric: str, fit: MetricFit, group_names: list[str]) -> list[GroupPrior]:
    return [
        GroupPrior(
            group=name,
            metric=metric,
            n_outlets=int(fit.group_n_outlets[k]),
            bias_mean=float(fit.group_mean[k]),
            bias_mean_se=float(fit.group_mean_se[k]),
            between_sd=float(fit.group_between_sd[k]),
            sd_prior_dof=float(fit.group_sd_prior_dof[k]),
            sd_prior_scale=float(fit.group_sd_prior_scale[k]),
        )
        for k, name in enumerate(group_names)
    ]


def outlet_scores(
    metric: str,
    scale: Scale,
    fit: MetricFit,
    info: OutletInfo,
    params: MetricParams,
    strata: list[list[StratumBias]] | None = None,
) -> list[OutletScore]:
    """One entry per outlet; outlets with no reports are ``cold_start`` at their group prior."""
    bias_lo, bias_hi = fit.bias_interval()
    sd_lo, sd_hi = fit.sd_interval()
    predictive2 = fit.sd**2 + fit.bias_se**2
    weight = params.typical_sd**2 / predictive2
    out: list[OutletScore] = []
    for k, outlet in enumerate(info.names):
        cold = bool(fit.n_reports[k] <= 0)
        bias = Interval(float(fit.bias[k]), float(bias_lo[k]), float(bias_hi[k]))
        out.append(
            OutletScore(
                outlet=outlet,
                metric=metric,
                group=info.groups[k],
                n_reports=int(info.n_reports[k]),
                n_events=int(info.n_events[k]),
                effective_n=float(fit.effective_n[k]),
                bias=bias,
                bias_se=float(fit.bias_se[k]),
                factor=factor_of(bias, scale),
                sd=Interval(float(fit.sd[k]), float(sd_lo[k]), float(sd_hi[k])),
                sd_dof=float(fit.sd_dof[k]),
                weight=float(weight[k]),
                last_report_at=info.last_report_at[k],
                cold_start=cold,
                name=info.display[k],
                aliases=info.aliases[k],
                strata=[] if strata is None else strata[k],
                overall_bias=None if fit.overall_bias is None else float(fit.overall_bias[k]),
            )
        )
    return out


def factor_of(bias: Interval, scale: Scale) -> Interval | None:
    """exp(bias) on the log scale: 1.35 means 35% above the settled figure."""
    if scale is not Scale.LOG:
        return None
    return Interval(
        float(np.exp(bias.estimate)), float(np.exp(bias.lo90)), float(np.exp(bias.hi90))
    )


@dataclass(frozen=True)
class Prediction:
    """What a report's outlet contributes to fusion: expected error and predictive scale."""

    bias: float
    scale: float
    score: OutletScore | None
    group: str | None
    bias_interval: Interval
    bias_se: float
    sd: Interval


class MetricLookup:
    """Outlet parameters of one metric by canonical outlet id, with cold-start priors."""

    def __init__(
        self, params: MetricParams, outlets: list[OutletScore], groups: list[GroupPrior]
    ) -> None:
        self.params = params
        self.scale = Scale(params.scale)
        self.outlets = {o.outlet: o for o in outlets}
        self.groups = {g.group: g for g in groups}
        self.priors = [TabulatedPrior.of(p) for p in params.event_priors]
        self.prior_index = {p.stratum: k for k, p in enumerate(params.event_priors)}
        self._lag = None if params.lag is None else np.asarray(params.lag.effect, np.float64)
        self._period = params.period
        self._period_by_date: dict[date | None, tuple[float, float]] = {}
        self._period_frame = pl.DataFrame(
            {
                "_start": [] if params.period is None else params.period.start,
                "_effect": [] if params.period is None else params.period.effect,
                "_var": [] if params.period is None else [v * v for v in params.period.se],
            },
            schema={"_start": pl.String, "_effect": pl.Float64, "_var": pl.Float64},
        )
        self._cold: dict[str | None, Prediction] = {}
        self._known: dict[str, Prediction] = {}
        self._outlet_frame = pl.DataFrame(
            {
                "outlet": [o.outlet for o in outlets],
                "_bias": [o.bias.estimate for o in outlets],
                "_se": [o.bias_se for o in outlets],
                "_sd": [o.sd.estimate for o in outlets],
                "_cold": [o.cold_start for o in outlets],
            },
            schema={
                "outlet": pl.String,
                "_bias": pl.Float64,
                "_se": pl.Float64,
                "_sd": pl.Float64,
                "_cold": pl.Boolean,
            },
        )
        cells = [(o.outlet, sb) for o in outlets for sb in o.strata]
        self._cell_frame = pl.DataFrame(
            {
                "outlet": [c[0] for c in cells],
                "stratum": [c[1].stratum for c in cells],
                "_cell_bias": [c[1].bias.estimate for c in cells],
                "_cell_se": [c[1].bias_se for c in cells],
            },
            schema={
                "outlet": pl.String,
                "stratum": pl.String,
                "_cell_bias": pl.Float64,
                "_cell_se": pl.Float64,
            },
        )

    def prior_for(self, stratum: str | None) -> int:
        return self.prior_index.get(stratum, 0)

    def prior_indices(self, strata: pl.Series) -> npt.NDArray[np.intp]:
        """Vectorised :meth:`prior_for`: the metric-wide prior (0) unless a stratum has its own."""
        own = {k: v for k, v in self.prior_index.items() if k is not None}
        codes = strata.replace_strict(own, default=0, return_dtype=pl.Int64).fill_null(0)
        return codes.to_numpy().astype(np.intp)

    def predict(
        self, outlet: str, stratum: str | None = None, lag_days: float | None = None
    ) -> Prediction:
        """The outlet's expected error for a report on ``stratum``, ``lag_days`` after the event."""
        base = self._outlet(outlet)
        if lag_days is None and (stratum is None or base.score is None):
            return base
        bias, bias_se, interval = base.bias, base.bias_se, base.bias_interval
        if stratum is not None and base.score is not None:
            own = next((sb for sb in base.score.strata if sb.stratum == stratum), None)
            if own is not None:
                bias, bias_se, interval = own.bias.estimate, own.bias_se, own.bias
        if self._lag is not None and lag_days is not None:
            bias += float(self.lag_shift(np.array([lag_days]))[0])
        return Prediction(
            bias=bias,
            scale=float(np.hypot(base.sd.estimate, bias_se)),
            score=base.score,
            group=base.group,
            bias_interval=interval,
            bias_se=bias_se,
            sd=base.sd,
        )

    def lag_shift(self, days: FloatArray) -> FloatArray:
        """The shared reporting-lag effect at ``days`` after the event (0 where unknown)."""
        if self._lag is None:
            return np.zeros(days.size)
        known = np.isfinite(days)
        return np.where(known, self._lag[np.maximum(lag_bins(days), 0)], 0.0)

    def period_errors(self, dates: pl.Series) -> tuple[FloatArray, FloatArray]:
        """Each event's period effect (by its date) and the variance that adds to its shared
        error: the fitted effect and its se^2 in a period with settled events; in any other
        period, or without a date, 0 and ``tau_c^2`` (the effect is integrated over)."""
        n = dates.len()
        if self._period is None:
            return np.zeros(n), np.zeros(n)
        joined = (
            pl.DataFrame({"_start": period_starts(dates, self._period.months)})
            .with_row_index("_row")
            .join(self._period_frame, on="_start", how="left")
            .sort("_row")
        )
        shift = joined["_effect"].fill_null(0.0).to_numpy()
        var = joined["_var"].fill_null(self._period.sd**2).to_numpy()
        return np.asarray(shift, np.float64), np.asarray(var, np.float64)

    def period_error(self, event_date: date | None) -> tuple[float, float]:
        """:meth:`period_errors` of one event (cached by date: a frame join per request would
        cost more than the fusion)."""
        if self._period is None:
            return 0.0, 0.0
        known = self._period_by_date.get(event_date)
        if known is None:
            shift, var = self.period_errors(pl.Series([event_date], dtype=pl.Date))
            known = self._period_by_date[event_date] = (float(shift[0]), float(var[0]))
        return known

    def expected_errors(
        self, outlets: pl.Series, strata: pl.Series, lag_days: FloatArray
    ) -> tuple[FloatArray, FloatArray, npt.NDArray[np.bool_]]:
        """Vectorised :meth:`predict`: each report's expected error, predictive scale, cold flag."""
        cold = self.cold(None)
        joined = (
            pl.DataFrame({"outlet": outlets, "stratum": strata})
            .with_row_index("_row")
            .join(self._outlet_frame, on="outlet", how="left")
            .join(self._cell_frame, on=["outlet", "stratum"], how="left")
            .sort("_row")
        )
        bias = joined["_bias"].fill_null(cold.bias).to_numpy()
        se = joined["_se"].fill_null(cold.bias_se).to_numpy()
        sd = joined["_sd"].fill_null(cold.sd.estimate).to_numpy()
        own = joined["_cell_bias"].is_not_null().to_numpy()
        bias = np.where(own, joined["_cell_bias"].fill_null(0.0).to_numpy(), bias)
        se = np.where(own, joined["_cell_se"].fill_null(0.0).to_numpy(), se)
        is_cold = joined["_cold"].fill_null(True).to_numpy()
        return bias + self.lag_shift(lag_days), np.hypot(sd, se), is_cold

    def _outlet(self, outlet: str) -> Prediction:
        known = self._known.get(outlet)
        if known is not None:
            return known
        score = self.outlets.get(outlet)
        if score is None:
            return self.cold(None)
        # Registry outlets without reports carry their group prior in the table already.
        known = self._known[outlet] = Prediction(
            bias=score.bias.estimate,
            scale=float(np.hypot(score.sd.estimate, score.bias_se)),
            score=score,
            group=score.group,
            bias_interval=score.bias,
            bias_se=score.bias_se,
            sd=score.sd,
        )
        return known

    def cold(self, group: str | None) -> Prediction:
        """The prior an outlet with no record starts from: its group's, or the global one."""
        known = self._cold.get(group)
        if known is None:
            known = self._cold[group] = self._cold_prior(group)
        return known

    def _cold_prior(self, group: str | None) -> Prediction:
        p = self.params
        prior = self.groups.get(group) if group is not None else None
        if prior is not None and prior.n_outlets > 0:
            mean, se = prior.bias_mean, float(np.hypot(prior.between_sd, prior.bias_mean_se))
            sd_dof, sd_scale = prior.sd_prior_dof, prior.sd_prior_scale
        else:
            mean = p.global_bias
            se = float(
                np.sqrt(p.between_group_sd**2 + p.pooled_between_sd**2 + p.global_bias_se**2)
            )
            sd_dof, sd_scale = p.sd_prior_dof, p.sd_prior_scale
        half = float(stats.norm.ppf(0.95)) * se
        return Prediction(
            bias=mean,
            scale=float(np.hypot(sd_scale, se)),
            score=None,
            group=group,
            bias_interval=Interval(mean, mean - half, mean + half),
            bias_se=se,
            sd=_prior_sd_interval(sd_dof, sd_scale),
        )


def _prior_sd_interval(dof: float, scale: float) -> Interval:
    scaled = dof * scale**2
    return Interval(
        scale,
        float(np.sqrt(scaled / stats.chi2.ppf(0.95, dof))),
        float(np.sqrt(scaled / stats.chi2.ppf(0.05, dof))),
    )
