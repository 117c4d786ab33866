"""The gateway as frontends see it: one OpenAPI document with every service's routes, those
routes reachable through /api/v1/<service>/..., the household view that still answers when
a service is down, and per-user rate limits."""

from __future__ import annotations

from typing import Any

import httpx

from heemang_common.testing import eventually

HOUSEHOLD = {"dong": "sinsa", "household_type": "elderly_alone", "protection_status": "near_poor"}


async def test_one_document_and_every_service_route_through_the_gateway(
    make_stack: Any, bootstrap: str
) -> None:
    stack = make_stack(bootstrap)
    await stack.start("intake")
    await stack.start("gateway")
    async with stack.client("gateway") as gateway:

        async def merged() -> dict[str, Any] | None:
            document = (await gateway.get("/openapi.json")).json()
            return document if "/api/v1/intake/households/{household_id}" in document["paths"] else None

        document = await eventually(merged, timeout_s=20)
        assert "/auth/token" in document["paths"] and "/audit/access-log" in document["paths"]
        proxied = [path for path in document["paths"] if path.startswith("/api/v1/intake/")]
        assert not any("/ops/" in path or path.endswith(("/metrics", "/healthz")) for path in proxied)
        assert "intake__HouseholdRead" in document["components"]["schemas"]

        created = await gateway.post("/api/v1/intake/households", json=HOUSEHOLD)
        assert created.status_code == 201, created.text
        read = await gateway.get(f"/api/v1/intake/households/{created.json()['id']}")
        assert read.status_code == 200 and read.json()["dong"] == "sinsa"
        assert (await gateway.get("/api/v1/intake/ops/dead-letters")).status_code == 404
        assert (await gateway.get("/api/v1/nowhere/households")).status_code == 404
    async with httpx.AsyncClient(base_url=stack.running["gateway"].url) as anonymous:
        assert (await anonymous.get("/api/v1/intake/households")).status_code == 401


async def test_household_view_answers_without_a_stopped_service(make_stack: Any, bootstrap: str) -> None:
    stack = make_stack(bootstrap)
    await stack.start("intake")
    await stack.start("casework")
    # resources and hotline are not running: their parts must be named missing, quickly.
    await stack.start("gateway", resources_url="http://127.0.0.1:9", hotline_url="http://127.0.0.1:9")
    async with stack.client("gateway") as gateway:
        household = (await gateway.post("/api/v1/intake/households", json=HOUSEHOLD)).json()
        view = await gateway.get(f"/api/v1/households/{household['id']}/view")
        assert view.status_code == 200, view.text
        body = view.json()
        assert body["parts"]["profile"]["id"] == household["id"]
        assert "cases" in body["parts"]
        assert body["complete"] is False
        assert {(m["part"], m["reason"]) for m in body["missing"]} >= {
            ("support", "unavailable"),
            ("consultations", "unavailable"),
        }
        unknown = await gateway.get("/api/v1/households/00000000-0000-4000-8000-000000000000/view")
        assert unknown.status_code == 404


async def test_rate_limit_per_user(make_stack: Any, bootstrap: str) -> None:
    stack = make_stack(bootstrap)
    await stack.start("gateway", rate_limit_per_minute=60)  # bursts of 10
    async with stack.client("gateway", sub="busy-user") as gateway:
        answers = [(await gateway.get("/auth/me")).status_code for _ in range(15)]
        assert answers.count(200) == 10 and answers[-1] == 429
        limited = await gateway.get("/auth/me")
        assert int(limited.headers["retry-after"]) >= 1
    async with stack.client("gateway", sub="calm-user") as other:
        assert (await other.get("/auth/me")).status_code == 200  # one user's burst is not another's
