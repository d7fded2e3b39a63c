"""Request ids, JSON logs and Prometheus metrics."""

from __future__ import annotations

import io
import json
import logging
import sys
from datetime import datetime

import pytest
from litestar.testing import TestClient

from api.observability import JsonFormatter, access_log, configure_logging


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


def test_access_log_writes_one_json_line_per_request(
    api_client: TestClient,  # type: ignore[type-arg]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stream = io.StringIO()
    monkeypatch.setattr(access_log, "stream", stream)
    api_client.get("/v1/outlets/nobody", headers={"X-Request-ID": "req-7"})
    api_client.get("/no/such/path")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["request_id"] == "req-7"
    assert (first["method"], first["path"], first["route"], first["status"]) == (
        "GET",
        "/v1/outlets/nobody",
        "/v1/outlets/{outlet}",
        404,
    )
    assert (first["level"], first["logger"], first["message"]) == (
        "info",
        "reliability.api.access",
        "request",
    )
    assert first["duration_ms"] > 0
    assert datetime.fromisoformat(first["time"]).tzinfo is not None
    assert (second["route"], second["status"]) == ("<unmatched>", 404)
    assert len(second["request_id"]) == 32


def test_access_log_follows_the_configured_level(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("reliability", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        for attribute in ("handlers", "level", "propagate"):
            monkeypatch.setattr(logger, attribute, getattr(logger, attribute))
    monkeypatch.setattr(access_log, "stream", None)
    configure_logging(logging.WARNING)
    assert access_log.stream is None
    configure_logging()
    assert access_log.stream is sys.stderr


def test_a_broken_log_stream_does_not_fail_requests(
    api_client: TestClient,  # type: ignore[type-arg]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    closed = io.StringIO()
    closed.close()
    monkeypatch.setattr(access_log, "stream", closed)
    assert api_client.get("/health").status_code == 200
