"""``/api/v1/<service>/...``: every service route, through the gateway, with the caller's
identity forwarded. The services' own OpenAPI documents describe these routes; the gateway
merges them into its document (openapi_merge.py), so frontends see one API."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Depends, Request, Response

from heemang_common.errors import DomainError, NotFound
from heemang_gateway.deps import UpstreamsDep, signed_in
from heemang_gateway.upstream import SERVICES

router = APIRouter(prefix="/api/v1", dependencies=[Depends(signed_in)])

#: Service paths that are not part of the public API (probes, metrics, ops, docs).
PRIVATE_PREFIXES = ("ops", "metrics", "healthz", "readyz", "docs", "redoc", "openapi.json")
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
MAX_BODY_BYTES = 60 * 1024 * 1024  # bulk screening imports are the largest bodies


class PayloadTooLarge(DomainError):
    status = 413
    problem = "payload-too-large"
    title = "The request body is too large"


def is_private(path: str) -> bool:
    first = path.strip("/").split("/", 1)[0]
    return first in PRIVATE_PREFIXES


@router.api_route("/{service}/{path:path}", methods=METHODS, include_in_schema=False)
async def proxy(service: str, path: str, request: Request, upstreams: UpstreamsDep) -> Response:
    if service not in SERVICES or is_private(path):
        raise NotFound(f"No API route /api/v1/{service}/{path}.")
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"At most {MAX_BODY_BYTES // (1024 * 1024)} MiB per request.")
    extra = {}
    if content_type := request.headers.get("content-type"):
        extra["content-type"] = content_type
    return await upstreams.relay(
        service,
        request.method,
        # The path arrives decoded; forward it encoded again, so an id with spaces, control
        # characters or non-ASCII reaches the service as the service's own 404/422.
        "/" + quote(path, safe="/:@!$&'()*+,;=-._~"),
        request=request,
        params=list(request.query_params.multi_items()),
        content=body or None,
        extra_headers=extra,
    )
