"""Scoring one report, a batch of independent reports, and fusing the reports of one event."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from types import MappingProxyType
from typing import Annotated, TypeVar

import anyio
import msgspec
from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import Body

from api.access import JSON_BODY_OPT, KEY_PROBLEMS, KEY_SECURITY, SCOPE_OPT
from api.problems import FieldError, ProblemError, problem_responses
from api.registry import Snapshot
from api.settings import Settings
from reliability.figures import FigureError, resolve_figure
from reliability.outlet_model import UnknownMetricError
from reliability.records import DEFAULT_METRIC, Report
from reliability.results import Fusion, Score

#: Hard cap in the schema; the configured max_batch and max_fuse_reports apply below it.
MAX_LIST = 10_000
#: Fusions of up to this many reports (about 1 ms) run on the event loop: a hop to a worker
#: thread costs a tenth of that, and holds the loop no longer than the decoding of the body.
INLINE_FUSE_REPORTS = 64
_EVENT = "request"

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Number = Annotated[float, msgspec.Meta(ge=-1e15, le=1e15)]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]
Timestamp = Annotated[datetime, msgspec.Meta(tz=True)]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Scoring:
    """The served table and the server's limits, as one dependency of the list endpoints.

    Litestar resolves two or more dependencies of a handler concurrently, in a task group:
    for a request that needs a few hundred microseconds, that costs more than it saves.
    """

    snapshot: Snapshot
    settings: Settings


class ReportIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One outlet's figure for one quantity: give ``value``, or ``low``/``high``, or ``text``."""

    outlet: Name
    metric: Name = DEFAULT_METRIC
    value: Number | None = None
    low: Number | None = None
    high: Number | None = None
    #: A figure in words, such as "more than 50" or "between 10 and 20".
    text: Text | None = None
    #: Whose casualties (for example "civilians"); absent means all.
    stratum: Name | None = None
    published_at: Timestamp | None = None
    event_date: date | None = None
    #: The outlet this report cites; cited duplicates are collapsed when fusing.
    cites: Name | None = None
    report_id: Name | None = None

    def to_report(self) -> Report:
        return Report(
            event_id=_EVENT,
            outlet=self.outlet,
            metric=self.metric,
            value=self.value,
            low=self.low,
            high=self.high,
            figure_text=self.text,
            stratum=self.stratum,
            published_at=self.published_at,
            event_date=self.event_date,
            cites=self.cites,
            report_id=self.report_id,
        )


