"""Documents for ops besides OpenAPI: the AsyncAPI document of every event on the bus."""

from __future__ import annotations

from functools import cache
from typing import Any

from fastapi import APIRouter

from heemang_common.events.schemas import asyncapi, build_catalogue

router = APIRouter(tags=["docs"])


@cache
def _asyncapi() -> dict[str, Any]:
    return asyncapi(build_catalogue())


@router.get(
    "/asyncapi.json", summary="AsyncAPI 3 document of the domain events (topics, payloads, consumers)"
)
async def asyncapi_document() -> dict[str, Any]:
    return _asyncapi()
