"""The outlet model: per-outlet bias and spread learned from later consensus, with fusion.

>>> import polars as pl
>>> reports = pl.DataFrame({
...     "event_id": ["e1", "e1", "e2", "e2", "e3", "e3"],
...     "outlet": ["monitor", "partisan"] * 3,
...     "value": [10.0, 20.0, 30.0, 65.0, 5.0, 11.0],
... })
>>> consensus = pl.DataFrame({"event_id": ["e1", "e2", "e3"], "value": [10.0, 31.0, 5.0]})
>>> model = OutletModel(cv_folds=0).fit(reports, consensus)
>>> partisan = next(o for o in model.outlets_ if o.outlet == "partisan")
>>> partisan.factor.estimate > 1.5   # reports about twice the settled figure
True
>>> fused = model.fuse([Report(event_id="new", outlet="partisan", value=40.0)])
>>> 10 < fused.posterior.estimate < 40
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Literal, Self

import msgspec
import numpy as np
import numpy.typing as npt
import polars as pl

from reliability import frames
from reliability.crossval import cross_validate
from reliability.df_select import select_df
from reliability.effects import LAG_EDGES, Effects, lag_bins
from reliability.figures import resolve_figure
from reliability.fusion import (
    QUANTILES,
    FusedEvent,
    FusionSpec,
    ReportBatch,
    fuse_event,
    fuse_events,
)
from reliability.intervals import report_interval, truth_interval, truth_point
from reliability.metric_fit import FitState, MetricData, MetricFit, fit_metric
from reliability.params import (
    MetricLookup,
    OutletInfo,
    Prediction,
    event_priors,
    factor_of,
    group_priors,
    lag_curve,
    metric_params,
    outlet_scores,
    period_effect,
    period_starts,
    stratum_biases,
)
from reliability.records import DEFAULT_METRIC, Figure, FigureKind, Report
from reliability.results import Estimate, Fusion, OutletParams, ReportWeight, Score
from reliability.scales import Scale
from reliability.table import (
    SCHEMA_VERSION,
    EventPrior,
    GroupPrior,
    InputFingerprint,
    MetricDiagnostics,
    MetricParams,
    OutletScore,
    ScoreTable,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

KEY = list(frames.QUANTITY_KEY)
#: No outlet is more precise than 1% on the log scale (see docs/model.md, "Spread floor").
LOG_SD_FLOOR = 0.01
#: Outlets of one group are never assumed to share exactly one bias (docs/model.md).
LOG_BETWEEN_SD_FLOOR = 0.02
#: A lag bin needs this many reports (and 2% of dated ones) to be the lag curve's zero.
MIN_REFERENCE_REPORTS = 30
#: Alternations of fusing unsettled events and refitting with their estimated truths.
LATENT_ROUNDS = 2


class UnknownMetricError(KeyError):
    """A metric the model has no parameters for."""

    def __init__(self, metric: str, known: Sequence[str]) -> None:
        super().__init__(metric)
        self.metric = metric
        self.known = list(known)

    def __str__(self) -> str:
        known = ", ".join(repr(m) for m in self.known) or "none"
        return f"unknown metric {self.metric!r}; known metrics: {known}"


class OutletModel:
    """Calibrated outlet bias and spread, partial pooling, censored likelihoods, exact fusion.

    Parameters are stored as given; :meth:`fit` does the work. Fitted attributes:
    ``metrics_`` (hyperparameters per metric), ``groups_``, ``outlets_``, ``diagnostics_``
    (cross-validated, empty when ``cv_folds < 2``).

    ``period_months`` (off by default) turns on the period effect: an error shared by every
    report of the events whose ``event_date`` falls in the same run of that many calendar
    months (12: calendar years), learnt from settled events (docs/model.md, section 4b).

    ``df`` is the Student-t degrees of freedom of report errors, or ``"auto"`` to choose it per
    metric by marginal likelihood over ``df_select.DF_CANDIDATES`` (one fit per candidate).
    """

    def __init__(
        self,
        *,
        scales: Mapping[str, Scale] | None = None,
        df: float | Literal["auto"] = 4.0,
        cv_folds: int = 5,
        grid_size: int = 256,
        seed: int = 0,
        half_life_days: float | None = None,
        drift_epoch_days: float | None = None,
        stratum_bias: bool = True,
        lag_effect: bool = True,
        latent_consensus: bool = True,
        size_prior: Literal["density", "broad"] = "density",
        stale_days: float = 365.0,
        max_iter: int = 500,
        period_months: int | None = None,
    ) -> None:
        self.scales = scales
        self.df = df
        self.cv_folds = cv_folds
        self.grid_size = grid_size
        self.seed = seed
        self.half_life_days = half_life_days
        self.drift_epoch_days = drift_epoch_days
        self.stratum_bias = stratum_bias
        self.lag_effect = lag_effect
        self.latent_consensus = latent_consensus
        self.size_prior = size_prior
        self.stale_days = stale_days
        self.max_iter = max_iter
        self.period_months = period_months

    def get_params(self) -> dict[str, object]:
        """The constructor options, as stored in a score table's ``config``."""
        return {
            "scales": {k: Scale(v).value for k, v in sorted((self.scales or {}).items())},
            "df": self.df,
            "cv_folds": self.cv_folds,
            "grid_size": self.grid_size,
            "seed": self.seed,
            "half_life_days": self.half_life_days,
            "drift_epoch_days": self.drift_epoch_days,
            "stratum_bias": self.stratum_bias,
            "lag_effect": self.lag_effect,
            "latent_consensus": self.latent_consensus,
            "size_prior": self.size_prior,
            "stale_days": self.stale_days,
            "max_iter": self.max_iter,
            "period_months": self.period_months,
        }

    # ------------------------------------------------------------------ fitting

    def fit(
        self,
        reports: pl.DataFrame,
        consensus: pl.DataFrame | None = None,
        outlets: pl.DataFrame | None = None,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> Self:
        """Fit every metric of ``reports`` against ``consensus`` (canonical frames).

        ``progress(label, done, total)``, if given, is called as each metric and each
        cross-validation fold ends.
        """
        if self.df != "auto" and not (isinstance(self.df, int | float) and self.df > 0):
            raise ValueError(f"df must be positive or 'auto', got {self.df!r}")
        if self.size_prior not in ("density", "broad"):
            raise ValueError(f"size_prior must be 'density' or 'broad', got {self.size_prior!r}")
        if self.period_months is not None and self.period_months < 1:
            raise ValueError(f"period_months must be at least 1, got {self.period_months}")
        reports = _resolved(frames.conform(_with_kind(reports), frames.REPORTS), outlets)
        consensus = frames.conform(
            _with_kind(consensus if consensus is not None else pl.DataFrame()), frames.CONSENSUS
        )
        registry = frames.conform(
            outlets if outlets is not None else pl.DataFrame(), frames.OUTLETS
        )
        metrics: dict[str, MetricParams] = {}
        groups: list[GroupPrior] = []
        scores: list[OutletScore] = []
        metric_names = sorted(reports["metric"].unique().to_list())
        for done, metric in enumerate(metric_names, start=1):
            params, metric_groups, metric_scores = self._fit_metric(
                metric, reports, consensus, registry
            )
            if progress is not None:
                progress(f"fitted {metric}", done, len(metric_names))
            metrics[metric] = params
            groups.extend(metric_groups)
            scores.extend(metric_scores)
        self._install(metrics, groups, scores)
        self.diagnostics_: list[MetricDiagnostics] = []
        if self.cv_folds >= 2 and consensus.height:
            self.diagnostics_ = cross_validate(self, reports, consensus, registry, progress)
        return self

    def _fit_metric(
        self,
        metric: str,
        reports: pl.DataFrame,
        consensus: pl.DataFrame,
        registry: pl.DataFrame,
    ) -> tuple[MetricParams, list[GroupPrior], list[OutletScore]]:
        scale = self.scale_of(metric)
        # Only the columns the fit and the latent fusion read: at ten million reports every
        # copy of the frame below (filter, join, sort) costs a gigabyte per column set.
        rep = (
            reports.lazy()
            .filter(pl.col("metric") == metric)
            .select(
                *KEY, "outlet", "cites", "low", "high", "report_id", "published_at", "event_date"
            )
            .collect()
        )
        cons = consensus.filter(pl.col("metric") == metric)
        c_lo, c_hi = truth_interval(cons["low"].to_numpy(), cons["high"].to_numpy(), scale)
        # A report that repeats another outlet's figure is not the citing outlet's record.
        own = rep.filter(pl.col("cites").is_null())
        settled = own.join(
            cons.select(KEY).with_columns(
                pl.Series("t_lo", c_lo), pl.Series("t_hi", c_hi), pl.lit(0.0).alias("t_var")
            ),
            on=KEY,
            how="inner",
            nulls_equal=True,
        )
        latent = (
            own.join(cons.select(KEY), on=KEY, how="anti", nulls_equal=True)
            if self.latent_consensus
            else own.clear()
        )
        unsupervised = settled.height == 0 and latent.height > 0
        truths = _starting_truths(latent, scale) if unsupervised else None
        settled_points = truth_point(c_lo, c_hi)
        rounds = LATENT_ROUNDS if latent.height else 0
        # An estimated df is chosen in the first round and kept through the latent rounds:
        # choosing it again would refit every candidate each round.
        df = self.df
        selection = None
        state = None
        for round_ in range(rounds + 1):
            frame = (
                settled
                if truths is None
                else pl.concat([settled, latent.join(truths, on=KEY, nulls_equal=True)])
            )
            if cons.height:
                points, strata = settled_points, cons["stratum"].to_list()
            else:
                assert truths is not None
                points, strata = truths["t_lo"].to_numpy(), truths["stratum"].to_list()
            params, groups, scores, fitted = self._fit_frame(
                metric,
                scale,
                frame,
                rep,
                registry,
                event_priors(points, strata, scale, density=self.size_prior == "density"),
                df=df,
                centre=unsupervised,
                start=state,
            )
            if params.df_selection is not None:
                df, selection = params.df, params.df_selection
            if round_ == rounds:
                break
            # Each round starts where the last ended; the next round fits the settled and the
            # latent reports, so this round's events and cells are its own only if it did too.
            state = fitted if truths is not None else fitted.outlets_only()
            truths = self._latent_truths(MetricLookup(params, scores, groups), latent)
        return msgspec.structs.replace(params, df_selection=selection), groups, scores

    def _latent_truths(self, lookup: MetricLookup, latent: pl.DataFrame) -> pl.DataFrame:
        """The current fused posterior of every unsettled quantity: median and variance."""
        fused = self._fuse_with(lookup, latent, None)
        spread = (fused["q95"] - fused["q05"]) / (2 * 1.6448536269514722)
        return fused.select(
            *KEY,
            pl.col("q50").alias("t_lo"),
            pl.col("q50").alias("t_hi"),
            (spread * spread).alias("t_var"),
        )

    def _fit_frame(
        self,
        metric: str,
        scale: Scale,
        frame: pl.DataFrame,
        rep: pl.DataFrame,
        registry: pl.DataFrame,
        priors: list[EventPrior],
        *,
        df: float | Literal["auto"],
        centre: bool,
        start: FitState | None = None,
    ) -> tuple[MetricParams, list[GroupPrior], list[OutletScore], FitState]:
        """Fit reports whose events' truths (``t_lo``, ``t_hi``, ``t_var``) are given, from
        ``start`` (see ``fit_metric``) if given; also return where the fit ended."""
        codes = (
            pl.concat([rep.select("outlet"), registry.select("outlet")])
            .unique()
            .sort("outlet")
            .with_row_index("code")
        )
        names: list[str] = codes["outlet"].to_list()
        reg = {row["outlet"]: row for row in registry.iter_rows(named=True)}
        group_names = sorted({g for g in registry["group"].to_list() if g is not None})
        groups = pl.DataFrame(
            {"group": group_names, "group_code": range(len(group_names))},
            schema={"group": pl.String, "group_code": pl.Int64},
        )
        # Sorted, so the fit does not depend on the order of the input rows; then an event's
        # code is the index of its run of equal keys.
        event_code = (
            frame.select(
                *KEY,
                "outlet",
                "low",
                "high",
                "report_id",
                "t_lo",
                "t_hi",
                "t_var",
                "published_at",
                "event_date",
            )
            .sort([*KEY, "outlet", "low", "high", "report_id"], nulls_last=True)
            .with_columns(pl.struct(KEY).rle_id().alias("event"))
        )
        events = event_code.filter(pl.col("event").is_first_distinct()).select(
            *KEY, "t_lo", "t_hi", "t_var"
        )
        lo, hi = report_interval(event_code["low"].to_numpy(), event_code["high"].to_numpy(), scale)
        ev = event_code["event"].to_numpy().astype(np.intp)
        outlet_idx = (
            event_code["outlet"].cast(pl.Enum(names)).to_physical().to_numpy().astype(np.intp)
        )
        outlet_group = (
            codes.join(registry.select("outlet", "group"), on="outlet", how="left")
            .join(groups, on="group", how="left")
            .sort("code")["group_code"]
            .fill_null(-1)
            .to_numpy()
            .astype(np.intp)
        )
        effects, cell_strata = self._effects(event_code, outlet_idx, len(names))
        event_period, starts = self._periods(event_code, events.height)
        if starts:
            effects = replace(
                effects,
                period=event_period[ev],
                event_period=event_period,
                n_periods=len(starts),
            )
        weight = self._recency_weights(event_code)
        # The sorted copy of the frame is not needed during the fit (a gigabyte at 10M).
        del event_code
        data = MetricData(
            outlet=outlet_idx,
            event=ev,
            lo=lo,
            hi=hi,
            truth_lo=events["t_lo"].to_numpy(),
            truth_hi=events["t_hi"].to_numpy(),
            outlet_group=outlet_group,
            n_groups=len(group_names),
            offset=np.zeros(ev.size),
            weight=weight,
            effects=effects,
            truth_var=events["t_var"].to_numpy(),
        )

        def fit_at(nu: float) -> MetricFit:
            return fit_metric(
                data,
                df=nu,
                sd_floor=LOG_SD_FLOOR if scale is Scale.LOG else None,
                between_sd_floor=LOG_BETWEEN_SD_FLOOR if scale is Scale.LOG else None,
                max_iter=self.max_iter,
                start=start,
            )

        fit, selection = select_df(data, fit_at) if df == "auto" else (fit_at(df), None)
        if centre:
            fit = _zero_mean_bias(fit)
        params = metric_params(
            metric,
            scale,
            fit,
            priors,
            n_reports=int(ev.size),
            n_events=events.height,
            lag=lag_curve(fit) if effects.n_lag_bins else None,
            period=(
                period_effect(fit, effects, starts, self.period_months)
                if starts and self.period_months is not None
                else None
            ),
        )
        params = msgspec.structs.replace(params, df_selection=selection)
        stats = rep.group_by("outlet").agg(
            pl.col("event_id").n_unique().alias("n_events"),
            pl.col("published_at").max().alias("last"),
        )
        by_outlet = {row["outlet"]: row for row in stats.iter_rows(named=True)}
        info = OutletInfo(
            names=names,
            groups=[reg.get(n, {}).get("group") for n in names],
            display=[reg.get(n, {}).get("name") for n in names],
            aliases=[list(reg.get(n, {}).get("aliases") or []) for n in names],
            last_report_at=[by_outlet.get(n, {}).get("last") for n in names],
            n_events=np.array([by_outlet.get(n, {}).get("n_events", 0) for n in names]),
            n_reports=np.bincount(outlet_idx, minlength=len(names)),
        )
        strata = stratum_biases(fit, effects, cell_strata, scale, len(names))
        scores = outlet_scores(metric, scale, fit, info, params, strata)
        return params, group_priors(metric, fit, group_names), scores, fit.state

    def _effects(
        self, frame: pl.DataFrame, outlet_idx: IntArray, n_outlets: int
    ) -> tuple[Effects, list[str]]:
        """Stratum cells (outlet, stratum) and reporting-lag bins of the fitted reports."""
        effects = Effects.none(frame.height)
        cell, cell_outlet, cell_strata = effects.cell, effects.cell_outlet, []
        cell_stratum = effects.cell_stratum
        if self.stratum_bias and frame["stratum"].null_count() < frame.height:
            cells = (
                pl.DataFrame({"o": outlet_idx, "stratum": frame["stratum"]})
                .with_row_index("row")
                .filter(pl.col("stratum").is_not_null())
            )
            keys = cells.select("o", "stratum").unique().sort("o", "stratum").with_row_index("c")
            coded = cells.join(keys, on=["o", "stratum"])
            cell = np.full(frame.height, -1, dtype=np.intp)
            cell[coded["row"].to_numpy()] = coded["c"].to_numpy()
            cell_outlet = keys["o"].to_numpy().astype(np.intp)
            cell_strata = keys["stratum"].to_list()
            names = sorted(set(cell_strata))
            cell_stratum = np.array([names.index(x) for x in cell_strata], dtype=np.intp)
        lag_bin, reference = effects.lag_bin, -1
        if self.lag_effect:
            bins = lag_bins(_lag_days(frame))
            counts = np.bincount(bins[bins >= 0], minlength=len(LAG_EDGES))
            # The reference is the latest bin with enough reports to pin the curve down.
            solid = np.flatnonzero(counts >= max(MIN_REFERENCE_REPORTS, 0.02 * counts.sum()))
            if np.count_nonzero(counts) >= 2 and solid.size:
                lag_bin, reference = bins, int(solid.max())
        effects = Effects(cell, cell_outlet, cell_stratum, lag_bin, reference)
        epoch = self._epochs(frame)
        if epoch is not None:
            n_epochs = int(epoch.max()) + 1
            effects = replace(
                effects,
                epoch_cell=outlet_idx * n_epochs + epoch,
                n_epochs=n_epochs,
                n_epoch_cells=n_outlets * n_epochs,
            )
        return effects, cell_strata

    def _epochs(self, frame: pl.DataFrame) -> IntArray | None:
        """Each report's age epoch for the drifting bias (0: the latest ``drift_epoch_days``
        of the record), or ``None`` when drift is off or the record fits in one epoch."""
        if self.drift_epoch_days is None or frame.height == 0:
            return None
        if self.drift_epoch_days <= 0:
            raise ValueError(f"drift_epoch_days must be positive, got {self.drift_epoch_days}")
        stamp = pl.coalesce("published_at", pl.col("event_date").cast(pl.Datetime("us", "UTC")))
        age = frame.select(
            ((stamp.max() - stamp).dt.total_seconds().cast(pl.Float64) / 86400.0).fill_null(
                float("nan")
            )
        ).to_series()
        if age.is_nan().all():
            return None
        # Undated reports count as current, as in recency weighting.
        epoch = np.floor(np.nan_to_num(age.to_numpy(), nan=0.0) / self.drift_epoch_days)
        return epoch.astype(np.intp) if epoch.max() >= 1 else None

    def _periods(self, frame: pl.DataFrame, n_events: int) -> tuple[IntArray, list[str]]:
        """Each event's period code (``-1``: none) and the periods' first months.

        An event's period is that of the earliest ``event_date`` among its reports. Only
        events with a settled truth (``t_var`` 0) get one: an estimated truth was fused with
        the current period effect and would only confirm it. The effect needs two periods.
        """
        none = np.full(n_events, -1, dtype=np.intp)
        if self.period_months is None:
            return none, []
        events = (
            frame.group_by("event")
            .agg(pl.col("event_date").min(), pl.col("t_var").first())
            .sort("event")
            .with_columns(pl.col("event_date").cast(pl.Date))
        )
        start = period_starts(events["event_date"], self.period_months)
        settled = (events["t_var"] == 0).to_numpy() & start.is_not_null().to_numpy()
        names = sorted(set(start.filter(pl.Series(settled)).to_list()))
        if len(names) < 2:
            return none, []
        code = start.replace_strict(
            {name: k for k, name in enumerate(names)}, default=-1, return_dtype=pl.Int64
        )
        periods = np.where(settled, code.fill_null(-1).to_numpy(), -1).astype(np.intp)
        return periods, names

    def _recency_weights(self, frame: pl.DataFrame) -> FloatArray:
        """Exponential down-weighting of old reports (all 1 without ``half_life_days``)."""
        n = frame.height
        if self.half_life_days is None or n == 0:
            return np.ones(n)
        stamps = frame["published_at"]
        if stamps.null_count() == n:
            return np.ones(n)
        age_days = (
            frame.select((pl.col("published_at").max() - pl.col("published_at")).dt.total_seconds())
            .to_series()
            .to_numpy()
            / 86400.0
        )
        # Undated reports count as current.
        age = np.nan_to_num(np.asarray(age_days, dtype=np.float64), nan=0.0)
        return np.asarray(0.5 ** (age / self.half_life_days), dtype=np.float64)

    def _install(
        self,
        metrics: dict[str, MetricParams],
        groups: list[GroupPrior],
        scores: list[OutletScore],
    ) -> None:
        self.metrics_ = metrics
        self.groups_ = groups
        self.outlets_ = scores
        self._lookups = {
            m: MetricLookup(
                p,
                [s for s in scores if s.metric == m],
                [g for g in groups if g.metric == m],
            )
            for m, p in metrics.items()
        }
        self._aliases: dict[str, str] = {}
        for s in scores:
            for alias in s.aliases:
                self._aliases[alias] = s.outlet

    # ------------------------------------------------------------------ tables

    def to_table(
        self, *, version: str, created_at: datetime, inputs: InputFingerprint | None
    ) -> ScoreTable:
        """The fitted model as a score table that :meth:`from_table` rebuilds exactly."""
        return ScoreTable(
            schema_version=SCHEMA_VERSION,
            version=version,
            created_at=created_at,
            config=self.get_params(),
            inputs=inputs,
            metrics=list(self.metrics_.values()),
            groups=self.groups_,
            outlets=self.outlets_,
            diagnostics=self.diagnostics_,
        )

    @classmethod
    def from_table(cls, table: ScoreTable) -> OutletModel:
        """A model that answers ``score`` and ``fuse`` exactly as the one that wrote ``table``."""
        config = table.config
        model = cls(
            scales={m.metric: Scale(m.scale) for m in table.metrics},
            df=_df_option(config.get("df", 4.0)),
            cv_folds=int(_number(config.get("cv_folds", 0))),
            grid_size=int(_number(config.get("grid_size", 256))),
            seed=int(_number(config.get("seed", 0))),
            stale_days=float(_number(config.get("stale_days", 365.0))),
            drift_epoch_days=_optional_number(config.get("drift_epoch_days")),
            stratum_bias=bool(config.get("stratum_bias", True)),
            lag_effect=bool(config.get("lag_effect", True)),
            latent_consensus=bool(config.get("latent_consensus", True)),
            size_prior="broad" if config.get("size_prior") == "broad" else "density",
            period_months=(
                None
                if config.get("period_months") is None
                else int(_number(config.get("period_months")))
            ),
        )
        model._install({m.metric: m for m in table.metrics}, table.groups, table.outlets)
        model.diagnostics_ = table.diagnostics
        return model

    # ------------------------------------------------------------------ answering

    def scale_of(self, metric: str) -> Scale:
        return Scale((self.scales or {}).get(metric, Scale.LOG))

    def canonical(self, outlet: str) -> str:
        """Resolve an alias to its outlet id (names that are not aliases pass through)."""
        return self._aliases.get(outlet, outlet)

    def lookup(self, metric: str) -> MetricLookup:
        try:
            return self._lookups[metric]
        except KeyError:
            raise UnknownMetricError(metric, sorted(self._lookups)) from None

    def _spec(self, lookup: MetricLookup, period_var: float = 0.0) -> FusionSpec:
        """Fusion settings; ``period_var`` is what the event's period adds to its shared error."""
        p = lookup.params
        event_sd = float(np.sqrt(p.event_sd**2 + period_var)) if period_var else p.event_sd
        return FusionSpec(scale=lookup.scale, df=p.df, event_sd=event_sd, grid_size=self.grid_size)

    def score(self, report: Report) -> Score:
        """Weigh one new report: its outlet's parameters and a bias-corrected figure."""
        lookup = self.lookup(report.metric)
        outlet = self.canonical(report.outlet)
        figure = _figure(report, lookup.scale)
        pred = lookup.predict(outlet, report.stratum, _report_lag(report))
        fused = self._fuse_one(lookup, [figure], [pred], report.stratum, report.event_date)
        cold = pred.score is None or pred.score.cold_start
        return Score(
            outlet=_outlet_params(outlet, report.metric, report.stratum, pred, lookup.scale),
            corrected=_estimate(fused, lookup.scale),
            relative_weight=float(lookup.params.typical_sd**2 / pred.scale**2),
            cold_start=cold,
            censored=figure.kind is not FigureKind.EXACT,
            stale=self._stale(pred, report),
        )

    def fuse(self, reports: Sequence[Report]) -> Fusion:
        """Combine the reports of one event into a posterior for its true figure."""
        if not reports:
            raise ValueError("no reports to fuse")
        metrics = {r.metric for r in reports}
        strata = {r.stratum for r in reports}
        if len(metrics) > 1:
            raise ValueError(f"reports of one fusion must share a metric, got {sorted(metrics)}")
        if len(strata) > 1:
            raise ValueError("reports of one fusion must share a stratum")
        lookup = self.lookup(reports[0].metric)
        figures = [_figure(r, lookup.scale) for r in reports]
        outlets = [self.canonical(r.outlet) for r in reports]
        cites = [None if r.cites is None else self.canonical(r.cites) for r in reports]
        collapsed = _collapsed(outlets, cites, figures)
        # A repeated figure speaks with the voice of the outlet it came from.
        preds = [
            lookup.predict(c if c is not None else o, r.stratum, _report_lag(r))
            for o, c, r in zip(outlets, cites, reports, strict=True)
        ]
        active = [i for i, c in enumerate(collapsed) if not c]
        dates = [r.event_date for r in reports if r.event_date is not None]
        fused = self._fuse_one(
            lookup,
            [figures[i] for i in active],
            [preds[i] for i in active],
            reports[0].stratum,
            min(dates) if dates else None,
        )
        share = dict(zip(active, fused.weights.tolist(), strict=True))
        return Fusion(
            metric=reports[0].metric,
            stratum=reports[0].stratum,
            n_reports=len(reports),
            posterior=_estimate(fused, lookup.scale),
            reports=[
                ReportWeight(
                    index=i,
                    outlet=outlets[i],
                    report_id=r.report_id,
                    weight=share.get(i, 0.0),
                    cold_start=preds[i].score is None or preds[i].score.cold_start,  # type: ignore[union-attr]
                    collapsed=collapsed[i],
                )
                for i, r in enumerate(reports)
            ],
        )

    def _fuse_one(
        self,
        lookup: MetricLookup,
        figures: list[Figure],
        preds: list[Prediction],
        stratum: str | None,
        event_date: date | None,
    ) -> FusedEvent:
        lo, hi = report_interval(
            np.array([f.low for f in figures]), np.array([f.high for f in figures]), lookup.scale
        )
        shift, var = lookup.period_error(event_date)
        return fuse_event(
            lo,
            hi,
            np.array([p.bias for p in preds]) + shift,
            np.array([p.scale for p in preds]),
            lookup.priors[lookup.prior_for(stratum)],
            self._spec(lookup, var),
        )

    def _stale(self, pred: Prediction, report: Report) -> bool:
        if pred.score is None or pred.score.last_report_at is None:
            return False
        last = pred.score.last_report_at
        now = report.published_at or datetime.now(UTC)
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
        if last.tzinfo is None:
            last = last.replace(tzinfo=UTC)
        return now - last > timedelta(days=self.stale_days)

    # ------------------------------------------------------------------ frames

    def fuse_quantities(
        self, reports: pl.DataFrame, truth: pl.DataFrame | None = None
    ) -> pl.DataFrame:
        """Fuse a canonical reports frame per (event_id, metric, stratum).

        Columns: the key, ``n_reports``, the natural-scale ``estimate``, ``mean``, ``lo50``,
        ``hi50``, ``lo90``, ``hi90``, model-scale ``q05 … q95`` and, given settled figures
        ``truth`` (key, ``low``, ``high``), ``pit``: the posterior CDF at the settled value.
        """
        reports = _resolved(frames.conform(_with_kind(reports), frames.REPORTS), None)
        reports = reports.with_columns(
            pl.col("outlet").replace(self._aliases), pl.col("cites").replace(self._aliases)
        )
        parts = []
        for metric in sorted(reports["metric"].unique().to_list()):
            parts.append(
                self._fuse_metric_frame(metric, reports.filter(pl.col("metric") == metric), truth)
            )
        if not parts:
            return pl.DataFrame()
        return pl.concat(parts)

    def _fuse_metric_frame(
        self, metric: str, rep: pl.DataFrame, truth: pl.DataFrame | None
    ) -> pl.DataFrame:
        return self._fuse_with(self.lookup(metric), rep, truth)

    def _fuse_with(
        self, lookup: MetricLookup, rep: pl.DataFrame, truth: pl.DataFrame | None
    ) -> pl.DataFrame:
        counts = rep.group_by(KEY, maintain_order=True).len("n_reports")
        # Copies of another outlet's figure collapse onto the original.
        rep = rep.with_columns(
            pl.coalesce("cites", "outlet").alias("source"),
            pl.col("cites").is_not_null().alias("_copy"),
        ).sort("_copy")
        rep = rep.unique(subset=[*KEY, "source", "low", "high"], keep="first", maintain_order=True)
        keys = rep.select(KEY).unique(maintain_order=True).with_row_index("event")
        rep = rep.join(keys, on=KEY, nulls_equal=True)
        event = rep["event"].to_numpy().astype(np.intp)
        bias, scale, _ = lookup.expected_errors(rep["source"], rep["stratum"], _lag_days(rep))
        event_sd = None
        if lookup.params.period is not None:
            # An event's period is that of its earliest event date, as in fitting.
            dates = rep.group_by("event").agg(pl.col("event_date").min()).sort("event")
            shift, period_var = lookup.period_errors(dates["event_date"])
            bias = bias + shift[event]
            event_sd = _shared_sd(lookup, period_var)
        lo, hi = report_interval(rep["low"].to_numpy(), rep["high"].to_numpy(), lookup.scale)
        batch = ReportBatch(
            event=event,
            lo=lo,
            hi=hi,
            bias=bias,
            scale=scale,
            n_events=keys.height,
            event_sd=event_sd,
        )
        prior_index = lookup.prior_indices(keys["stratum"])
        settled = None
        if truth is not None:
            t = keys.join(truth, on=KEY, how="left", nulls_equal=True).sort("event")
            t_lo, t_hi = truth_interval(t["low"].to_numpy(), t["high"].to_numpy(), lookup.scale)
            settled = truth_point(t_lo, t_hi)
        fused = fuse_events(batch, lookup.priors, prior_index, self._spec(lookup), settled)
        natural = _natural(fused.quantiles, fused.mean_natural, lookup.scale)
        out = keys.drop("event").with_columns(
            pl.Series("pit", fused.pit),
            *[pl.Series(name, col) for name, col in natural.items()],
            *[
                pl.Series(f"q{int(q * 100):02d}", fused.quantiles[:, k])
                for k, q in enumerate(QUANTILES)
            ],
        )
        return out.join(counts, on=KEY, nulls_equal=True).select(
            [*KEY, "n_reports", *natural, *[f"q{int(q * 100):02d}" for q in QUANTILES], "pit"]
        )

    def fuse_frame(self, reports: pl.DataFrame) -> pl.DataFrame:
        """One row per (event_id, metric, stratum) with the fused posterior in natural units."""
        out = self.fuse_quantities(reports)
        return out.select([*KEY, "estimate", "mean", "lo50", "hi50", "lo90", "hi90", "n_reports"])

    def score_frame(self, reports: pl.DataFrame) -> pl.DataFrame:
        """Score each report of a canonical frame on its own."""
        reports = frames.conform(_with_kind(reports), frames.REPORTS).with_columns(
            pl.col("outlet").replace(self._aliases)
        )
        reports = reports.with_columns(
            pl.col("report_id").fill_null(pl.int_range(pl.len()).cast(pl.String))
        )
        rows: list[pl.DataFrame] = []
        for metric in sorted(reports["metric"].unique().to_list()):
            lookup = self.lookup(metric)
            rep = reports.filter(pl.col("metric") == metric)
            bias, scale, cold = lookup.expected_errors(
                rep["outlet"], rep["stratum"], _lag_days(rep)
            )
            event_sd = None
            if lookup.params.period is not None:
                shift, period_var = lookup.period_errors(rep["event_date"])
                bias = bias + shift
                event_sd = _shared_sd(lookup, period_var)
            lo, hi = report_interval(rep["low"].to_numpy(), rep["high"].to_numpy(), lookup.scale)
            batch = ReportBatch(
                event=np.arange(rep.height, dtype=np.intp),
                lo=lo,
                hi=hi,
                bias=bias,
                scale=scale,
                n_events=rep.height,
                event_sd=event_sd,
            )
            prior_index = lookup.prior_indices(rep["stratum"])
            fused = fuse_events(batch, lookup.priors, prior_index, self._spec(lookup))
            natural = _natural(fused.quantiles, fused.mean_natural, lookup.scale)
            rows.append(
                rep.select("report_id", "outlet", "metric").with_columns(
                    *[
                        pl.Series(k, natural[k])
                        for k in ("estimate", "lo50", "hi50", "lo90", "hi90")
                    ],
                    pl.Series("relative_weight", lookup.params.typical_sd**2 / scale**2),
                    pl.Series("cold_start", cold),
                    (
                        pl.col("report_id").is_not_null() & (rep["kind"] != FigureKind.EXACT.value)
                    ).alias("censored"),
                )
            )
        return pl.concat(rows) if rows else pl.DataFrame()


def _shared_sd(lookup: MetricLookup, period_var: FloatArray) -> FloatArray:
    """Each event's shared-error sd with what its period adds."""
    return np.asarray(np.sqrt(lookup.params.event_sd**2 + period_var), dtype=np.float64)


def _df_option(value: object) -> float | Literal["auto"]:
    return "auto" if value == "auto" else _number(value)


def _number(value: object) -> float:
    if isinstance(value, int | float):
        return float(value)
    raise ValueError(f"expected a number in the table config, got {value!r}")


def _optional_number(value: object) -> float | None:
    return None if value is None else _number(value)


def _with_kind(frame: pl.DataFrame) -> pl.DataFrame:
    """Fill defaults of a frame built in memory: the metric, and figures given as ``value``."""
    if frame.height and "metric" not in frame.columns:
        frame = frame.with_columns(pl.lit(DEFAULT_METRIC).alias("metric"))
    if frame.height == 0 or "kind" in frame.columns:
        return frame
    value = pl.col("value") if "value" in frame.columns else pl.lit(None, pl.Float64)
    low = pl.col("low") if "low" in frame.columns else value
    high = pl.col("high") if "high" in frame.columns else value
    return frame.with_columns(
        pl.coalesce(value, low).cast(pl.Float64).alias("low"),
        pl.coalesce(value, high).cast(pl.Float64).alias("high"),
        pl.lit(FigureKind.EXACT.value).alias("kind"),
    )


def _resolved(reports: pl.DataFrame, registry: pl.DataFrame | None) -> pl.DataFrame:
    """Map registry aliases to outlet ids in ``outlet`` and ``cites``."""
    if registry is None or registry.height == 0 or "aliases" not in registry.columns:
        return reports
    pairs = registry.select("outlet", "aliases").explode("aliases").drop_nulls()
    mapping = dict(zip(pairs["aliases"].to_list(), pairs["outlet"].to_list(), strict=True))
    if not mapping:
        return reports
    return reports.with_columns(pl.col("outlet").replace(mapping), pl.col("cites").replace(mapping))


def _figure(report: Report, scale: Scale) -> Figure:
    return resolve_figure(
        value=report.value,
        low=report.low,
        high=report.high,
        text=report.figure_text,
        count=scale.is_count,
    )


def _collapsed(outlets: list[str], cites: list[str | None], figures: list[Figure]) -> list[bool]:
    """Reports that repeat a figure already present from the outlet they cite."""
    present = {
        (o, f.low, f.high) for o, c, f in zip(outlets, cites, figures, strict=True) if c is None
    }
    seen: set[tuple[str, float, float]] = set()
    out = []
    for c, f in zip(cites, figures, strict=True):
        if c is None:
            out.append(False)
            continue
        key = (c, f.low, f.high)
        out.append(key in present or key in seen)
        seen.add(key)
    return out


def _natural(quantiles: FloatArray, mean: FloatArray, scale: Scale) -> dict[str, FloatArray]:
    """Posterior summaries in natural units, from model-scale ``quantiles`` (one row per event)."""
    q = _natural_quantiles(quantiles, scale)
    return {
        "estimate": q[:, 2],
        "mean": mean,
        "lo50": q[:, 1],
        "hi50": q[:, 3],
        "lo90": q[:, 0],
        "hi90": q[:, 4],
    }


def _natural_quantiles(quantiles: FloatArray, scale: Scale) -> FloatArray:
    """Model-scale quantiles in natural units.

    A count is the latent value rounded to a whole number, so the alpha-quantile of the count
    (the median included) is the smallest whole ``t`` with ``t + 0.5`` above the latent one.
    """
    q = scale.inverse(quantiles)
    if scale.is_count:
        q = np.maximum(q, 0.0)
        q = np.maximum(np.ceil(q - 0.5 - 1e-9), 0.0)
    return q


def _estimate(fused: FusedEvent, scale: Scale) -> Estimate:
    lo90, lo50, estimate, hi50, hi90 = _natural_quantiles(fused.quantiles, scale).tolist()
    return Estimate(
        estimate=estimate, mean=fused.mean_natural, lo50=lo50, hi50=hi50, lo90=lo90, hi90=hi90
    )


def _outlet_params(
    outlet: str, metric: str, stratum: str | None, pred: Prediction, scale: Scale
) -> OutletParams:
    """The outlet's overall parameters, and its bias for ``stratum`` where it has one."""
    score = pred.score
    overall = pred.bias_interval if score is None else score.bias
    own = None if score is None else next((s for s in score.strata if s.stratum == stratum), None)
    return OutletParams(
        outlet=outlet,
        metric=metric,
        group=pred.group,
        n_reports=0 if score is None else score.n_reports,
        bias=overall,
        factor=factor_of(overall, scale),
        sd=pred.sd,
        cold_start=score is None or score.cold_start,
        stratum=own,
    )


def _lag_days(frame: pl.DataFrame) -> FloatArray:
    """Days from each report's event to its publication (nan where either is unknown)."""
    days = frame.select(
        (
            (pl.col("published_at") - pl.col("event_date").cast(pl.Datetime("us", "UTC")))
            .dt.total_seconds()
            .cast(pl.Float64)
            / 86400.0
        ).fill_null(float("nan"))
    ).to_series()
    return np.asarray(days.to_numpy(), dtype=np.float64)


def _report_lag(report: Report) -> float | None:
    if report.published_at is None or report.event_date is None:
        return None
    published = report.published_at
    if published.tzinfo is None:
        published = published.replace(tzinfo=UTC)
    start = datetime(
        report.event_date.year, report.event_date.month, report.event_date.day, tzinfo=UTC
    )
    return (published - start).total_seconds() / 86400.0


def _starting_truths(latent: pl.DataFrame, scale: Scale) -> pl.DataFrame:
    """Without any settled figure, start each event's truth at the median of its reports."""
    lo, hi = report_interval(latent["low"].to_numpy(), latent["high"].to_numpy(), scale)
    points = latent.select(KEY).with_columns(pl.Series("x", truth_point(lo, hi)))
    points = points.filter(pl.col("x").is_finite())
    spread = float(np.std(points["x"].to_numpy())) if points.height > 1 else 1.0
    starts = points.group_by(KEY, maintain_order=True).agg(pl.col("x").median())
    missing = latent.select(KEY).unique().join(starts, on=KEY, how="anti", nulls_equal=True)
    starts = pl.concat(
        [starts, missing.with_columns(pl.lit(float(np.median(points["x"]))).alias("x"))]
    )
    return starts.select(
        *KEY,
        pl.col("x").alias("t_lo"),
        pl.col("x").alias("t_hi"),
        pl.lit(max(spread, 1e-3) ** 2).alias("t_var"),
    )


def _zero_mean_bias(fit: MetricFit) -> MetricFit:
    """Without settled figures biases are known only up to a shift: fix their mean at zero.

    The constraint: the report-weighted mean of the outlets' biases is exactly zero (so the
    fused truths are what an average report says, after each outlet's relative bias).
    """
    active = fit.n_reports > 0
    shift = (
        float(np.average(fit.bias[active], weights=fit.n_reports[active])) if active.any() else 0.0
    )
    return replace(
        fit,
        bias=fit.bias - shift,
        overall_bias=None if fit.overall_bias is None else fit.overall_bias - shift,
        group_mean=fit.group_mean - shift,
        global_bias=fit.global_bias - shift,
    )
