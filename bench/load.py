"""``make load``: the frontends' typical calls at the volumes of a city, bounded in time.

Scale (domain brief): one district sees ~370 walk-in/phone consultations a day (55,826 in
five months), ~125 hotline calls, 2.6 police reports; a city of 10 million has about 25
districts with ~300 welfare staff each. During office hours that is ~7,500 users; at one
call every 30 s each, ~250 requests a second at the gateway, nine in ten of them reads.

The generator is open-loop: requests start on a Poisson schedule at the target rate,
whether or not earlier ones finished (a closed loop hides queueing), with at most
``--max-in-flight`` outstanding (beyond that a start is counted as shed). It runs every
service as its own process on PostgreSQL and the embedded broker, loopback only, for
``--duration`` seconds, and reports per route: requests, errors, throughput, p50 and p99.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.e2e import ProcessStack
from bench.env import BenchEnv
from heemang_common.testing import TEST_MINT

SERVICES = ("intake", "casework", "resources", "hotline", "gateway")
DONGS = ("sinsa", "nonhyeon1", "apgujeong", "yeoksam1", "daechi1", "segok")


@dataclass
class RouteStats:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=lambda: defaultdict(int))

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


@dataclass
class World:
    households: list[str] = field(default_factory=list)


Call = Callable[[httpx.AsyncClient, World, random.Random], Awaitable[httpx.Response]]


def _household(rng: random.Random) -> dict[str, Any]:
    return {
        "dong": rng.choice(DONGS),
        "household_type": rng.choice(["elderly_alone", "single_parent", "couple", "single_working_age"]),
        "protection_status": rng.choice(["basic_livelihood", "near_poor", "low_income"]),
    }


async def view_household(client: httpx.AsyncClient, world: World, rng: random.Random) -> httpx.Response:
    return await client.get(f"/api/v1/households/{rng.choice(world.households)}/view")


async def read_household(client: httpx.AsyncClient, world: World, rng: random.Random) -> httpx.Response:
    return await client.get(f"/api/v1/intake/households/{rng.choice(world.households)}")


async def list_cases(client: httpx.AsyncClient, world: World, rng: random.Random) -> httpx.Response:
    return await client.get("/api/v1/casework/cases", params={"dong": rng.choice(DONGS), "limit": 50})


async def worklist(client: httpx.AsyncClient, world: World, rng: random.Random) -> httpx.Response:
    return await client.get("/api/v1/worklist")


async def list_alerts(client: httpx.AsyncClient, world: World, rng: random.Random) -> httpx.Response:
    return await client.get("/api/v1/alerts", params={"dong": rng.choice(DONGS)})


async def register_household(client: httpx.AsyncClient, world: World, rng: random.Random) -> httpx.Response:
    response = await client.post("/api/v1/intake/households", json=_household(rng))
    if response.status_code == 201:
        world.households.append(response.json()["id"])
    return response


async def refer(client: httpx.AsyncClient, world: World, rng: random.Random) -> httpx.Response:
    body = {
        "dong": rng.choice(DONGS),
        "channel": rng.choice(["walk_in", "phone"]),
        "summary": "load",
        "urgency": rng.choice(["high", "medium", "low"]),
        "importance": rng.choice(["high", "medium", "low"]),
        "accept": True,
    }
    return await client.post("/api/v1/referrals", json=body)


#: (route name, weight, call): nine in ten calls are reads.
MIX: list[tuple[str, int, Call]] = [
    ("GET household view", 25, view_household),
    ("GET household", 20, read_household),
    ("GET cases by 동", 20, list_cases),
    ("GET worklist", 15, worklist),
    ("GET alerts", 10, list_alerts),
    ("POST household", 5, register_household),
    ("POST referral", 5, refer),
]


async def drive(
    client: httpx.AsyncClient, world: World, *, rate: float, duration_s: float, max_in_flight: int, seed: int
) -> tuple[dict[str, RouteStats], int, float]:
    rng = random.Random(seed)
    stats: dict[str, RouteStats] = defaultdict(RouteStats)
    names, weights, calls = zip(*MIX, strict=True)
    in_flight: set[asyncio.Task[None]] = set()
    shed = 0

    async def one(name: str, call: Call) -> None:
        started = time.perf_counter()
        try:
            response = await call(client, world, rng)
            stats[name].statuses[response.status_code] += 1
            if response.status_code >= 400:
                stats[name].errors += 1
            else:
                stats[name].latencies.append(time.perf_counter() - started)
        except httpx.HTTPError:
            stats[name].errors += 1

    started = time.perf_counter()
    next_at = started
    while (now := time.perf_counter()) - started < duration_s:
        if now < next_at:
            await asyncio.sleep(next_at - now)
        next_at += rng.expovariate(rate)
        if len(in_flight) >= max_in_flight:
            shed += 1
            continue
        index = rng.choices(range(len(names)), weights=weights)[0]
        task = asyncio.create_task(one(names[index], calls[index]))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    await asyncio.gather(*in_flight, return_exceptions=True)
    return stats, shed, time.perf_counter() - started


async def run(env: BenchEnv, args: argparse.Namespace) -> dict[str, Any]:
    stack = ProcessStack(env)
    headers = TEST_MINT.headers("district_admin", ttl_s=7200)
    limits = httpx.Limits(max_connections=args.max_in_flight, max_keepalive_connections=args.max_in_flight)
    try:
        for name in SERVICES:
            await stack.start(name, extra_env={"GATEWAY_RATE_LIMIT_PER_MINUTE": "100000000"})
        async with httpx.AsyncClient(
            base_url=stack.urls["gateway"], headers=headers, timeout=30, limits=limits
        ) as client:
            world = World()
            rng = random.Random(args.seed)
            for _ in range(args.households):
                await register_household(client, world, rng)
            if not world.households:
                raise RuntimeError("could not register a single household; is the stack healthy?")
            stats, shed, wall = await drive(
                client,
                world,
                rate=args.rate,
                duration_s=args.duration,
                max_in_flight=args.max_in_flight,
                seed=args.seed,
            )
    finally:
        await stack.stop_all()
    routes: dict[str, dict[str, Any]] = {
        name: {
            "requests": len(s.latencies) + s.errors,
            "errors": s.errors,
            "per_s": round((len(s.latencies) + s.errors) / wall, 1),
            "p50_ms": round(s.quantile(0.5), 1),
            "p99_ms": round(s.quantile(0.99), 1),
            "statuses": dict(s.statuses),
        }
        for name, s in sorted(stats.items())
    }
    total = sum(r["requests"] for r in routes.values())
    return {
        "target_per_s": args.rate,
        "achieved_per_s": round(total / wall, 1),
        "shed": shed,
        "duration_s": round(wall, 1),
        "routes": routes,
        "run_id": uuid.uuid4().hex[:8],
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument(
        "--rate", type=float, default=250.0, help="target requests a second (city scale: 250)"
    )
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (bounded)")
    parser.add_argument("--max-in-flight", type=int, default=200, help="outstanding requests at most")
    parser.add_argument("--households", type=int, default=200, help="households registered first")
    parser.add_argument("--seed", type=int, default=20261123)
    args = parser.parse_args(argv)
    if args.rate <= 0 or not 1 <= args.duration <= 3600 or args.max_in_flight < 1:
        parser.error("rate > 0, 1 ≤ duration ≤ 3600 and max-in-flight ≥ 1")
    return args


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    env = await BenchEnv.open(force_sqlite=False)
    try:
        return await run(env, args)
    finally:
        await env.close()


def main(argv: list[str] | None = None) -> None:
    report = asyncio.run(measure(parse_args(argv)))
    out = Path("var/load")
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(f"target {report['target_per_s']}/s, achieved {report['achieved_per_s']}/s, shed {report['shed']}")
    print(f"{'route':<22}{'requests':>10}{'errors':>8}{'per s':>8}{'p50 ms':>10}{'p99 ms':>10}")
    for name, route in report["routes"].items():
        print(
            f"{name:<22}{route['requests']:>10}{route['errors']:>8}{route['per_s']:>8}"
            f"{route['p50_ms']:>10}{route['p99_ms']:>10}"
        )
    print(f"report: {out / 'report.json'}")


if __name__ == "__main__":
    main()
