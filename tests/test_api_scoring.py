"""POST /v1/score, /v1/score/batch and /v1/fuse answer exactly what the model answers in process."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar.testing import TestClient

from reliability.outlet_model import OutletModel
from reliability.records import Report
from reliability.results import Fusion, Score


def _known_outlet(model: OutletModel) -> tuple[str, str]:
    score = model.outlets_[0]
    return score.outlet, score.metric


def _score(client: TestClient, body: dict[str, Any]) -> Any:  # type: ignore[type-arg]
    response = client.post("/v1/score", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_score_equals_the_model_in_process(api_client: TestClient, api_model: OutletModel) -> None:  # type: ignore[type-arg]
    outlet, metric = _known_outlet(api_model)
    body = _score(api_client, {"outlet": outlet, "metric": metric, "value": 120})
    expected = api_model.score(Report(event_id="request", outlet=outlet, metric=metric, value=120))
    assert msgspec.convert(body["score"], Score) == expected
    assert body["version"] == api_client.get("/ready").json()["version"]
    assert body["score"]["cold_start"] is False


def test_score_of_a_range_and_of_text(api_client: TestClient, api_model: OutletModel) -> None:  # type: ignore[type-arg]
    outlet, metric = _known_outlet(api_model)
    ranged = _score(api_client, {"outlet": outlet, "metric": metric, "low": 40, "high": 60})
    assert msgspec.convert(ranged["score"], Score) == api_model.score(
        Report(event_id="request", outlet=outlet, metric=metric, low=40, high=60)
    )
    text = _score(api_client, {"outlet": outlet, "metric": metric, "text": "more than 50"})
    expected = api_model.score(
        Report(event_id="request", outlet=outlet, metric=metric, figure_text="more than 50")
    )
    assert msgspec.convert(text["score"], Score) == expected
    assert text["score"]["censored"] is True


def test_alias_resolves_to_the_same_parameters(
    api_client: TestClient,  # type: ignore[type-arg]
    api_model: OutletModel,
) -> None:
    with_alias = next(score for score in api_model.outlets_ if score.aliases)
    by_name = _score(
        api_client, {"outlet": with_alias.outlet, "metric": with_alias.metric, "value": 10}
    )
    by_alias = _score(
        api_client, {"outlet": with_alias.aliases[0], "metric": with_alias.metric, "value": 10}
    )
    assert by_alias["score"]["corrected"] == by_name["score"]["corrected"]


def test_unknown_outlet_is_a_cold_start(api_client: TestClient, api_model: OutletModel) -> None:  # type: ignore[type-arg]
    _, metric = _known_outlet(api_model)
    body = _score(api_client, {"outlet": "never-seen-before", "metric": metric, "value": 30})
    assert body["score"]["cold_start"] is True
    assert msgspec.convert(body["score"], Score) == api_model.score(
        Report(event_id="request", outlet="never-seen-before", metric=metric, value=30)
    )


def test_batch_answers_each_report_in_place(
    api_client: TestClient,  # type: ignore[type-arg]
    api_model: OutletModel,
) -> None:
    outlet, metric = _known_outlet(api_model)
    reports = [
        {"outlet": outlet, "metric": metric, "value": 12},
        {"outlet": outlet, "metric": metric, "value": -3},
        {"outlet": outlet, "metric": "no-such-metric", "value": 3},
        {"outlet": outlet, "metric": metric, "text": "at least 7"},
    ]
    response = api_client.post("/v1/score/batch", json={"reports": reports})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["n_scored"], body["n_failed"]) == (2, 2)
    results = body["results"]
    assert [item["index"] for item in results] == [0, 1, 2, 3]
    assert msgspec.convert(results[0]["score"], Score) == api_model.score(
        Report(event_id="request", outlet=outlet, metric=metric, value=12)
    )
    assert [error["path"] for error in results[1]["errors"]] == ["$.reports[1].value"]
    assert [error["path"] for error in results[2]["errors"]] == ["$.reports[2].metric"]
    assert "no-such-metric" in results[2]["errors"][0]["message"]
    assert "score" in results[3]


def test_fuse_equals_the_model_in_process(api_client: TestClient, api_model: OutletModel) -> None:  # type: ignore[type-arg]
    metric = api_model.outlets_[0].metric
    outlets = [score.outlet for score in api_model.outlets_ if score.metric == metric][:3]
    reports = [
        {"outlet": outlets[0], "metric": metric, "value": 100, "report_id": "a"},
        {"outlet": outlets[1], "metric": metric, "low": 80, "high": 120, "report_id": "b"},
        {"outlet": outlets[2], "metric": metric, "text": "more than 90", "report_id": "c"},
    ]
    response = api_client.post("/v1/fuse", json={"reports": reports})
    assert response.status_code == 200, response.text
    fusion = msgspec.convert(response.json()["fusion"], Fusion)
    expected = api_model.fuse(
        [
            Report(event_id="request", outlet=outlets[0], metric=metric, value=100, report_id="a"),
            Report(
                event_id="request",
                outlet=outlets[1],
                metric=metric,
                low=80,
                high=120,
                report_id="b",
            ),
            Report(
                event_id="request",
                outlet=outlets[2],
                metric=metric,
                figure_text="more than 90",
                report_id="c",
            ),
        ]
    )
    assert fusion == expected
    assert [weight.report_id for weight in fusion.reports] == ["a", "b", "c"]
    assert abs(sum(weight.weight for weight in fusion.reports) - 1.0) < 1e-9


def test_fuse_collapses_a_cited_duplicate(api_client: TestClient, api_model: OutletModel) -> None:  # type: ignore[type-arg]
    metric = api_model.outlets_[0].metric
    first, second = [score.outlet for score in api_model.outlets_ if score.metric == metric][:2]
    reports = [
        {"outlet": first, "metric": metric, "value": 100},
        {"outlet": second, "metric": metric, "value": 100, "cites": first},
    ]
    body = api_client.post("/v1/fuse", json={"reports": reports}).json()
    assert [weight["collapsed"] for weight in body["fusion"]["reports"]] == [False, True]


def test_fuse_rejects_mixed_metrics_with_the_path(
    api_client: TestClient,  # type: ignore[type-arg]
    api_model: OutletModel,
) -> None:
    outlet, metric = _known_outlet(api_model)
    reports = [
        {"outlet": outlet, "metric": metric, "value": 1},
        {"outlet": outlet, "metric": metric, "value": 2, "stratum": "civilians"},
    ]
    response = api_client.post("/v1/fuse", json={"reports": reports})
    assert response.status_code == 422
    assert [error["path"] for error in response.json()["errors"]] == ["$.reports[1].stratum"]
