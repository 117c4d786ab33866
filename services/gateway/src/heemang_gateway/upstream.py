"""HTTP calls from the gateway to the services, with the caller's correlation id."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import Response

from heemang_common.context import current_correlation_id
from heemang_common.errors import UpstreamUnavailable
from heemang_common.problems import PROBLEM_MEDIA_TYPE
from heemang_gateway.settings import Settings

SERVICES = ("intake", "casework", "resources", "hotline")


class Upstreams:
    def __init__(self, settings: Settings, client: httpx.AsyncClient) -> None:
        self.client = client
        self.base_urls = {name: getattr(settings, f"{name}_url").rstrip("/") for name in SERVICES}

    async def call(
        self,
        service: str,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
    ) -> httpx.Response:
        headers = {}
        correlation_id = current_correlation_id()
        if correlation_id:
            headers["x-request-id"] = correlation_id
        try:
            return await self.client.request(
                method, self.base_urls[service] + path, params=params, json=json, headers=headers
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
        return Response(content=upstream.content, status_code=upstream.status_code, media_type=media_type)
