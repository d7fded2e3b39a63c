"""The OpenAPI document: committed copy up to date, and the app conforms to it (schemathesis)."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from litestar import Litestar
from litestar.testing import TestClient

from api.app import create_app
from api.openapi_export import DEFAULT_PATH, openapi_document, render
from api.settings import Settings
from tests.conftest import API_ADMIN_KEY

# Scoring may reject schema-valid input (a negative count, an unknown metric) with 422, so
# positive_data_acceptance does not apply; these checks cover crashes and conformance.
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_headers_conformance,
    schemathesis.checks.response_schema_conformance,
]


def test_committed_schema_equals_the_served_one(api_client: TestClient) -> None:  # type: ignore[type-arg]
    served = api_client.get("/schema/openapi.json").json()
    assert served == openapi_document()
    assert served["openapi"].startswith("3.1")
    assert DEFAULT_PATH.read_bytes() == render(served), (
        "schemas/openapi.json is out of date: run python -m api.openapi_export"
    )


def test_docs_ui_is_served(api_client: TestClient) -> None:  # type: ignore[type-arg]
    assert "<html" in api_client.get("/schema").text.lower()
    assert "swagger" in api_client.get("/schema/swagger").text.lower()


schema = schemathesis.openapi.from_dict(openapi_document())


@pytest.fixture
def api_app(api_settings: Settings) -> Litestar:
    return create_app(api_settings)


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_app_conforms_to_its_schema(case: Any, api_app: Litestar) -> None:
    case.call_and_validate(app=api_app, headers={"X-API-Key": API_ADMIN_KEY}, checks=CHECKS)
