"""RFC 9457 problem+json for every error a service returns."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from heemang_common.context import correlation_id_var
from heemang_common.errors import PROBLEM_BASE, DomainError

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("heemang.http")


def problem_response(
    status: int, problem: str, title: str, detail: str, request: Request, **extensions: Any
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + problem if problem != "about:blank" else problem,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    correlation_id = correlation_id_var.get()
    if correlation_id:
        body["correlation_id"] = correlation_id
    body.update(extensions)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE)


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    response = problem_response(exc.status, exc.problem, exc.title, exc.detail, request, **exc.extensions)
    response.headers.update(exc.headers)
    return response


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # Name the fields and what is wrong; never echo the submitted values (they may be PII).
    errors = [
        {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")}
        for err in exc.errors()
    ]
    return problem_response(
        422,
        "validation-error",
        "Invalid input",
        "The request does not match the schema.",
        request,
        errors=errors,
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    title = (
        HTTPStatus(exc.status_code).phrase if exc.status_code in HTTPStatus._value2member_map_ else "Error"
    )
    problem = title.lower().replace(" ", "-")
    response = problem_response(exc.status_code, problem, title, str(exc.detail), request)
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(
        500,
        "internal-error",
        "Internal server error",
        "Something went wrong on our side; the request changed nothing if it failed before commit.",
        request,
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


#: Every error a route can answer, whatever the route: bad body (400), no or bad token
#: (401), scope (403), unknown id (404), conflict (409), validation (422), rate limit
#: (429), a service it needs is down (503).
COMMON_ERRORS = {
    "400": "The body could not be parsed",
    "401": "No valid token (sign in at the gateway)",
    "403": "Outside the caller's role or scope",
    "404": "Not found (or not visible to the caller)",
    "409": "Conflicts with the current state",
    "413": "The body is too large",
    "422": "Invalid input; nothing was changed",
    "429": "Too many requests (see Retry-After)",
    "503": "A service this request needs is unavailable",
}

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "correlation_id": {"type": "string"},
    },
    "additionalProperties": True,
}


def document_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """Declare the problem+json answers on every operation of an OpenAPI document, so a
    client (and schemathesis) knows every status and media type a route can return."""
    schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    problem = {"content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for status, description in COMMON_ERRORS.items():
                existing = responses.get(status, {})
                responses[status] = {"description": existing.get("description", description), **problem}
    return schema


def install_problem_docs(app: FastAPI) -> None:
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_problems(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
