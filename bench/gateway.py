"""Gateway figures: what going through the gateway costs, at 200 concurrent clients.

Every service runs as its own process (``heemang-<svc> serve``, as ``make run`` starts
them); the clients run here, bounded in count and time, against loopback.

- ``gateway_proxy_p50_ratio`` / ``_p99_ratio``: GET of one household through
  ``/api/v1/intake/households/{id}`` over the same GET straight at intake (target ≤ 1.5).
- ``household_view_p50_ratio`` / ``_p99_ratio``: the household view (five service calls made
  concurrently) over the slowest of those calls made directly under the same load
  (target ≤ 1.3).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.e2e import ProcessStack
from bench.env import BenchEnv
from heemang_common.testing import TEST_MINT

SERVICES = ("intake", "casework", "resources", "hotline", "gateway")
HOUSEHOLD = {"dong": "sinsa", "household_type": "elderly_alone", "protection_status": "near_poor"}


@dataclass
class Latencies:
    samples: list[float] = field(default_factory=list)
    errors: int = 0

    def quantile(self, q: float) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def load(client: httpx.AsyncClient, url: str, *, clients: int, requests: int) -> Latencies:
    """``requests`` GETs of ``url`` by ``clients`` concurrent workers; latency of each."""
    result = Latencies()
    remaining = iter(range(requests))

    async def worker() -> None:
        for _ in remaining:
            started = time.perf_counter()
            try:
                response = await client.get(url)
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            if ok:
                result.samples.append(time.perf_counter() - started)
            else:
                result.errors += 1

    await asyncio.gather(*(worker() for _ in range(clients)))
    return result


async def run(env: BenchEnv, *, clients: int = 200, requests: int = 4_000) -> tuple[dict[str, float], Any]:
    stack = ProcessStack(env)
    headers = TEST_MINT.headers("district_admin", ttl_s=3600)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    try:
        for name in SERVICES:
            await stack.start(name, extra_env={"GATEWAY_RATE_LIMIT_PER_MINUTE": "10000000"})
        async with httpx.AsyncClient(timeout=30, headers=headers, limits=limits) as client:
            created = await client.post(stack.urls["intake"] + "/households", json=HOUSEHOLD)
            created.raise_for_status()
            household = created.json()["id"]
            gateway = stack.urls["gateway"]
            direct = {
                "profile": f"{stack.urls['intake']}/households/{household}",
                "referrals": f"{stack.urls['intake']}/referrals?household_id={household}",
                "cases": f"{stack.urls['casework']}/cases?household_id={household}",
                "support": f"{stack.urls['resources']}/households/{household}/support",
                "consultations": f"{stack.urls['hotline']}/consultations?household_id={household}",
                "checkins": f"{stack.urls['hotline']}/enrolments?household_id={household}",
            }
            warm = min(requests, 200)
            await load(client, direct["profile"], clients=clients, requests=warm)
            await load(
                client, f"{gateway}/api/v1/intake/households/{household}", clients=clients, requests=warm
            )
            straight = await load(client, direct["profile"], clients=clients, requests=requests)
            proxied = await load(
                client, f"{gateway}/api/v1/intake/households/{household}", clients=clients, requests=requests
            )
            parts = {
                name: await load(client, url, clients=clients, requests=requests // 2)
                for name, url in direct.items()
            }
            view = await load(
                client, f"{gateway}/api/v1/households/{household}/view", clients=clients, requests=requests
            )
    finally:
        await stack.stop_all()
    answering = {name: lat for name, lat in parts.items() if lat.samples}
    slowest_p50 = max(lat.quantile(0.5) for lat in answering.values())
    slowest_p99 = max(lat.quantile(0.99) for lat in answering.values())
    figures = {
        "gateway_proxy_p50_ratio": proxied.quantile(0.5) / straight.quantile(0.5),
        "gateway_proxy_p99_ratio": proxied.quantile(0.99) / straight.quantile(0.99),
        "household_view_p50_ratio": view.quantile(0.5) / slowest_p50,
        "household_view_p99_ratio": view.quantile(0.99) / slowest_p99,
        "household_view_p99_ms": view.quantile(0.99) * 1000,
    }
    details = {
        "clients": clients,
        "requests": requests,
        "direct_p50_ms": straight.quantile(0.5) * 1000,
        "proxied_p50_ms": proxied.quantile(0.5) * 1000,
        "parts_p50_ms": {name: lat.quantile(0.5) * 1000 for name, lat in parts.items()},
        "parts_errors": {name: lat.errors for name, lat in parts.items()},
        "view_p50_ms": view.quantile(0.5) * 1000,
        "errors": {"direct": straight.errors, "proxied": proxied.errors, "view": view.errors},
        "mean_ms": {"direct": statistics.fmean(straight.samples or [0]) * 1000},
    }
    return figures, details


async def _main() -> None:
    import json

    env = await BenchEnv.open(force_sqlite=False)
    try:
        figures, details = await run(env, requests=1_000)
    finally:
        await env.close()
    print(json.dumps({"figures": figures, "details": details}, indent=2))


if __name__ == "__main__":
    asyncio.run(_main())
