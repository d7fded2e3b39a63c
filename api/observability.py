"""Request ids, structured JSON logs and Prometheus metrics.

:class:`RequestObserver` wraps the whole ASGI handler of the app (not just routed requests),
so 404s, 405s and errors raised before routing are counted, logged and carry a request id too.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

import msgspec
from litestar.enums import ScopeType
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID_HEADER_BYTES = REQUEST_ID_HEADER.encode()
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

ACCESS_LOGGER = "reliability.api.access"

# Attributes every LogRecord has; anything else was passed through ``extra=`` and is logged.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the ``extra`` fields, traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _RECORD_FIELDS})
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        # msgspec rather than json: the access log formats one entry per request.
        return msgspec.json.encode(entry, enc_hook=str).decode()


class AccessLine(msgspec.Struct, frozen=True, kw_only=True):
    """One request in the access log, with the keys of :class:`JsonFormatter`, in its order."""

    time: str
    level: str = "info"
    logger: str = ACCESS_LOGGER
    message: str = "request"
    request_id: str
    method: str
    path: str
    route: str
    status: int
    duration_ms: float


class AccessLog:
    """Writes one JSON line per request; silent until :func:`configure_logging` gives it a stream.

    Not through ``logging``: a log record, the caller lookup and the formatter cost about 15 µs
    a request, four times this, for a line whose fields are always the same.
    """

    def __init__(self) -> None:
        self.stream: TextIO | None = None

    def write(self, line: AccessLine) -> None:
        stream = self.stream
        if stream is None:
            return
        # as with logging's handlers, a closed or broken stderr must not fail the request
        with contextlib.suppress(OSError, ValueError):
            # one write per line, so lines from other threads' log records cannot split it
            stream.write(msgspec.json.encode(line).decode() + "\n")


#: The access log of every app in this process (there is one stderr).
access_log = AccessLog()


def configure_logging(level: int = logging.INFO) -> None:
    """Send the API's and the server's logs, and the access log, to stderr as JSON lines."""
    # Fields the JSON lines never show: the access log would look them up for every request.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    for name in ("reliability", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False
    access_log.stream = sys.stderr if level <= logging.INFO else None


class Metrics:
    """The app's Prometheus metrics, in a registry of its own (several apps can share a process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "reliability_http_requests",
            "HTTP requests by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "reliability_http_request_duration_seconds",
            "Time to answer a request, by route template and method.",
            ["route", "method"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.table = Info(
            "reliability_table", "The score table being served.", registry=self.registry
        )
        self.table_age = Gauge(
            "reliability_table_age_seconds",
            "Seconds since the served table was created (NaN when none is loaded).",
            registry=self.registry,
        )
        self.table_age.set(float("nan"))
        self.reload_failures = Counter(
            "reliability_table_reload_failures",
            "Table reloads refused because the new table could not be read or used.",
            registry=self.registry,
        )
        self.reloads = Counter(
            "reliability_table_reloads",
            "Tables loaded (including the first).",
            registry=self.registry,
        )
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one answered request and its duration."""
        # The labelled children, looked up once: ``labels()`` validates and locks every call.
        key = (route, method, status)
        children = self._children.get(key)
        if children is None:
            children = (
                self.requests.labels(route, method, str(status)),
                self.latency.labels(route, method),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def table_loaded(self, version: str, created_at: datetime) -> None:
        self.table.info({"version": version, "created_at": created_at.isoformat()})
        self.table_age.set_function(lambda: _seconds_since(created_at))
        self.reloads.inc()


class RequestObserver:
    """ASGI wrapper: assigns the request id, echoes it, times, counts and logs each request."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or os.urandom(16).hex()
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", ()),
                    (_REQUEST_ID_HEADER_BYTES, request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            # unmatched paths share one label so scanners cannot blow up the label set
            route = scope.get("path_template") or "<unmatched>"
            method = scope["method"]
            self.metrics.observe(route, method, status, elapsed)
            access_log.write(
                AccessLine(
                    time=datetime.now(UTC).isoformat(),
                    request_id=request_id,
                    method=method,
                    path=scope["path"],
                    route=route,
                    status=status,
                    duration_ms=round(elapsed * 1000, 3),
                )
            )


def _seconds_since(moment: datetime) -> float:
    return (datetime.now(UTC) - moment).total_seconds()


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            # an id that would break log lines or headers is replaced, not echoed
            return candidate if _VALID_REQUEST_ID.match(candidate) else None
    return None
