"""Who may call what: API keys with scopes, and per-client token-bucket rate limits.

Keys are configured only as SHA-256 digests; a presented key is hashed and compared with
``hmac.compare_digest`` against every configured digest, so the comparison takes the same
time whichever key matches.
"""

from __future__ import annotations

import hmac
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from api.problems import ProblemError
from api.settings import ApiKey, Scope, Settings, hash_key

SCOPE_OPT = "scope"
#: Handler option marking endpoints whose body must be ``application/json``.
JSON_BODY_OPT = "json_body"
#: OpenAPI security requirement of every endpoint that needs a key.
KEY_SECURITY: tuple[dict[str, list[str]], ...] = ({"apiKey": []}, {"bearer": []})
#: Problem statuses every endpoint that needs a key can answer with.
KEY_PROBLEMS = (401, 403, 422, 429, 503)
_MAX_BUCKETS = 10_000


@dataclass(frozen=True, slots=True)
class Principal:
    """A caller that presented a valid key."""

    name: str
    scopes: frozenset[Scope]
    rate_limit: float


class TokenBucket:
    """Token buckets keyed by client; in memory, so each worker process limits on its own."""

    def __init__(self, burst: int) -> None:
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, client: str, rate: float) -> float:
        """Take one token; return 0 when allowed, else the seconds until one is available."""
        if rate <= 0:
            return 0.0
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * rate)
            if tokens >= 1.0:
                self._store(client, tokens - 1.0, now)
                return 0.0
            self._store(client, tokens, now)
            return (1.0 - tokens) / rate

    def _store(self, client: str, tokens: float, now: float) -> None:
        if client not in self._buckets and len(self._buckets) >= _MAX_BUCKETS:
            # forget the clients that have been quiet longest: their buckets are full anyway
            quiet = sorted(self._buckets, key=lambda key: self._buckets[key][1])
            for key in quiet[: _MAX_BUCKETS // 10]:
                del self._buckets[key]
        self._buckets[client] = (tokens, now)


class AccessControl:
    """Authenticates callers and enforces scopes and rate limits, as a litestar guard."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.keys: tuple[ApiKey, ...] = settings.api_keys
        self.buckets = TokenBucket(settings.rate_burst)

    def identify(self, connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
        """The caller's key, or None when no key was presented. A wrong key raises 401."""
        presented = _presented_key(connection)
        if presented is None:
            return None
        digest = hash_key(presented)
        match: ApiKey | None = None
        for key in self.keys:
            if hmac.compare_digest(digest, key.sha256):
                match = key
        if match is None:
            raise _unauthenticated("The API key is not valid.")
        rate = self.settings.rate_limit if match.rate_limit is None else match.rate_limit
        return Principal(name=match.name, scopes=match.scopes, rate_limit=rate)

    def guard(
        self, connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
    ) -> None:
        """Litestar guard: the handler's ``opt["scope"]`` names the scope it needs."""
        # a str: Scope is a StrEnum, so it compares and hashes as its value
        needed: str = handler.opt[SCOPE_OPT]
        principal = self.identify(connection)
        if principal is None:
            if needed != Scope.READ or not self.settings.public_read:
                raise _unauthenticated(
                    "This endpoint needs an API key in the X-API-Key header "
                    "or as Authorization: Bearer <key>."
                )
            # an anonymous client may read, and is limited by its address
            if self.settings.rate_limit > 0:
                client = connection.client.host if connection.client else "unknown"
                self._limit(f"ip:{client}", self.settings.rate_limit)
            return
        if needed not in principal.scopes:
            raise ProblemError(
                403,
                "forbidden",
                f"The key {principal.name!r} lacks the {needed!r} scope this endpoint needs.",
            )
        self._limit(principal.name, principal.rate_limit)

    def _limit(self, client: str, rate: float) -> None:
        wait = self.buckets.take(client, rate)
        if wait > 0:
            raise ProblemError(
                429,
                "rate-limited",
                f"Rate limit of {rate:g} requests/s exceeded; retry later.",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )


def require_json(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Only ``application/json`` request bodies are accepted (else 415)."""
    media_type = connection.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != "application/json":
        shown = media_type or "none"
        raise ProblemError(
            415,
            "unsupported-media-type",
            f"The body must be sent as Content-Type: application/json (got {shown}).",
        )


def _presented_key(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    key = connection.headers.get("x-api-key")
    if key:
        return key
    authorization = connection.headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def _unauthenticated(detail: str) -> ProblemError:
    return ProblemError(
        401, "unauthenticated", detail, headers={"WWW-Authenticate": 'Bearer realm="reliability"'}
    )
