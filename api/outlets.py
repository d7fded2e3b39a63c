"""Outlets and their calibrated parameters: a searchable, sortable, paginated list and detail."""

from __future__ import annotations

from types import MappingProxyType
from typing import Annotated, Any

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromQuery, PathParameter, QueryParameter

from api.access import KEY_PROBLEMS, KEY_SECURITY, SCOPE_OPT
from api.catalog import CursorError, Order, SortKey
from api.problems import FieldError, ProblemError, problem_responses
from api.registry import Snapshot
from reliability.table import GroupPrior, OutletScore


class OutletPage(msgspec.Struct, frozen=True, kw_only=True):
    version: str
    items: list[OutletScore]
    #: Pass as ``cursor`` to get the next page; absent on the last page.
    next_cursor: str | None


class OutletDetail(msgspec.Struct, frozen=True, kw_only=True):
    """One outlet's parameters for every metric it reports (strata are inside each)."""

    version: str
    outlet: str
    name: str | None
    group: str | None
    aliases: list[str]
    metrics: list[OutletScore]


class GlobalPrior(msgspec.Struct, frozen=True, kw_only=True):
    """What an outlet with no history and no group starts from, on the model scale."""

    metric: str
    scale: str
    bias_mean: float
    bias_mean_se: float
    between_sd: float
    typical_sd: float


class OutletsController(Controller):
    path = "/v1/outlets"
    tags = ("outlets",)
    opt = MappingProxyType({SCOPE_OPT: "read"})
    security = KEY_SECURITY

    @get(
        "/",
        summary="List outlets with their parameters",
        description=(
            "One item per outlet and metric. Filter by group, metric or a case-insensitive "
            "search of names and aliases; sort by weight, bias or n_reports; page with "
            "`limit` and the opaque `next_cursor` of the previous page."
        ),
        responses=problem_responses(*KEY_PROBLEMS),
    )
    async def list_outlets(
        self,
        snapshot: NamedDependency[Snapshot],
        group: Annotated[str | None, QueryParameter(max_length=200)] = None,
        metric: Annotated[str | None, QueryParameter(max_length=200)] = None,
        q: Annotated[
            str | None,
            QueryParameter(max_length=200, description="Search outlet names and aliases"),
        ] = None,
        sort: FromQuery[SortKey] = SortKey.WEIGHT,
        order: FromQuery[Order] = Order.DESC,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
        cursor: Annotated[str | None, QueryParameter(max_length=2000)] = None,
    ) -> OutletPage:
        try:
            page = snapshot.catalog.page(
                group=group,
                metric=metric,
                query=q,
                sort=sort,
                order=order,
                limit=limit,
                cursor=cursor,
            )
        except CursorError as error:
            raise ProblemError(
                422,
                "invalid-cursor",
                "The cursor cannot be used.",
                errors=[FieldError(path="query.cursor", message=str(error))],
            ) from None
        return OutletPage(version=snapshot.version, items=page.items, next_cursor=page.next_cursor)

    @get(
        "/{outlet:str}",
        summary="One outlet (by name or alias) with all its metrics and strata",
        description=(
            "An unknown outlet gets 404 problem details whose `context` holds the priors it "
            "would be scored with: the global prior of each metric, and the group prior of "
            "each metric when `group` is given."
        ),
        responses=problem_responses(*KEY_PROBLEMS, 404),
    )
    async def outlet_detail(
        self,
        snapshot: NamedDependency[Snapshot],
        outlet: Annotated[str, PathParameter(max_length=200)],
        group: Annotated[
            str | None, QueryParameter(max_length=200, description="Group of an unknown outlet")
        ] = None,
    ) -> OutletDetail:
        canonical = snapshot.catalog.resolve(outlet)
        if canonical is None:
            raise ProblemError(
                404,
                "unknown-outlet",
                f"The table {snapshot.version} has no outlet or alias {outlet!r}; "
                "it would be scored as a cold start with the priors in `context`.",
                context=_cold_start_context(snapshot, outlet, group),
            )
        scores = snapshot.catalog.by_outlet[canonical]
        first = scores[0]
        return OutletDetail(
            version=snapshot.version,
            outlet=canonical,
            name=first.name,
            group=first.group,
            aliases=first.aliases,
            metrics=scores,
        )


def _cold_start_context(
    snapshot: NamedDependency[Snapshot], outlet: str, group: str | None
) -> dict[str, Any]:
    global_priors = [
        GlobalPrior(
            metric=params.metric,
            scale=params.scale,
            bias_mean=params.global_bias,
            bias_mean_se=params.global_bias_se,
            between_sd=params.pooled_between_sd,
            typical_sd=params.typical_sd,
        )
        for params in snapshot.table.metrics
    ]
    group_priors: list[GroupPrior] = [
        prior for prior in snapshot.table.groups if group is not None and prior.group == group
    ]
    return {
        "outlet": outlet,
        "group": group,
        "global_priors": msgspec.to_builtins(global_priors),
        "group_priors": msgspec.to_builtins(group_priors),
    }
