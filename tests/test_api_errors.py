"""Every error is RFC 9457 problem details with JSON paths, and nothing leaks a stack trace."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar.testing import TestClient

from api.app import create_app
from api.problems import split_msgspec_message
from api.settings import Settings
from tests.conftest import API_READ_KEY

JSON = {"content-type": "application/json"}


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert {"type", "title", "detail", "instance", "request_id"} <= body.keys()
    assert body["request_id"] == response.headers["x-request-id"]
    return body


def _paths(body: dict[str, Any]) -> list[str]:
    return [error["path"] for error in body["errors"]]


def _metric(client: TestClient) -> str:  # type: ignore[type-arg]
    metric: str = client.get("/v1/outlets?limit=1").json()["items"][0]["metric"]
    return metric


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"outlet": "x", "value": -5}, "$.value"),
        ({"outlet": "x", "low": 9, "high": 3}, "$.low"),
        ({"outlet": "x", "text": "a great many"}, "$.text"),
        ({"outlet": "x", "value": "twelve"}, "$.value"),
        ({"outlet": "x", "value": 1e16}, "$.value"),
        ({"outlet": "", "value": 1}, "$.outlet"),
        ({"outlet": "x" * 201, "value": 1}, "$.outlet"),
        ({"outlet": "x", "text": "y" * 1001}, "$.text"),
        ({"outlet": "x", "value": 1, "published_at": "2024-01-01T00:00:00"}, "$.published_at"),
        ({"value": 1}, "$"),
    ],
)
def test_invalid_report_is_422_with_its_path(
    api_client: TestClient,  # type: ignore[type-arg]
    body: dict[str, Any],
    path: str,
) -> None:
    problem = _problem(
        api_client.post("/v1/score", json={"metric": _metric(api_client), **body}), 422
    )
    assert _paths(problem) == [path]


def test_unknown_metric_is_422_naming_the_known_ones(api_client: TestClient) -> None:  # type: ignore[type-arg]
    metric = _metric(api_client)
    problem = _problem(
        api_client.post("/v1/score", json={"outlet": "x", "metric": "wounded?", "value": 1}), 422
    )
    assert _paths(problem) == ["$.metric"]
    assert metric in problem["errors"][0]["message"]


def test_unknown_field_is_rejected(api_client: TestClient) -> None:  # type: ignore[type-arg]
    problem = _problem(api_client.post("/v1/score", json={"outlet": "x", "valeu": 3}), 422)
    assert "valeu" in problem["errors"][0]["message"]


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity", b"1e999"])
def test_nan_and_infinity_are_rejected(api_client: TestClient, literal: bytes) -> None:  # type: ignore[type-arg]
    content = b'{"outlet": "x", "value": ' + literal + b"}"
    response = api_client.post("/v1/score", content=content, headers=JSON)
    assert response.status_code in (400, 422)
    _problem(response, response.status_code)


def test_malformed_json_is_400(api_client: TestClient) -> None:  # type: ignore[type-arg]
    problem = _problem(api_client.post("/v1/score", content=b'{"outlet": ', headers=JSON), 400)
    assert problem["type"].endswith("/malformed-request")


def test_empty_and_oversized_report_lists_are_422(
    api_client: TestClient,  # type: ignore[type-arg]
    api_settings: Settings,
) -> None:
    assert _paths(_problem(api_client.post("/v1/fuse", json={"reports": []}), 422)) == ["$.reports"]
    report = {"outlet": "x", "metric": _metric(api_client), "value": 1}
    too_many = {"reports": [report] * (api_settings.max_fuse_reports + 1)}
    problem = _problem(api_client.post("/v1/fuse", json=too_many), 422)
    assert _paths(problem) == ["$.reports"]
    assert str(api_settings.max_fuse_reports) in problem["errors"][0]["message"]
    too_many_batch = {"reports": [report] * (api_settings.max_batch + 1)}
    assert _paths(_problem(api_client.post("/v1/score/batch", json=too_many_batch), 422)) == [
        "$.reports"
    ]


def test_nested_schema_errors_name_the_item(api_client: TestClient) -> None:  # type: ignore[type-arg]
    body = {"reports": [{"outlet": "x", "value": 1}, {"outlet": "x", "value": [1]}]}
    problem = _problem(api_client.post("/v1/score/batch", json=body), 422)
    assert _paths(problem) == ["$.reports[1].value"]


def test_body_over_the_limit_is_413(api_settings: Settings) -> None:
    settings = msgspec.structs.replace(api_settings, max_body_bytes=1000)
    with TestClient(create_app(settings)) as client:
        client.headers["X-API-Key"] = API_READ_KEY
        reports = [{"outlet": "x", "value": 1}] * 100
        _problem(client.post("/v1/fuse", json={"reports": reports}), 413)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_post_without_json_content_type_is_415(
    api_client: TestClient,  # type: ignore[type-arg]
    content_type: str | None,
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = api_client.post("/v1/score", content=b'{"outlet": "x", "value": 1}', headers=headers)
    _problem(response, 415)


def test_unknown_path_and_method(api_client: TestClient) -> None:  # type: ignore[type-arg]
    assert _problem(api_client.get("/v2/score"), 404)["instance"] == "/v2/score"
    _problem(api_client.get("/v1/score"), 405)
    _problem(api_client.delete("/v1/outlets"), 405)


def test_unexpected_error_is_500_without_internals(
    api_client: TestClient,  # type: ignore[type-arg]
    caplog: pytest.LogCaptureFixture,
) -> None:
    snapshot = api_client.app.state.registry.snapshot

    def explode(*_: object) -> None:
        raise RuntimeError("secret internal state /etc/passwd")

    object.__setattr__(snapshot, "model", type("Broken", (), {"score": explode})())
    with caplog.at_level("ERROR", logger="reliability.api"):
        body = {"outlet": "x", "metric": _metric(api_client), "value": 1}
        response = api_client.post("/v1/score", json=body)
    problem = _problem(response, 500)
    assert "secret" not in response.text
    assert "Traceback" not in response.text
    assert problem["request_id"] in problem["detail"]
    logged = [record for record in caplog.records if record.exc_info]
    assert logged
    assert getattr(logged[0], "request_id", None) == problem["request_id"]


def test_no_table_is_503(tmp_path: Path) -> None:
    settings = Settings(tables=str(tmp_path / "empty"), reload_interval=0, public_read=True)
    with TestClient(create_app(settings)) as client:
        ready = _problem(client.get("/ready"), 503)
        assert ready["type"].endswith("/no-table")
        _problem(client.post("/v1/score", json={"outlet": "x", "value": 1}), 503)
        assert client.get("/health").status_code == 200


def test_msgspec_paths_are_split() -> None:
    error = split_msgspec_message("Expected `int`, got `str` - at `$.reports[3].value`")
    assert (error.path, error.message) == ("$.reports[3].value", "Expected `int`, got `str`")
    assert split_msgspec_message("Number out of range").path == "$"
