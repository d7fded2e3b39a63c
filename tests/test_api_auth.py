"""API keys, scopes, public reads and per-client rate limits."""

from __future__ import annotations

import msgspec
import pytest
from litestar.testing import TestClient

from api.access import TokenBucket
from api.app import create_app
from api.settings import ApiKey, Settings, hash_key
from tests.conftest import API_ADMIN_KEY, API_READ_KEY


def _client(settings: Settings) -> TestClient:  # type: ignore[type-arg]
    return TestClient(create_app(settings))


def test_missing_key_is_401(api_settings: Settings) -> None:
    with _client(api_settings) as client:
        response = client.get("/v1/outlets")
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert client.get("/health").status_code == 200


def test_wrong_key_is_401_even_where_reads_are_public(api_settings: Settings) -> None:
    settings = msgspec.structs.replace(api_settings, public_read=True)
    with _client(settings) as client:
        assert client.get("/v1/outlets").status_code == 200
        assert client.get("/v1/outlets", headers={"X-API-Key": "guess"}).status_code == 401


@pytest.mark.parametrize(
    "headers",
    [{"X-API-Key": API_READ_KEY}, {"Authorization": f"Bearer {API_READ_KEY}"}],
)
def test_key_in_either_header(api_settings: Settings, headers: dict[str, str]) -> None:
    with _client(api_settings) as client:
        assert client.get("/v1/outlets", headers=headers).status_code == 200


def test_admin_needs_the_admin_scope(api_settings: Settings) -> None:
    with _client(api_settings) as client:
        read = client.post("/v1/admin/reload", headers={"X-API-Key": API_READ_KEY})
        assert read.status_code == 403
        assert "admin" in read.json()["detail"]
        admin = client.post("/v1/admin/reload", headers={"X-API-Key": API_ADMIN_KEY})
        assert admin.status_code == 200
        assert client.post("/v1/admin/reload").status_code == 401


def test_public_read_does_not_open_admin(api_settings: Settings) -> None:
    settings = msgspec.structs.replace(api_settings, public_read=True)
    with _client(settings) as client:
        assert client.post("/v1/admin/reload").status_code == 401


def test_rate_limit_answers_429_with_retry_after(api_settings: Settings) -> None:
    settings = msgspec.structs.replace(api_settings, rate_limit=0.5, rate_burst=3)
    with _client(settings) as client:
        headers = {"X-API-Key": API_READ_KEY}
        statuses = [client.get("/v1/outlets", headers=headers).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = client.get("/v1/outlets", headers=headers)
        assert limited.headers["content-type"] == "application/problem+json"
        assert int(limited.headers["retry-after"]) == 2
        # another key has its own bucket
        assert client.get("/v1/outlets", headers={"X-API-Key": API_ADMIN_KEY}).status_code == 200


def test_per_key_rate_overrides_the_default(api_settings: Settings) -> None:
    unlimited = ApiKey(name="batch-job", sha256=hash_key("batch"), rate_limit=0)
    settings = msgspec.structs.replace(
        api_settings, rate_limit=0.1, rate_burst=1, api_keys=(*api_settings.api_keys, unlimited)
    )
    with _client(settings) as client:
        statuses = {
            client.get("/v1/outlets", headers={"X-API-Key": "batch"}).status_code for _ in range(5)
        }
        assert statuses == {200}


def test_token_bucket_refills_at_the_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr("api.access.time.monotonic", lambda: now[0])
    bucket = TokenBucket(burst=2)
    assert [bucket.take("a", rate=1.0) for _ in range(3)] == [0.0, 0.0, 1.0]
    now[0] += 0.5
    assert bucket.take("a", rate=1.0) == pytest.approx(0.5)
    now[0] += 0.5
    assert bucket.take("a", rate=1.0) == 0.0
    assert bucket.take("b", rate=1.0) == 0.0
