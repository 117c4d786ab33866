"""One OpenAPI document for ops and frontends: the gateway's own routes plus every service's
public routes as they appear through the gateway (``/api/v1/<service>/...``).

The services' documents are fetched in the background (services may start after the
gateway, or restart) and refreshed every ``REFRESH_S``; a service whose document cannot be
fetched is named in the description instead of failing the gateway's docs.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
from collections.abc import Callable
from typing import Any

import httpx
from fastapi import FastAPI

from heemang_gateway.api.proxy import is_private
from heemang_gateway.upstream import SERVICES

REFRESH_S = 60.0
log = logging.getLogger("heemang.gateway.openapi")


def _rename_refs(node: Any, service: str) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/components/schemas/"):
                out[key] = f"#/components/schemas/{service}__{value.rsplit('/', 1)[1]}"
            else:
                out[key] = _rename_refs(value, service)
        return out
    if isinstance(node, list):
        return [_rename_refs(item, service) for item in node]
    return node


def merge(own: dict[str, Any], services: dict[str, dict[str, Any] | None]) -> dict[str, Any]:
    """The gateway's document with each service's public paths under /api/v1/<service>;
    schema names prefixed ``<service>__`` so equal names in two services do not collide."""
    merged = copy.deepcopy(own)
    paths = merged.setdefault("paths", {})
    schemas = merged.setdefault("components", {}).setdefault("schemas", {})
    missing = []
    for service, document in services.items():
        if document is None:
            missing.append(service)
            continue
        for path, operations in document.get("paths", {}).items():
            if is_private(path):
                continue
            renamed = _rename_refs(operations, service)
            for operation in renamed.values():
                if isinstance(operation, dict):
                    operation["tags"] = [f"{service}: {tag}" for tag in operation.get("tags") or ["api"]]
                    if "operationId" in operation:
                        operation["operationId"] = f"{service}__{operation['operationId']}"
            paths[f"/api/v1/{service}{path}"] = renamed
        for name, schema in document.get("components", {}).get("schemas", {}).items():
            schemas[f"{service}__{name}"] = _rename_refs(schema, service)
    if missing:
        note = "\n\nNot included (document unavailable at the last refresh): " + ", ".join(missing) + "."
        merged["info"]["description"] = merged["info"].get("description", "") + note
    return merged


class MergedOpenApi:
    """Holds the services' documents and serves the merged one through ``app.openapi``."""

    def __init__(self, app: FastAPI, base_urls: dict[str, str]) -> None:
        self.app = app
        self.base_urls = base_urls
        self.documents: dict[str, dict[str, Any] | None] = dict.fromkeys(SERVICES)
        self._own: Callable[[], dict[str, Any]] = app.openapi
        self._cached: dict[str, Any] | None = None

    def install(self) -> None:
        self.app.openapi = self.openapi  # type: ignore[method-assign]

    def openapi(self) -> dict[str, Any]:
        if self._cached is None:
            self._cached = merge(self._own(), self.documents)
        return self._cached

    async def refresh(self, client: httpx.AsyncClient) -> None:
        results = await asyncio.gather(*(self._fetch(client, s) for s in SERVICES))
        fresh = dict(zip(SERVICES, results, strict=True))
        # Keep a document we had when a service is briefly away.
        changed = False
        for service, document in fresh.items():
            if document is not None and document != self.documents[service]:
                self.documents[service] = document
                changed = True
        if changed:
            self._cached = None

    async def _fetch(self, client: httpx.AsyncClient, service: str) -> dict[str, Any] | None:
        try:
            response = await client.get(self.base_urls[service] + "/openapi.json", timeout=3.0)
            response.raise_for_status()
            document: dict[str, Any] = response.json()
            return document
        except (httpx.HTTPError, ValueError):
            return None

    async def keep_fresh(self, client: httpx.AsyncClient, stop: asyncio.Event) -> None:
        delay = 0.5  # quickly at first: services usually come up within seconds of the gateway
        while not stop.is_set():
            await self.refresh(client)
            if all(self.documents.values()):
                delay = REFRESH_S
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
            delay = min(delay * 2, REFRESH_S)
