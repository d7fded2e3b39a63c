"""The composition root: builds the litestar app from :class:`api.settings.Settings`.

Run it with ``reliability serve``; tests build it with ``create_app(settings)`` directly.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
from litestar import Litestar, Request
from litestar.config.compression import CompressionConfig
from litestar.config.cors import CORSConfig
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from api.access import JSON_BODY_OPT, SCOPE_OPT, AccessControl, require_json
from api.admin import AdminController
from api.health import HealthController
from api.observability import Metrics, RequestObserver, configure_logging
from api.outlets import OutletsController
from api.problems import exception_handlers
from api.registry import TableRegistry, settle_heap
from api.scoring import Scoring, ScoringController
from api.settings import CONFIG_ENV, Settings, load_settings
from api.tables import SELF_COMPRESSED, TablesController, VersionBodies
from reliability import __version__
from reliability.fusion import warm_up
from reliability.tablestore import TableStore

DESCRIPTION = """\
Scores casualty reports by the outlet that made them, using each outlet's bias and noise
learned from past reports and the consensus figures that settled later, and fuses the reports
of one event into one estimate with intervals.

Errors are RFC 9457 problem details (`application/problem+json`). Endpoints under `/v1` need an
API key (`X-API-Key: <key>` or `Authorization: Bearer <key>`) unless the server allows public
reads; `/v1/admin` needs a key with the `admin` scope.
"""


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="reliability",
        version=__version__,
        description=DESCRIPTION,
        path="/schema",
        render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
        components=Components(
            security_schemes={
                "apiKey": SecurityScheme(
                    type="apiKey", name="X-API-Key", security_scheme_in="header"
                ),
                "bearer": SecurityScheme(type="http", scheme="bearer"),
            }
        ),
    )


def create_app(settings: Settings) -> Litestar:
    """Wire controllers, dependencies, guards, limits, error handling and observability."""
    metrics = Metrics()
    store = TableStore(Path(settings.tables))
    registry = TableRegistry(store, metrics)
    access = AccessControl(settings)
    bodies = VersionBodies(store)

    # One access check for the whole app, async, and a before-request hook rather than a guard:
    # litestar runs a sync guard in a worker thread and copies the handler object for every
    # guard call, which together cost a fifth of a score request.
    async def check_access(request: Request[Any, Any, Any]) -> None:
        handler = request.route_handler
        # endpoints without a scope (health, metrics, the schema) are public
        if SCOPE_OPT in handler.opt:
            access.guard(request, handler)
        if handler.opt.get(JSON_BODY_OPT):
            require_json(request)

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(registry.reload)
        await anyio.to_thread.run_sync(warm_up)
        settle_heap()  # the compiled kernels' objects too
        async with anyio.create_task_group() as tasks:
            if settings.reload_interval > 0:
                tasks.start_soon(registry.poll, settings.reload_interval)
            yield
            tasks.cancel_scope.cancel()

    app = Litestar(
        route_handlers=[
            HealthController,
            OutletsController,
            ScoringController,
            TablesController,
            AdminController,
        ],
        dependencies={
            "settings": Provide(lambda: settings, sync_to_thread=False),
            "registry": Provide(lambda: registry, sync_to_thread=False),
            "metrics": Provide(lambda: metrics, sync_to_thread=False),
            "snapshot": Provide(registry.require, sync_to_thread=False),
            "scoring": Provide(lambda: Scoring(registry.require(), settings), sync_to_thread=False),
            "bodies": Provide(lambda: bodies, sync_to_thread=False),
        },
        before_request=check_access,
        exception_handlers=exception_handlers(),
        compression_config=CompressionConfig(
            backend="gzip", minimum_size=1024, exclude_opt_key=SELF_COMPRESSED
        ),
        cors_config=CORSConfig(allow_origins=list(settings.cors_origins))
        if settings.cors_origins
        else None,
        openapi_config=openapi_config(),
        request_max_body_size=settings.max_body_bytes,
        lifespan=[lifespan],
        logging_config=None,
    )
    app.state.registry = registry
    # outermost, so unrouted requests (404, 405) are also counted, logged and given an id
    app.asgi_handler = RequestObserver(app.asgi_handler, metrics)
    return app


def app_from_environment() -> Litestar:
    """App factory for uvicorn workers: settings from ``RELIABILITY_CONFIG`` and the environment."""
    configure_logging()
    config = os.environ.get(CONFIG_ENV)
    return create_app(load_settings(Path(config) if config else None))
