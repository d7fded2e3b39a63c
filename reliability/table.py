"""The score table: everything the batch job learns, as versioned, self-describing JSON.

A table holds enough to rebuild the fitted model exactly (``OutletModel.from_table``), so
the API answers the same as the model the table was saved from. ``docs/score-table.md``
explains every field for a newsroom reader.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

SCHEMA_VERSION = 3


class Interval(msgspec.Struct, frozen=True):
    """A point estimate with its 90% interval."""

    estimate: float
    lo90: float
    hi90: float


class StratumBias(msgspec.Struct, frozen=True, kw_only=True):
    """An outlet's bias for one stratum (whose casualties), shrunk toward its overall bias."""

    stratum: str
    n_reports: int
    bias: Interval
    bias_se: float
    factor: Interval | None = None


class OutletScore(msgspec.Struct, frozen=True, kw_only=True):
    """One outlet's calibrated parameters for one metric."""

    outlet: str
    metric: str
    group: str | None
    n_reports: int
    n_events: int
    effective_n: float
    bias: Interval
    bias_se: float
    factor: Interval | None
    sd: Interval
    sd_dof: float
    weight: float
    last_report_at: datetime | None
    cold_start: bool
    name: str | None = None
    aliases: list[str] = msgspec.field(default_factory=list)
    strata: list[StratumBias] = msgspec.field(default_factory=list)
    #: With drift modelled, ``bias`` (and each stratum's) is the *current* bias and this is
    #: the record-weighted mean of the outlet's epoch biases; ``None`` without drift.
    overall_bias: float | None = None


class GroupPrior(msgspec.Struct, frozen=True, kw_only=True):
    """The prior an outlet of this group starts from, and that its bias shrinks toward."""

    group: str
    metric: str
    n_outlets: int
    bias_mean: float
    bias_mean_se: float
    between_sd: float
    #: Scaled-inverse-chi^2 prior of its outlets' spreads: the pooled metric-wide prior's
    #: values when the group has too few outlets with reports for its own scale.
    sd_prior_dof: float
    sd_prior_scale: float


class EventPrior(msgspec.Struct, frozen=True, kw_only=True):
    """Prior density of event sizes on the model scale, tabulated on an even grid."""

    stratum: str | None
    n_events: int
    grid_start: float
    grid_step: float
    log_density: list[float]


class LagEffect(msgspec.Struct, frozen=True, kw_only=True):
    """Shared reporting-lag effect: mean error (model scale) against days after the event."""

    days: list[float]
    effect: list[float]
    lo90: list[float]
    hi90: list[float]


class PeriodEffect(msgspec.Struct, frozen=True, kw_only=True):
    """Error shared by every report of a period (model scale), ``c_p ~ N(0, sd^2)``.

    Periods are runs of ``months`` calendar months, named by their first month (``YYYY-MM``);
    only periods with settled events are listed. A report of any other period (or without an
    event date) integrates over ``N(0, sd^2)``.
    """

    months: int
    sd: float
    start: list[str]
    effect: list[float]
    se: list[float]
    lo90: list[float]
    hi90: list[float]
    n_events: list[int]


class DfSelection(msgspec.Struct, frozen=True, kw_only=True):
    """How ``df`` was chosen (option ``df="auto"``): the marginal log-likelihood of the
    metric's reports under the fit at each candidate; the largest wins."""

    candidates: list[float]
    log_likelihood: list[float]


class MetricParams(msgspec.Struct, frozen=True, kw_only=True):
    """Hyperparameters of one metric."""

    metric: str
    scale: str
    df: float
    event_sd: float
    global_bias: float
    global_bias_se: float
    between_group_sd: float
    pooled_between_sd: float
    sd_prior_dof: float
    sd_prior_scale: float
    typical_sd: float
    n_reports: int
    n_events: int
    n_outlets: int
    event_priors: list[EventPrior]
    lag: LagEffect | None = None
    period: PeriodEffect | None = None
    #: Step sd of the outlets' bias random walk per drift epoch; ``None`` without drift.
    drift_sd: float | None = None
    df_selection: DfSelection | None = None


class Accuracy(msgspec.Struct, frozen=True, kw_only=True):
    """Cross-validated accuracy of fused estimates against consensus, on the model scale."""

    method: str
    n_events: int
    mae: float
    rmse: float
    coverage50: float | None = None
    coverage90: float | None = None


class CalibrationBin(msgspec.Struct, frozen=True, kw_only=True):
    """Coverage for events with a given number of reports."""

    min_reports: int
    max_reports: int
    n_events: int
    coverage50: float
    coverage90: float
    mae: float


class MetricDiagnostics(msgspec.Struct, frozen=True, kw_only=True):
    metric: str
    folds: int
    model: Accuracy
    baselines: list[Accuracy]
    by_n_reports: list[CalibrationBin]
    pit_histogram: list[float]


class InputFile(msgspec.Struct, frozen=True, kw_only=True):
    path: str
    role: str
    sha256: str
    rows: int


class InputFingerprint(msgspec.Struct, frozen=True, kw_only=True):
    files: list[InputFile]
    n_reports: int
    n_consensus: int
    n_outlets: int
    first_report_at: datetime | None
    last_report_at: datetime | None
    digest: str


class ScoreTable(msgspec.Struct, frozen=True, kw_only=True):
    schema_version: int
    version: str
    created_at: datetime
    config: dict[str, object]
    inputs: InputFingerprint | None
    metrics: list[MetricParams]
    groups: list[GroupPrior]
    outlets: list[OutletScore]
    diagnostics: list[MetricDiagnostics]