class ReportList(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    reports: Annotated[list[ReportIn], msgspec.Meta(min_length=1, max_length=MAX_LIST)]


class ScoreResponse(msgspec.Struct, frozen=True, kw_only=True):
    version: str
    score: Score


class BatchItem(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The answer for ``reports[index]``: its score, or what is wrong with it."""

    index: int
    score: Score | None = None
    errors: list[FieldError] | None = None


class BatchResponse(msgspec.Struct, frozen=True, kw_only=True):
    version: str
    n_scored: int
    n_failed: int
    results: list[BatchItem]


class FuseResponse(msgspec.Struct, frozen=True, kw_only=True):
    version: str
    fusion: Fusion


_SCORE_EXAMPLES = [
    Example(
        summary="An exact figure",
        value={"outlet": "reuters", "metric": "killed", "value": 120},
    ),
    Example(
        summary="A figure in words, for one stratum",
        value={
            "outlet": "tass",
            "metric": "killed",
            "text": "more than 50",
            "stratum": "civilians",
            "published_at": "2024-03-02T08:00:00Z",
            "event_date": "2024-03-01",
        },
    ),
]
_REPORTS_EXAMPLE = Example(
    summary="Three reports of one event",
    value={
        "reports": [
            {"outlet": "reuters", "value": 120, "report_id": "r1"},
            {"outlet": "tass", "low": 80, "high": 100, "report_id": "r2"},
            {"outlet": "kyiv-post", "text": "at least 150", "report_id": "r3"},
        ]
    },
)


def check_report(
    snapshot: NamedDependency[Snapshot], report: ReportIn, path: str
) -> list[FieldError]:
    """What the model would reject about ``report``, located at ``path`` in the request."""
    try:
        scale = snapshot.model.lookup(report.metric).scale
    except UnknownMetricError:
        known = ", ".join(sorted(m.metric for m in snapshot.table.metrics))
        return [
            FieldError(
                path=f"{path}.metric",
                message=f"unknown metric {report.metric!r}; this table knows: {known}",
            )
        ]
    try:
        resolve_figure(
            value=report.value,
            low=report.low,
            high=report.high,
            text=report.text,
            count=scale.is_count,
        )
    except FigureError as error:
        return [FieldError(path=f"{path}.{_figure_field(report)}", message=error.reason)]
    return []


def _figure_field(report: ReportIn) -> str:
    if report.value is not None:
        return "value"
    if report.low is not None:
        return "low"
    if report.high is not None:
        return "high"
    return "text"


def _model_call(call: Callable[[], T], locate: Callable[[], list[FieldError]], path: str) -> T:
    """Run a model call, turning its input errors into a 422.

    The reports are checked only when the model refuses them: ``locate`` names every bad field
    with its JSON path, so a valid request resolves each figure once, in the model.
    """
    try:
        return call()
    except (UnknownMetricError, FigureError, ValueError) as error:
        errors = locate() or [_model_error(error, path)]
        raise _unprocessable(errors) from None


def _model_error(error: Exception, path: str) -> FieldError:
    """An error the checks do not foresee, located at ``path``."""
    if isinstance(error, UnknownMetricError):
        message = str(error.args[0]) if error.args else str(error)
        return FieldError(path=f"{path}.metric", message=message)
    if isinstance(error, FigureError):
        return FieldError(path=path, message=error.reason)
    return FieldError(path=path, message=str(error))


def _unprocessable(errors: Sequence[FieldError]) -> ProblemError:
    return ProblemError(
        422, "invalid-report", "The report(s) cannot be scored as given.", errors=errors
    )


def _over_limit(count: int, limit: int, setting: str) -> ProblemError:
    return _unprocessable(
        [
            FieldError(
                path="$.reports",
                message=f"{count} reports exceed this server's limit of {limit} ({setting})",
            )
        ]
    )


def _score_batch(snapshot: NamedDependency[Snapshot], reports: list[ReportIn]) -> BatchResponse:
    results = []
    for index, report in enumerate(reports):
        path = f"$.reports[{index}]"
        try:
            score = _model_call(
                partial(snapshot.model.score, report.to_report()),
                partial(check_report, snapshot, report, path),
                path,
            )
        except ProblemError as problem:
            results.append(BatchItem(index=index, errors=problem.errors))
        else:
            results.append(BatchItem(index=index, score=score))
    failed = sum(item.errors is not None for item in results)
    return BatchResponse(
        version=snapshot.version,
        n_scored=len(results) - failed,
        n_failed=failed,
        results=results,
    )


def _fuse(snapshot: NamedDependency[Snapshot], reports: list[ReportIn]) -> FuseResponse:
    fusion = _model_call(
        lambda: snapshot.model.fuse([report.to_report() for report in reports]),
        partial(_fuse_errors, snapshot, reports),
        "$.reports",
    )
    return FuseResponse(version=snapshot.version, fusion=fusion)


def _fuse_errors(snapshot: NamedDependency[Snapshot], reports: list[ReportIn]) -> list[FieldError]:
    """Every field of ``reports`` that keeps them from being fused."""
    errors = [
        error
        for index, report in enumerate(reports)
        for error in check_report(snapshot, report, f"$.reports[{index}]")
    ]
    first = reports[0]
    for index, report in enumerate(reports):
        for field in ("metric", "stratum"):
            if getattr(report, field) != getattr(first, field):
                errors.append(
                    FieldError(
                        path=f"$.reports[{index}].{field}",
                        message=f"all fused reports must share one {field}: "
                        f"{getattr(report, field)!r} differs from {getattr(first, field)!r} "
                        "of $.reports[0]",
                    )
                )
    return errors


class ScoringController(Controller):
    path = "/v1"
    tags = ("scoring",)
    opt = MappingProxyType({SCOPE_OPT: "read", JSON_BODY_OPT: True})
    security = KEY_SECURITY

    @post(
        "/score",
        summary="Score one report",
        description=(
            "The outlet's calibrated parameters (its own, or a prior when it is unknown: "
            "`cold_start`) and the bias-corrected estimate of the true figure with 50% and 90% "
            "intervals."
        ),
        status_code=200,
        responses=problem_responses(*KEY_PROBLEMS, 400, 413, 415),
    )
    async def score(
        self,
        snapshot: NamedDependency[Snapshot],
        data: Annotated[ReportIn, Body(examples=_SCORE_EXAMPLES)],
    ) -> ScoreResponse:
        score = _model_call(
            lambda: snapshot.model.score(data.to_report()),
            partial(check_report, snapshot, data, "$"),
            "$",
        )
        return ScoreResponse(version=snapshot.version, score=score)

    @post(
        "/score/batch",
        summary="Score many independent reports",
        description=(
            "Each report is answered in place: `results[i]` holds the score of `reports[i]`, or "
            "its `errors` with JSON paths. One bad report does not fail the others."
        ),
        status_code=200,
        responses=problem_responses(*KEY_PROBLEMS, 400, 413, 415),
    )
    async def score_batch(
        self,
        scoring: NamedDependency[Scoring],
        data: Annotated[ReportList, Body(examples=[_REPORTS_EXAMPLE])],
    ) -> BatchResponse:
        limit = scoring.settings.max_batch
        if len(data.reports) > limit:
            raise _over_limit(len(data.reports), limit, "max_batch")
        return await anyio.to_thread.run_sync(_score_batch, scoring.snapshot, data.reports)

    @post(
        "/fuse",
        summary="Fuse the reports of one event",
        description=(
            "The posterior of the true figure (median `estimate`, `mean`, 50% and 90% "
            "intervals) and each report's share of the weight. All reports must share one "
            "metric and stratum. A report citing another outlet's report is collapsed into it."
        ),
        status_code=200,
        responses=problem_responses(*KEY_PROBLEMS, 400, 413, 415),
    )
    async def fuse(
        self,
        scoring: NamedDependency[Scoring],
        data: Annotated[ReportList, Body(examples=[_REPORTS_EXAMPLE])],
    ) -> FuseResponse:
        limit = scoring.settings.max_fuse_reports
        if len(data.reports) > limit:
            raise _over_limit(len(data.reports), limit, "max_fuse_reports")
        if len(data.reports) <= INLINE_FUSE_REPORTS:
            return _fuse(scoring.snapshot, data.reports)
        return await anyio.to_thread.run_sync(_fuse, scoring.snapshot, data.reports)
