"""RFC 9457 problem details: the one shape of every error response.

Handlers raise :class:`ProblemError`; litestar's own exceptions and any unexpected exception
are converted by the handlers registered in ``api.app`` (see :func:`exception_handlers`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi import ResponseSpec
from litestar.types import ExceptionHandlersMap

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://reliability.example/problems/"

log = logging.getLogger("reliability.api")

_MSGSPEC_PATH = re.compile(r"^(?P<message>.*?)(?: - at `(?P<path>\$[^`]*)`)?$", re.DOTALL)


class FieldError(msgspec.Struct, frozen=True, kw_only=True):
    """What is wrong with one part of a request, at a JSON path like ``$.reports[3].value``."""

    path: str
    message: str


class Problem(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """An RFC 9457 problem details body."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] = msgspec.field(default_factory=list)
    #: Extension members specific to the problem type (for example the prior of an unknown outlet).
    context: dict[str, Any] | None = None


class ProblemError(Exception):
    """Raise to answer with a problem details response."""

    def __init__(
        self,
        status: int,
        slug: str,
        detail: str,
        *,
        errors: Sequence[FieldError] = (),
        context: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.detail = detail
        self.errors = list(errors)
        self.context = dict(context) if context is not None else None
        self.headers = dict(headers or {})


def split_msgspec_message(text: str) -> FieldError:
    """Split msgspec's ``"Expected `int`, got `str` - at `$.x`"`` into path and message.

    >>> split_msgspec_message("Expected `int`, got `str` - at `$.reports[0].value`")
    FieldError(path='$.reports[0].value', message='Expected `int`, got `str`')
    """
    match = _MSGSPEC_PATH.match(text)
    assert match is not None  # the pattern matches any text
    return FieldError(path=match["path"] or "$", message=match["message"])


def problem_response(request: Request[Any, Any, Any], error: ProblemError) -> Response[Problem]:
    body = Problem(
        type=PROBLEM_BASE + error.slug,
        title=HTTPStatus(error.status).phrase,
        status=error.status,
        detail=error.detail,
        instance=request.url.path,
        request_id=request_id_of(request),
        errors=error.errors,
        context=error.context,
    )
    return Response(
        body, status_code=error.status, media_type=PROBLEM_MEDIA_TYPE, headers=error.headers
    )


def request_id_of(request: Request[Any, Any, Any]) -> str | None:
    value = request.scope.get("state", {}).get("request_id")
    return value if isinstance(value, str) else None


def _handle_problem(request: Request[Any, Any, Any], exc: ProblemError) -> Response[Problem]:
    return problem_response(request, exc)


def _validation_errors(exc: ValidationException) -> list[FieldError]:
    errors = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", "invalid value"))
        key = str(item.get("key", ""))
        source = item.get("source")
        source = getattr(source, "value", source)  # litestar gives a ParamType enum
        if source == "body":
            # litestar reports body paths as "reports[3].value" after stripping "data."
            path = "$" if key in ("", "data") else f"$.{key}"
        elif source is not None and key:
            path = f"{source}.{key}"
        else:
            path = "$"
        errors.append(FieldError(path=path, message=message))
    return errors


def _handle_validation(
    request: Request[Any, Any, Any], exc: ValidationException
) -> Response[Problem]:
    return problem_response(
        request,
        ProblemError(
            422,
            "invalid-request",
            "The request does not match the schema.",
            errors=_validation_errors(exc),
        ),
    )


_HTTP_SLUGS = {
    400: "malformed-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    413: "body-too-large",
    415: "unsupported-media-type",
    429: "rate-limited",
}


def _handle_http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Problem]:
    status = exc.status_code
    if status >= 500:
        return _handle_unexpected(request, exc)
    detail = exc.detail or HTTPStatus(status).phrase
    slug = _HTTP_SLUGS.get(status, "http-error")
    if status == 400:
        # litestar raises a bare 400 when the body is not JSON at all
        detail = f"The request body could not be parsed: {detail}."
    elif status == 404:
        detail = f"No resource at {request.url.path}."
    elif status == 405:
        detail = f"{request.method} is not allowed on {request.url.path}."
    return problem_response(
        request,
        ProblemError(status, slug, detail, headers=exc.headers or {}),
    )


def _handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    request_id = request_id_of(request)
    log.error(
        "unhandled error",
        exc_info=exc,
        extra={"request_id": request_id, "path": request.url.path, "method": request.method},
    )
    return problem_response(
        request,
        ProblemError(
            500,
            "internal-error",
            f"An unexpected error occurred; quote request id {request_id} when reporting it.",
        ),
    )


def exception_handlers() -> ExceptionHandlersMap:
    """The handlers that turn every exception into problem details."""
    return {
        ProblemError: _handle_problem,
        ValidationException: _handle_validation,
        HTTPException: _handle_http,
        Exception: _handle_unexpected,
    }


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI documentation of the problem responses an endpoint can give."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            description=HTTPStatus(status).phrase + " (problem details)",
            media_type=PROBLEM_MEDIA_TYPE,
            generate_examples=False,
        )
        for status in statuses
    }
