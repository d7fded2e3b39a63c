"""Operational endpoints: liveness, readiness and Prometheus metrics (no key needed)."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
from litestar import Controller, Response, get
from litestar.di import NamedDependency
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.observability import Metrics
from api.problems import ProblemError, problem_responses
from api.registry import TableRegistry
from api.settings import Settings

_DAY_SECONDS = 86_400.0
# litestar appends the charset itself
_EXPOSITION_TYPE = CONTENT_TYPE_LATEST.removesuffix("; charset=utf-8")


class Liveness(msgspec.Struct, frozen=True):
    status: str = "ok"


class ReloadError(msgspec.Struct, frozen=True, kw_only=True):
    message: str
    at: datetime


class Readiness(msgspec.Struct, frozen=True, kw_only=True):
    """The served table: its version, when it was made and loaded, and its age."""

    status: str
    version: str
    created_at: datetime
    loaded_at: datetime
    age_seconds: float
    #: The table is older than the configured ``stale_days`` (it is still served).
    stale: bool
    n_outlets: int
    last_reload_error: ReloadError | None = None


class HealthController(Controller):
    tags = ("operations",)

    @get("/health", summary="Liveness: the process is up")
    async def health(self) -> Liveness:
        return Liveness()

    @get(
        "/ready",
        summary="Readiness: a score table is loaded",
        description="503 problem details while no table is loaded.",
        responses=problem_responses(503),
    )
    async def ready(
        self, registry: NamedDependency[TableRegistry], settings: NamedDependency[Settings]
    ) -> Readiness:
        failure = registry.last_failure
        reload_error = ReloadError(message=failure.message, at=failure.at) if failure else None
        snapshot = registry.snapshot
        if snapshot is None:
            raise ProblemError(
                503,
                "no-table",
                f"No score table is loaded from {registry.store.path}.",
                context={"last_reload_error": msgspec.to_builtins(reload_error)},
                headers={"Retry-After": "10"},
            )
        age = (datetime.now(UTC) - snapshot.table.created_at).total_seconds()
        return Readiness(
            status="ready",
            version=snapshot.version,
            created_at=snapshot.table.created_at,
            loaded_at=snapshot.loaded_at,
            age_seconds=round(age, 3),
            stale=age > settings.stale_days * _DAY_SECONDS,
            n_outlets=len(snapshot.catalog.by_outlet),
            last_reload_error=reload_error,
        )

    @get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    async def metrics(self, metrics: NamedDependency[Metrics]) -> Response[bytes]:
        return Response(generate_latest(metrics.registry), media_type=_EXPOSITION_TYPE)
