"""Request ids, JSON logs and Prometheus metrics."""

from __future__ import annotations

import json
import logging

from litestar.testing import TestClient

from api.observability import JsonFormatter


def test_request_id_is_echoed_or_generated(api_client: TestClient) -> None:  # type: ignore[type-arg]
    assert (
        api_client.get("/health", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"]
        == "abc-123"
    )
    generated = api_client.get("/nowhere").headers["x-request-id"]
    assert len(generated) == 32
    # an id that could forge log lines is replaced
    assert (
        api_client.get("/health", headers={"X-Request-ID": "a b\tc"}).headers["x-request-id"]
        != "a b\tc"
    )


def test_metrics_count_requests_by_route_template(api_client: TestClient) -> None:  # type: ignore[type-arg]
    api_client.get("/v1/outlets/first-unknown")
    api_client.get("/v1/outlets/second-unknown")
    api_client.get("/no/such/path")
    text = api_client.get("/metrics").text
    counted = 'reliability_http_requests_total{method="GET",route="/v1/outlets/{outlet}"'
    assert f'{counted},status="404"}} 2.0' in text
    assert 'route="<unmatched>",status="404"} 1.0' in text
    assert "reliability_http_request_duration_seconds_bucket" in text
    version = api_client.get("/ready").json()["version"]
    assert 'reliability_table_info{created_at="' in text
    assert f'version="{version}"' in text
    assert "reliability_table_age_seconds" in text
    assert "reliability_table_reload_failures_total 0.0" in text


def test_json_log_lines_carry_extra_fields() -> None:
    record = logging.LogRecord("reliability.api", logging.INFO, "f", 1, "request", None, None)
    record.request_id = "r-1"
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "request"
    assert entry["request_id"] == "r-1"
    assert entry["level"] == "info"
