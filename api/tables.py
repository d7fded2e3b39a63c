"""Published score tables, served as stored, with ETags so clients can cache them."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from datetime import datetime
from threading import Lock
from types import MappingProxyType
from typing import Annotated, Any

import anyio
import msgspec
from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import PathParameter

from api.access import KEY_PROBLEMS, KEY_SECURITY, SCOPE_OPT
from api.problems import ProblemError, problem_responses
from api.registry import Snapshot, TableRegistry, entity_tag
from reliability.table import ScoreTable
from reliability.tablestore import VERSION_PATTERN, NoTableError, TableStore, encode_table

#: Route option that keeps litestar's compression middleware off the table routes: it would
#: gzip a table of 100k outlets (about 78 MB) on the event loop, stalling every other request
#: for seconds. These routes gzip in a worker thread instead.
SELF_COMPRESSED = "self_compressed"
#: gzip level for table bodies: close to level 9's size at a fraction of its time.
_GZIP_LEVEL = 6


class VersionEntry(msgspec.Struct, frozen=True, kw_only=True):
    version: str
    created_at: datetime
    size_bytes: int
    #: ``latest.json`` on disk holds this version.
    is_latest: bool
    #: This server is answering with this version now.
    is_served: bool


class TableList(msgspec.Struct, frozen=True, kw_only=True):
    served: str | None
    versions: list[VersionEntry]


class VersionBodies:
    """Bodies of stored versions, read per download, and their ETags, remembered because a
    published version never changes: a 304 then needs no read. Bodies are not kept (a table of
    100k outlets is about 78 MB)."""

    def __init__(self, store: TableStore) -> None:
        self.store = store
        self._tags: dict[str, str] = {}
        self._lock = Lock()

    def tag(self, version: str) -> str | None:
        with self._lock:
            return self._tags.get(version)

    def get(self, version: str) -> tuple[bytes, str]:
        body = encode_table(self.store.read(version))
        etag = entity_tag(body)
        with self._lock:
            self._tags[version] = etag
        return body, etag


def _not_modified(request: Request[Any, Any, Any], etag: str) -> Response[bytes] | None:
    """The 304 answer when the client's If-None-Match holds ``etag``, else None."""
    candidates = {tag.strip() for tag in request.headers.get("if-none-match", "").split(",")}
    if etag in candidates or "*" in candidates:
        return Response(b"", status_code=304, headers=_cache_headers(etag))
    return None


async def _table_response(
    request: Request[Any, Any, Any], body: Callable[[], bytes], etag: str
) -> Response[bytes]:
    """``body()`` (and gzip, when the client accepts it) run in a worker thread."""
    zipped = "gzip" in request.headers.get("accept-encoding", "")

    def produce() -> bytes:
        data = body()
        return gzip.compress(data, compresslevel=_GZIP_LEVEL, mtime=0) if zipped else data

    headers = _cache_headers(etag) | {"Vary": "Accept-Encoding"}
    if zipped:
        headers["Content-Encoding"] = "gzip"
    content = await anyio.to_thread.run_sync(produce)
    return Response(content, media_type="application/json", headers=headers)


def _cache_headers(etag: str) -> dict[str, str]:
    return {"ETag": etag, "Cache-Control": "no-cache"}


_TABLE_RESPONSES = {
    200: ResponseSpec(
        data_container=ScoreTable, description="The score table", generate_examples=False
    ),
    304: ResponseSpec(
        None, description="Not modified: the If-None-Match ETag is current", generate_examples=False
    ),
}


class TablesController(Controller):
    path = "/v1/tables"
    tags = ("tables",)
    opt = MappingProxyType({SCOPE_OPT: "read"})
    security = KEY_SECURITY

    @get(
        "/",
        summary="List published table versions",
        responses=problem_responses(*KEY_PROBLEMS),
    )
    async def list_versions(self, registry: NamedDependency[TableRegistry]) -> TableList:
        infos = await anyio.to_thread.run_sync(registry.store.versions)
        served = registry.snapshot.version if registry.snapshot else None
        return TableList(
            served=served,
            versions=[
                VersionEntry(
                    version=info.version,
                    created_at=info.created_at,
                    size_bytes=info.size_bytes,
                    is_latest=info.is_latest,
                    is_served=info.version == served,
                )
                for info in infos
            ],
        )

    @get(
        "/latest",
        summary="The table being served",
        description="Supports If-None-Match (304) and gzip (Accept-Encoding).",
        responses={**_TABLE_RESPONSES, **problem_responses(*KEY_PROBLEMS)},
        opt={SELF_COMPRESSED: True},
    )
    async def latest(
        self, request: Request[Any, Any, Any], snapshot: NamedDependency[Snapshot]
    ) -> Response[bytes]:
        not_modified = _not_modified(request, snapshot.etag)
        if not_modified is not None:
            return not_modified
        # encoded per download rather than kept: the table is served far less often than scored
        table = snapshot.table
        return await _table_response(request, lambda: encode_table(table), snapshot.etag)

    @get(
        "/{version:str}",
        summary="One published table version",
        description="Supports If-None-Match (304) and gzip (Accept-Encoding).",
        responses={**_TABLE_RESPONSES, **problem_responses(*KEY_PROBLEMS, 404)},
        opt={SELF_COMPRESSED: True},
    )
    async def version(
        self,
        request: Request[Any, Any, Any],
        bodies: NamedDependency[VersionBodies],
        version: Annotated[
            str,
            PathParameter(
                max_length=64,
                description="A version id such as 20261125T120305Z-3f2a9c1b",
            ),
        ],
    ) -> Response[bytes]:
        if VERSION_PATTERN.match(version) is None:
            raise ProblemError(
                404,
                "unknown-version",
                f"{version!r} is not a version id (like 20261125T120305Z-3f2a9c1b).",
            )
        known = bodies.tag(version)
        if known is not None and (not_modified := _not_modified(request, known)) is not None:
            return not_modified
        try:
            body, etag = await anyio.to_thread.run_sync(bodies.get, version)
        except NoTableError:
            raise ProblemError(
                404, "unknown-version", f"No published table version {version!r}."
            ) from None
        return _not_modified(request, etag) or await _table_response(request, lambda: body, etag)
