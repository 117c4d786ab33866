"""HTTP calls from the gateway to the services, with the caller's identity forwarded.

The services verify the forwarded token themselves and enforce scope again (defence in
depth); the gateway adds where the request came from and the purpose the user stated.
"""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import Request, Response

from heemang_common.access_log import PURPOSE_HEADER, REASON_HEADER
from heemang_common.context import current_correlation_id
from heemang_common.errors import UpstreamUnavailable
from heemang_common.problems import PROBLEM_MEDIA_TYPE
from heemang_gateway.settings import Settings

SERVICES = ("intake", "casework", "resources", "hotline")
#: Response headers passed back to the client (others are hop-by-hop or the service's own).
PASSED_BACK = ("content-type", "content-disposition", "retry-after", "location")


def forwarded_headers(request: Request) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name in ("authorization", PURPOSE_HEADER, REASON_HEADER, "idempotency-key"):
        value = request.headers.get(name)
        if value:
            headers[name] = value
    peer = request.client.host if request.client else "unknown"
    prior = request.headers.get("x-forwarded-for")
    headers["x-forwarded-for"] = f"{prior}, {peer}" if prior else peer
    correlation_id = current_correlation_id()
    if correlation_id:
        headers["x-request-id"] = correlation_id
    return headers


class Upstreams:
    def __init__(self, settings: Settings, client: httpx.AsyncClient) -> None:
        self.client = client
        self.base_urls = self.base_urls_of(settings)

    @staticmethod
    def base_urls_of(settings: Settings) -> dict[str, str]:
        return {name: getattr(settings, f"{name}_url").rstrip("/") for name in SERVICES}

    async def call(
        self,
        service: str,
        method: str,
        path: str,
        *,
        request: Request | None = None,
        params: Any = None,
        json: Any = None,
        content: bytes | None = None,
        extra_headers: dict[str, str] | None = None,
        timeout_s: float | None = None,
    ) -> httpx.Response:
        headers = forwarded_headers(request) if request is not None else {}
        if request is None and (correlation_id := current_correlation_id()):
            headers["x-request-id"] = correlation_id
        headers.update(extra_headers or {})
        try:
            return await self.client.request(
                method,
                self.base_urls[service] + path,
                params=params,
                json=json,
                content=content,
                headers=headers,
                timeout=timeout_s if timeout_s is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.HTTPError as exc:
            raise UpstreamUnavailable(
                f"{service} did not answer: {type(exc).__name__}", service=service
            ) from exc

    async def relay(self, service: str, method: str, path: str, **kwargs: Any) -> Response:
        """Pass the service's answer through unchanged (its problem+json included)."""
        upstream = await self.call(service, method, path, **kwargs)
        media_type = upstream.headers.get("content-type", "application/json")
        if upstream.status_code >= 400 and "json" in media_type:
            media_type = PROBLEM_MEDIA_TYPE
        headers = {k: v for k, v in upstream.headers.items() if k in PASSED_BACK and k != "content-type"}
        return Response(
            content=upstream.content, status_code=upstream.status_code, media_type=media_type, headers=headers
        )
