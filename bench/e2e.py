"""Figure 3: end-to-end latency, referral POSTed at the gateway → case readable there.

intake, casework and gateway run in this process on real loopback ports (uvicorn, real
lifespans, fresh migrated databases), like tests/conftest.py's ``Stack``. W workers each
POST a referral and then poll ``GET /api/v1/cases?referral_id=...`` every ``poll_s`` until
the case is listed; latency is from just before the POST to the response that lists the
case. Load is bounded: W referrals in flight at most. One referral goes through first,
untimed, so the casework consumer has joined its group before the clock starts.

Afterwards the services' own timestamps split each latency into stages (same host clock):
POST → intake's outbox row for referral.accepted (``created_at``) → broker ack
(``published_at``, stamped after the ack) / casework's case row (``opened_at``) → the poll
that saw it. Everything shares one event loop, so its lag and this process's CPU use are
reported too: they say how much of the latency is queueing for the core.

``--e2e-processes`` adds a second pass in the topology ``make run`` uses: each service a
child process (``heemang-<svc> serve``), only the clients in this process. Its figures are
named ``e2e_processes_*``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from bench.env import BenchEnv, service_parts
from bench.phases import Phases
from heemang_common.broker import free_port, set_parent_death_signal
from heemang_common.db import create_engine, create_sessionmaker
from heemang_common.testing import TEST_MINT, RunningService, fast_settings, serve

REFERRAL_TIMEOUT_S = 30.0
SERVICES = ("intake", "casework", "gateway")
BODY = {"dong": "yeoksam1", "channel": "walk_in", "summary": "bench", "urgency": "high",
        "importance": "medium", "accept": True}


@dataclass(frozen=True)
class Load:
    referrals: int = 1_000
    workers: int = 20
    poll_s: float = 0.005


@dataclass
class Sample:
    referral_id: str
    started: float  # wall clock (s since epoch), to line up with the services' timestamps
    post_s: float
    total_s: float
    polls: int


@dataclass
class Errors:
    """Failed calls: counted and reported, not fatal, so one bad answer cannot sink the run."""

    posts: int = 0
    polls: int = 0
    first: list[str] = field(default_factory=list)

    def note(self, what: str) -> None:
        if len(self.first) < 5:
            self.first.append(what[:300])


@dataclass
class Stack:
    """tests/conftest.py's Stack, reduced to what the benchmark needs: the services in this
    process (real uvicorn servers on loopback ports, sharing this event loop)."""

    env: BenchEnv
    running: dict[str, RunningService] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    database_urls: dict[str, str] = field(default_factory=dict)

    async def start(self, name: str) -> None:
        parts = service_parts(name)
        self.database_urls[name] = await self.env.fresh_database(name)
        overrides: dict[str, Any] = {}
        if name == "gateway":
            overrides = {f"{n}_url": url for n, url in self.urls.items()}
        settings = fast_settings(
            parts.settings_cls, database_url=self.database_urls[name],
            bootstrap=self.env.bootstrap, port=free_port(), **overrides,
        )
        service = await serve(name, parts.create_app(settings), settings.port)
        self.running[name], self.urls[name] = service, service.url

    async def stop_all(self) -> None:
        for name in reversed(list(self.running)):
            with contextlib.suppress(Exception):
                await self.running.pop(name).stop()


@dataclass
class ProcessStack(Stack):
    """The same services as child processes, as ``make run`` starts them."""

    children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    async def start(self, name: str, extra_env: dict[str, str] | None = None) -> None:
        self.database_urls[name] = await self.env.fresh_database(name)
        port, prefix = free_port(), name.upper()
        env = {**os.environ, f"{prefix}_DATABASE_URL": self.database_urls[name],
               f"{prefix}_KAFKA_BOOTSTRAP_SERVERS": self.env.bootstrap,
               f"{prefix}_PORT": str(port), f"{prefix}_HOST": "127.0.0.1",
               "LOG_LEVEL": "WARNING", "LOG_JSON": "false", "AUTH_JWKS": TEST_MINT.jwks_json(),
               "HEEMANG_ENV": "test"}
        if name == "gateway":
            env.update({f"GATEWAY_{n.upper()}_URL": url for n, url in self.urls.items()})
        env.update(extra_env or {})
        script = Path(sys.executable).with_name(f"heemang-{name}")
        # Popen only forks and execs; readiness is awaited below without blocking the loop.
        self.children[name] = subprocess.Popen(  # noqa: ASYNC220
            [str(script), "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=set_parent_death_signal,
        )
        self.urls[name] = f"http://127.0.0.1:{port}"
        await self._wait_healthy(name)

    async def _wait_healthy(self, name: str) -> None:
        async with httpx.AsyncClient(timeout=1) as client:
            for _ in range(300):
                if self.children[name].poll() is not None:
                    raise RuntimeError(f"heemang-{name} exited with {self.children[name].returncode}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(self.urls[name] + "/healthz")).status_code == 200:
                        return
                await asyncio.sleep(0.1)
        raise TimeoutError(f"heemang-{name} did not become healthy")

    async def stop_all(self) -> None:
        for child in reversed(list(self.children.values())):
            child.terminate()  # graceful: consumers finish their batch
        for child in self.children.values():
            try:
                await asyncio.to_thread(child.wait, 20)
            except subprocess.TimeoutExpired:
                child.kill()
        self.children.clear()


class LoopLag:
    """How late a 10 ms sleep wakes up: how long any ready task waits for the loop."""

    def __init__(self, interval_s: float = 0.01) -> None:
        self.interval_s = interval_s
        self.samples_ms: list[float] = [0.0]

    async def watch(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(self.interval_s)
            self.samples_ms.append(1000 * (time.perf_counter() - before - self.interval_s))


async def run(
    env: BenchEnv, load: Load, *, processes: bool = False
) -> tuple[dict[str, float], dict[str, Any]]:
    stack, errors = (ProcessStack(env) if processes else Stack(env)), Errors()
    try:
        for name in SERVICES:
            await stack.start(name)
        pipeline = _instrument(stack)
        figures, wall_s = await _drive(stack, load, errors)
        meta = {"referrals": load.referrals, "workers": load.workers, "poll_s": load.poll_s,
                "wall_s": wall_s, "first_errors": errors.first,
                "pipeline_phases": pipeline.summary(wall_s) if pipeline else {}}
    finally:
        await stack.stop_all()
    if processes:  # the clients' loop and CPU only, hence the prefix on every figure
        figures = {name.replace("e2e_", "e2e_processes_", 1): v for name, v in figures.items()}
    return figures, meta


def _instrument(stack: Stack) -> Phases | None:
    """Time the relay's and the consumer's work inside in-process services (per instance)."""
    if not stack.running:
        return None
    phases = Phases()
    intake = stack.running["intake"].runtime
    phases.wrap(intake.relay, "publish_pending_once", "intake_relay_cycle")
    for consumer in stack.running["casework"].runtime.consumers:
        phases.wrap(consumer.processor, "handle_batch", f"{consumer.name}_consumer_batch")
    return phases


async def _drive(stack: Stack, load: Load, errors: Errors) -> tuple[dict[str, float], float]:
    limits = httpx.Limits(max_connections=load.workers * 2, max_keepalive_connections=load.workers * 2)
    # A district admin's token (signed by the test mint every service here trusts).
    headers = TEST_MINT.headers("district_admin", ttl_s=3600)
    async with httpx.AsyncClient(
        base_url=stack.urls["gateway"], timeout=10, limits=limits, headers=headers
    ) as client:
        # Warm-up, untimed: the consumer group has joined and connections are open.
        if await _one_referral(client, load, errors) is None:
            raise RuntimeError(f"the warm-up referral failed: {errors.first}")
        lag = LoopLag()
        monitor = asyncio.create_task(lag.watch())
        started, cpu_started = time.perf_counter(), time.process_time()
        samples = await _load(client, load, errors)
        wall_s = time.perf_counter() - started
        cpu_pct = 100 * (time.process_time() - cpu_started) / wall_s
        monitor.cancel()
    if not samples:
        raise RuntimeError(f"no referral became a case: {errors.first}")
    figures = _figures(samples, wall_s, await _stages(stack, samples))
    figures["e2e_loop_lag_p50_ms"] = round(percentile(lag.samples_ms, 50), 1)
    figures["e2e_loop_lag_p99_ms"] = round(percentile(lag.samples_ms, 99), 1)
    figures["e2e_process_cpu_pct"] = round(cpu_pct, 1)
    figures["e2e_failed_posts"] = errors.posts
    figures["e2e_failed_polls"] = errors.polls
    return figures, wall_s


async def _load(client: httpx.AsyncClient, load: Load, errors: Errors) -> list[Sample]:
    remaining = iter(range(load.referrals))
    samples: list[Sample] = []

    async def worker() -> None:
        for _ in remaining:  # a shared iterator: each referral is taken by exactly one worker
            sample = await _one_referral(client, load, errors)
            if sample is not None:
                samples.append(sample)

    await asyncio.gather(*[worker() for _ in range(load.workers)])
    return samples


async def _one_referral(client: httpx.AsyncClient, load: Load, errors: Errors) -> Sample | None:
    wall, started = time.time(), time.perf_counter()
    created = await _call(client, "POST", "/api/v1/referrals", json=BODY)
    if created.status_code != 201:
        errors.posts += 1
        errors.note(f"POST → {created.status_code}: {created.text}")
        return None
    post_s = time.perf_counter() - started
    referral_id = created.json()["id"]
    polls = 0
    while time.perf_counter() - started < REFERRAL_TIMEOUT_S:
        polls += 1
        page = await _call(client, "GET", "/api/v1/cases", params={"referral_id": referral_id})
        if page.status_code == 200 and page.json()["items"]:
            return Sample(referral_id, wall, post_s, time.perf_counter() - started, polls)
        if page.status_code != 200:
            errors.polls += 1
            errors.note(f"GET → {page.status_code}: {page.text}")
        await asyncio.sleep(load.poll_s)
    raise TimeoutError(f"referral {referral_id} had no case after {REFERRAL_TIMEOUT_S}s")


async def _call(client: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> httpx.Response:
    try:
        return await client.request(method, url, **kwargs)
    except httpx.HTTPError as exc:  # reported like a 5xx, as a client would see it
        return httpx.Response(599, text=f"{type(exc).__name__}: {exc}")


async def _stages(stack: Stack, samples: list[Sample]) -> dict[str, list[float]]:
    """Per referral, in ms: POST → outbox row, outbox row → broker ack, outbox row → case
    opened, case opened → seen by a poll."""
    from heemang_casework.db.models import Case
    from heemang_intake.db.models import OutboxMessage

    outbox = await _rows(stack.database_urls["intake"], select(OutboxMessage))
    cases = await _rows(stack.database_urls["casework"], select(Case))
    staged, acked = {}, {}
    for row in outbox:
        if row.event_type.endswith("referral.accepted.v1") and row.published_at is not None:
            referral_id = json.loads(row.payload)["data"]["referral_id"]
            staged[referral_id], acked[referral_id] = _epoch(row.created_at), _epoch(row.published_at)
    opened = {str(c.referral_id): _epoch(c.opened_at) for c in cases}
    out: dict[str, list[float]] = {"post_to_outbox": [], "outbox_to_acked": [], "outbox_to_case": [],
                                   "case_to_seen": []}
    for s in samples:
        rid = s.referral_id
        if rid in staged and rid in opened:
            out["post_to_outbox"].append(1000 * (staged[rid] - s.started))
            out["outbox_to_acked"].append(1000 * (acked[rid] - staged[rid]))
            out["outbox_to_case"].append(1000 * (opened[rid] - staged[rid]))
            out["case_to_seen"].append(1000 * (s.started + s.total_s - opened[rid]))
    return out


async def _rows(url: str, stmt: Any) -> list[Any]:
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            return list((await session.execute(stmt)).scalars())
    finally:
        await engine.dispose()


def _epoch(value: datetime) -> float:
    # SQLite may hand back naive datetimes; every service writes UTC.
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (p99 of 1,000 samples is the 990th smallest)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


def _figures(samples: list[Sample], wall_s: float, stages: dict[str, list[float]]) -> dict[str, float]:
    totals = [1000 * s.total_s for s in samples]
    figures: dict[str, float] = {
        "e2e_referral_to_case_p50_ms": round(percentile(totals, 50), 1),
        "e2e_referral_to_case_p99_ms": round(percentile(totals, 99), 1),
        "e2e_referral_to_case_max_ms": round(max(totals), 1),
        "e2e_referrals_per_s": round(len(samples) / wall_s, 1),
        "e2e_post_p50_ms": round(percentile([1000 * s.post_s for s in samples], 50), 1),
        "e2e_polls_per_referral_mean": round(statistics.mean(s.polls for s in samples), 1),
    }
    for stage, values in stages.items():
        if values:
            figures[f"e2e_stage_{stage}_p50_ms"] = round(percentile(values, 50), 1)
            figures[f"e2e_stage_{stage}_p99_ms"] = round(percentile(values, 99), 1)
    return figures
