"""GET /v1/outlets (filter, search, sort, cursor pages) and GET /v1/outlets/{outlet}."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from reliability.table import ScoreTable


def _all_pages(client: TestClient, query: str, limit: int) -> list[dict[str, Any]]:  # type: ignore[type-arg]
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        suffix = f"&cursor={cursor}" if cursor else ""
        body = client.get(f"/v1/outlets?{query}&limit={limit}{suffix}").json()
        assert len(body["items"]) <= limit
        items.extend(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return items


@pytest.mark.parametrize(
    ("sort", "key"),
    [
        ("weight", lambda item: item["weight"]),
        ("bias", lambda item: item["bias"]["estimate"]),
        ("n_reports", lambda item: item["n_reports"]),
    ],
)
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_pages_walk_every_row_once_in_order(
    api_client: TestClient,  # type: ignore[type-arg]
    api_table: ScoreTable,
    sort: str,
    key: Any,
    order: str,
) -> None:
    items = _all_pages(api_client, f"sort={sort}&order={order}", limit=7)
    assert len(items) == len(api_table.outlets)
    assert len({(item["outlet"], item["metric"]) for item in items}) == len(items)
    keys = [key(item) for item in items]
    assert keys == sorted(keys, reverse=order == "desc")


def test_filters_by_group_and_metric(api_client: TestClient, api_table: ScoreTable) -> None:  # type: ignore[type-arg]
    group = next(score.group for score in api_table.outlets if score.group)
    metric = api_table.outlets[0].metric
    items = _all_pages(api_client, f"group={group}&metric={metric}", limit=50)
    expected = {s.outlet for s in api_table.outlets if s.group == group and s.metric == metric}
    assert {item["outlet"] for item in items} == expected


def test_search_matches_names_and_aliases_ignoring_case(
    api_client: TestClient,  # type: ignore[type-arg]
    api_table: ScoreTable,
) -> None:
    with_alias = next(score for score in api_table.outlets if score.aliases)
    found = _all_pages(api_client, f"q={with_alias.aliases[0].upper()}", limit=50)
    assert with_alias.outlet in {item["outlet"] for item in found}
    assert _all_pages(api_client, "q=zzz-no-such-outlet-zzz", limit=50) == []


def test_a_cursor_for_another_sort_or_garbage_is_422(api_client: TestClient) -> None:  # type: ignore[type-arg]
    cursor = api_client.get("/v1/outlets?sort=bias&limit=1").json()["next_cursor"]
    other = api_client.get(f"/v1/outlets?sort=weight&limit=1&cursor={cursor}")
    assert other.status_code == 422
    assert other.json()["errors"][0]["path"] == "query.cursor"
    assert api_client.get("/v1/outlets?cursor=%25%25not-base64").status_code == 422
    assert api_client.get("/v1/outlets?limit=0").status_code == 422
    assert api_client.get("/v1/outlets?sort=name").status_code == 422


def test_detail_by_name_or_alias(api_client: TestClient, api_table: ScoreTable) -> None:  # type: ignore[type-arg]
    with_alias = next(score for score in api_table.outlets if score.aliases)
    by_name = api_client.get(f"/v1/outlets/{with_alias.outlet}").json()
    by_alias = api_client.get(f"/v1/outlets/{with_alias.aliases[0]}").json()
    assert by_name == by_alias
    assert by_name["outlet"] == with_alias.outlet
    assert {item["metric"] for item in by_name["metrics"]} == {
        s.metric for s in api_table.outlets if s.outlet == with_alias.outlet
    }


def test_unknown_outlet_is_404_with_the_priors_it_would_get(
    api_client: TestClient,  # type: ignore[type-arg]
    api_table: ScoreTable,
) -> None:
    group = api_table.groups[0]
    response = api_client.get(f"/v1/outlets/nobody-knows?group={group.group}")
    assert response.status_code == 404
    context = response.json()["context"]
    assert context["outlet"] == "nobody-knows"
    assert [prior["metric"] for prior in context["global_priors"]] == [
        m.metric for m in api_table.metrics
    ]
    assert context["global_priors"][0]["bias_mean"] == api_table.metrics[0].global_bias
    assert {(p["group"], p["metric"]) for p in context["group_priors"]} == {
        (p.group, p.metric) for p in api_table.groups if p.group == group.group
    }
