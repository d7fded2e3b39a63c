"""What scoring and fusion return. The API serves these Structs as they are."""

from __future__ import annotations

import msgspec

from reliability.table import Interval, StratumBias


class Estimate(msgspec.Struct, frozen=True, kw_only=True):
    """A posterior for the true figure, in natural units."""

    estimate: float
    mean: float
    lo50: float
    hi50: float
    lo90: float
    hi90: float


class OutletParams(msgspec.Struct, frozen=True, kw_only=True):
    """The calibrated parameters used for an outlet (its own, or a prior when cold)."""

    outlet: str
    metric: str
    group: str | None
    n_reports: int
    bias: Interval
    factor: Interval | None
    sd: Interval
    cold_start: bool
    stratum: StratumBias | None = None


class ReportWeight(msgspec.Struct, frozen=True, kw_only=True):
    """One report's share of the information in a fused estimate (shares sum to 1)."""

    index: int
    outlet: str
    report_id: str | None
    weight: float
    cold_start: bool
    collapsed: bool = False


class Fusion(msgspec.Struct, frozen=True, kw_only=True):
    metric: str
    stratum: str | None
    n_reports: int
    posterior: Estimate
    reports: list[ReportWeight]


class Score(msgspec.Struct, frozen=True, kw_only=True):
    outlet: OutletParams
    corrected: Estimate
    relative_weight: float
    cold_start: bool
    censored: bool
    stale: bool
