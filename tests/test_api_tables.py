"""GET /v1/tables: versions, the served table and stored versions, with ETag/304 and gzip."""

from __future__ import annotations

import asyncio
import gzip
from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar.testing import TestClient

from reliability.table import ScoreTable
from reliability.tablestore import TableStore


def test_lists_versions_and_marks_the_served_one(
    api_client: TestClient,  # type: ignore[type-arg]
    api_tables_dir: Path,
) -> None:
    body = api_client.get("/v1/tables").json()
    (only,) = TableStore(api_tables_dir).versions()
    assert body["served"] == only.version
    assert body["versions"] == [
        {
            "version": only.version,
            "created_at": only.created_at.isoformat().replace("+00:00", "Z"),
            "size_bytes": only.size_bytes,
            "is_latest": True,
            "is_served": True,
        }
    ]


def test_latest_is_the_stored_table_with_etag_and_304(
    api_client: TestClient,  # type: ignore[type-arg]
    api_tables_dir: Path,
) -> None:
    response = api_client.get("/v1/tables/latest")
    assert response.status_code == 200
    assert response.content == (api_tables_dir / "latest.json").read_bytes()
    etag = response.headers["etag"]
    again = api_client.get("/v1/tables/latest", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    other = api_client.get("/v1/tables/latest", headers={"If-None-Match": '"stale"'})
    assert other.status_code == 200


def test_a_version_by_id_decodes_to_the_table(
    api_client: TestClient,  # type: ignore[type-arg]
    api_tables_dir: Path,
) -> None:
    store = TableStore(api_tables_dir)
    version = store.versions()[0].version
    response = api_client.get(f"/v1/tables/{version}")
    assert msgspec.json.decode(response.content, type=ScoreTable) == store.read(version)
    cached = api_client.get(
        f"/v1/tables/{version}", headers={"If-None-Match": response.headers["etag"]}
    )
    assert cached.status_code == 304


def test_tables_are_gzipped_when_asked(api_client: TestClient) -> None:  # type: ignore[type-arg]
    raw = api_client.get("/v1/tables/latest", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in raw.headers
    zipped = api_client.get("/v1/tables/latest", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    # httpx decodes transparently; the compressed size shows the wire saving
    assert zipped.content == raw.content
    assert int(zipped.headers["content-length"]) < len(gzip.compress(raw.content)) * 1.1


def test_tables_are_gzipped_off_the_event_loop(
    api_client: TestClient,  # type: ignore[type-arg]
    api_tables_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A table of 100k outlets takes seconds to gzip: on the event loop (litestar's compression
    # middleware) that would stall every request the worker is serving.
    on_loop: list[bool] = []
    compress = gzip.compress

    def spy(data: bytes, **kwargs: Any) -> bytes:
        try:
            asyncio.get_running_loop()
            on_loop.append(True)
        except RuntimeError:
            on_loop.append(False)
        return compress(data, **kwargs)

    monkeypatch.setattr(gzip, "compress", spy)
    version = TableStore(api_tables_dir).versions()[0].version
    for path in ("/v1/tables/latest", f"/v1/tables/{version}"):
        response = api_client.get(path, headers={"Accept-Encoding": "gzip"})
        assert response.headers["content-encoding"] == "gzip"
        assert response.headers["vary"] == "Accept-Encoding"
        assert response.content == (api_tables_dir / "latest.json").read_bytes()
    assert on_loop == [False, False]


def test_a_known_version_answers_304_without_reading_it(
    api_client: TestClient,  # type: ignore[type-arg]
    api_tables_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    version = TableStore(api_tables_dir).versions()[0].version
    etag = api_client.get(f"/v1/tables/{version}").headers["etag"]

    def no_read(self: TableStore, version: str) -> ScoreTable:
        raise AssertionError("read a version whose ETag is known")

    monkeypatch.setattr(TableStore, "read", no_read)
    cached = api_client.get(f"/v1/tables/{version}", headers={"If-None-Match": etag})
    assert cached.status_code == 304
    assert cached.headers["etag"] == etag


def test_unknown_versions_are_404(api_client: TestClient) -> None:  # type: ignore[type-arg]
    for version in ("not-a-version", "20200101T000000Z-deadbeef"):
        response = api_client.get(f"/v1/tables/{version}")
        assert response.status_code == 404
        assert response.json()["type"].endswith("/unknown-version")
