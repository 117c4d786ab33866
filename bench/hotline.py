"""Hotline figures: a notice campaign through the HTTP SMS adapter next to a bare httpx loop,
and planning one week of check-ins.

1. Campaign: N consenting subscribers (inserted untimed); the clock runs from
   ``POST /campaigns/{id}/send``'s use case (one INSERT … SELECT of the send rows) to the
   campaign's completion, through ``CampaignSender`` — claims, do-not-contact and opt-out
   checks, the cost cap, decryption of each number, the rate-limited sender (rate set
   above what is reachable, so it only adds its overhead), ``HttpSmsProvider`` and the
   bulk write of the results. The raw figure posts the same N JSON requests (same payload
   shape, headers and concurrency, same httpx limits) to the same gateway stand-in with a
   bare ``httpx.AsyncClient`` loop. The gateway stand-in is a minimal ASGI app in a child
   process (the edge of the world; it costs both sides the same).
2. Planning: M enrolments (inserted untimed, set-based); the figure is the seconds
   ``CheckinScheduler.plan`` takes to plan the next seven days (one INSERT … SELECT on
   PostgreSQL).

``python -m bench.hotline [--recipients N] [--enrolments M] [--concurrency C]``; the issue's
full sizes are ``--recipients 100000 --enrolments 1000000``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import func, insert, select, text

from bench.env import BenchEnv, Stopwatch
from heemang_common.broker import free_port
from heemang_common.db import create_engine, create_sessionmaker
from heemang_common.testing import fast_settings
from heemang_hotline import campaigns
from heemang_hotline.campaign_sender import CampaignSender
from heemang_hotline.crypto import ContactProtector
from heemang_hotline.db.models import CheckinCall, CheckinProgramme, SmsCampaign, Subscriber
from heemang_hotline.domain.campaigns import Audience
from heemang_hotline.domain.checkins import KST
from heemang_hotline.scheduler import CheckinScheduler
from heemang_hotline.settings import Settings
from heemang_hotline.sms.base import RateLimitedSender
from heemang_hotline.sms.http import HttpSmsProvider

API_KEY = "bench-key"
SENDER = "0215880000"
BODY = "[강남구] 행복주택 입주자 모집 공고가 게시되었습니다. 자세한 내용은 구청 누리집을 확인하세요."
NOON = datetime(2026, 11, 24, 12, 0, tzinfo=KST)  # outside quiet hours whenever the bench runs
STAGE_CHUNK = 5_000


async def run(
    env: BenchEnv, *, recipients: int = 10_000, enrolments: int = 100_000, concurrency: int = 8
) -> tuple[dict[str, float], dict[str, Any]]:
    gateway_port = free_port()
    gateway = _start_gateway(gateway_port)
    try:
        url = f"http://127.0.0.1:{gateway_port}/send"
        # The raw loop runs half before and half after ours, so load drifting on a shared
        # machine during the run weighs on both figures alike.
        raw_s = await _raw_loop(url, recipients // 2, concurrency)
        ours_s = await _campaign(env, url, recipients, concurrency)
        raw_s += await _raw_loop(url, recipients - recipients // 2, concurrency)
    finally:
        gateway.terminate()
        gateway.wait(10)
    plan_s, planned = await _planning(env, enrolments)
    ours, raw = recipients / ours_s, recipients / raw_s
    figures = {
        "hotline_campaign_msgs_per_s": round(ours),
        "raw_httpx_loop_msgs_per_s": round(raw),
        "hotline_campaign_ratio": round(ours / raw, 3),
        "hotline_plan_week_s": round(plan_s, 2),
    }
    meta = {
        "recipients": recipients,
        "concurrency": concurrency,
        "campaign_s": ours_s,
        "raw_s": raw_s,
        "enrolments": enrolments,
        "slots_planned": planned,
    }
    return figures, meta


# ---------------------------------------------------------------------------- campaign


def _settings(env: BenchEnv, url: str, concurrency: int) -> Settings:
    return fast_settings(
        Settings,
        database_url=url,
        bootstrap=env.bootstrap,
        sms_rate_per_s=1e9,
        campaign_batch_size=2_000,
        campaign_concurrency=concurrency,
        sms_daily_cap_krw=10**12,
    )


async def _campaign(env: BenchEnv, gateway_url: str, recipients: int, concurrency: int) -> float:
    url = await env.fresh_database("hotline")
    settings = _settings(env, url, concurrency)
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    protector = ContactProtector.from_settings(settings)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    try:
        await _stage_subscribers(sessionmaker, protector, recipients)
        async with httpx.AsyncClient(timeout=10, limits=limits) as client:
            provider = HttpSmsProvider(client, url=gateway_url, api_key=API_KEY, sender=SENDER)
            sender = CampaignSender(sessionmaker, RateLimitedSender(provider, 1e9), protector, settings)
            async with sessionmaker() as session, session.begin():
                campaign = await campaigns.create_campaign(
                    session,
                    topic="rental_housing",
                    title="bench",
                    body=BODY,
                    audience=Audience(),
                    urgent=False,
                    by="bench",
                )
            clock = Stopwatch()
            async with sessionmaker() as session, session.begin():
                stored = await session.get(SmsCampaign, campaign.id)
                assert stored is not None
                await campaigns.start(
                    session, stored, dialect="sqlite" if settings.is_sqlite else "postgresql"
                )
            while not (await sender.tick(NOON)).completed:
                pass
            elapsed = clock.elapsed()
        async with sessionmaker() as session:
            counts = await campaigns.report(session, campaign.id)
        if counts["sent"] != recipients:
            raise RuntimeError(f"campaign sent {counts}, expected {recipients}")
        return elapsed
    finally:
        await engine.dispose()


async def _stage_subscribers(sessionmaker: Any, protector: ContactProtector, n: int) -> None:
    now = datetime.now(UTC)
    for start in range(0, n, STAGE_CHUNK):
        rows = []
        for i in range(start, min(n, start + STAGE_CHUNK)):
            sid, phone = uuid.uuid4(), f"010{i:08d}"
            rows.append(
                {
                    "id": sid,
                    "topic": "rental_housing",
                    "phone_enc": protector.encrypt(phone, sid.bytes),
                    "phone_hash": protector.lookup_hash(phone),
                    "channel": "sms",
                    "consent_at": now,
                    "created_at": now,
                }
            )
        async with sessionmaker() as session, session.begin():
            await session.execute(insert(Subscriber), rows)


async def _raw_loop(url: str, n: int, concurrency: int) -> float:
    """The same requests HttpSmsProvider makes, from a bare httpx loop."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {API_KEY}"}
    payloads = [
        {"type": "SMS", "from": SENDER, "to": f"010{i:08d}", "text": BODY, "ref": str(uuid.uuid4())}
        for i in range(n)
    ]
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=10, limits=limits) as client:

        async def post(payload: dict[str, str]) -> None:
            async with gate:
                response = await client.post(url, json=payload, headers=headers)
                response.raise_for_status()

        await post(payloads[0])  # connection set-up off the clock, as for ours (staging)
        clock = Stopwatch()
        await asyncio.gather(*[post(p) for p in payloads])
        return clock.elapsed()


def _start_gateway(port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([sys.executable, "-m", "bench.hotline", "--serve-gateway", str(port)])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return process
        time.sleep(0.05)
    process.terminate()
    raise RuntimeError("the SMS gateway stand-in did not start")


async def _gateway_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """An SMS gateway stand-in: accepts every message (checks the key), answers an id."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    authorised = (b"authorization", f"Bearer {API_KEY}".encode()) in scope["headers"]
    status, body = (200, json.dumps({"messageId": uuid.uuid4().hex})) if authorised else (401, "{}")
    await send(
        {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]}
    )
    await send({"type": "http.response.body", "body": body.encode()})


# ---------------------------------------------------------------------------- planning


async def _planning(env: BenchEnv, enrolments: int) -> tuple[float, int]:
    url = await env.fresh_database("hotline")
    settings = _settings(env, url, 1)
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    try:
        programme = uuid.uuid4()
        async with sessionmaker() as session, session.begin():
            session.add(
                CheckinProgramme(
                    id=programme, code="hello_ansim", name="헬로안심", kind="automated", active=True
                )
            )
        await _stage_enrolments(sessionmaker, programme, enrolments, settings)
        protector = ContactProtector.from_settings(settings)
        scheduler = CheckinScheduler(sessionmaker, RateLimitedSender(_NoProvider(), 1.0), protector, settings)
        monday = datetime(2026, 11, 23, 0, 0, tzinfo=KST)
        clock = Stopwatch()
        await scheduler.plan(monday, days=7)
        elapsed = clock.elapsed()
        async with sessionmaker() as session:
            planned = int((await session.execute(select(func.count()).select_from(CheckinCall))).scalar_one())
        if planned != enrolments:
            raise RuntimeError(f"planned {planned} slots for {enrolments} weekly enrolments")
        return elapsed, planned
    finally:
        await engine.dispose()


async def _stage_enrolments(sessionmaker: Any, programme: uuid.UUID, n: int, settings: Settings) -> None:
    """M enrolments with a (shared, sealed) number, spread over the week (untimed)."""
    token = "v1:bench:" + "A" * 60  # never decrypted by planning
    if settings.is_sqlite:
        now = datetime.now(UTC)
        from datetime import time as clock_time

        for start in range(0, n, STAGE_CHUNK):
            rows = [
                {
                    "id": uuid.uuid4(),
                    "programme_id": programme,
                    "household_id": uuid.uuid4(),
                    "dong": "d1",
                    "weekday": i % 7,
                    "window_start": clock_time(10),
                    "window_end": clock_time(12),
                    "active": True,
                    "source": "manual",
                    "enrolled_at": now,
                    "phone_enc": token,
                    "phone_hash": f"{i:064d}",
                }
                for i in range(start, min(n, start + STAGE_CHUNK))
            ]
            async with sessionmaker() as session, session.begin():
                from heemang_hotline.db.models import Enrolment

                await session.execute(insert(Enrolment), rows)
        return
    async with sessionmaker() as session, session.begin():
        await session.execute(
            text(
                """
                INSERT INTO checkin_enrolments (id, programme_id, household_id, dong, weekday, window_start,
                    window_end, active, source, enrolled_at, phone_enc, phone_hash)
                SELECT gen_random_uuid(), :programme, gen_random_uuid(), 'd1', g % 7, '10:00', '12:00', true,
                       'manual', now(), :token, md5(g::text) || md5(g::text)
                FROM generate_series(1, :n) AS g
                """
            ),
            {"programme": programme, "token": token, "n": n},
        )
    async with sessionmaker() as session, session.begin():
        await session.execute(text("ANALYZE checkin_enrolments"))


class _NoProvider:
    name = "none"

    async def send(self, message: Any) -> Any:
        raise RuntimeError("planning sends nothing")


# ---------------------------------------------------------------------------- entry


def _parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.hotline", description=__doc__)
    parser.add_argument("--recipients", type=int, default=10_000, help="campaign size (issue: 100000)")
    parser.add_argument("--enrolments", type=int, default=100_000, help="enrolments to plan (issue: 1000000)")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight, both sides")
    parser.add_argument("--sqlite", action="store_true", help="force SQLite (the make-run default)")
    parser.add_argument("--serve-gateway", type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


async def _main(args: argparse.Namespace) -> int:
    env = await BenchEnv.open(force_sqlite=args.sqlite)
    try:
        figures, meta = await run(
            env, recipients=args.recipients, enrolments=args.enrolments, concurrency=args.concurrency
        )
    finally:
        await env.close()
    print(json.dumps({"figures": figures, "meta": meta}, indent=2))
    return 0


if __name__ == "__main__":
    options = _parse()
    if options.serve_gateway:
        import uvicorn

        uvicorn.run(
            _gateway_app, host="127.0.0.1", port=options.serve_gateway, log_level="warning", lifespan="off"
        )
        sys.exit(0)
    sys.exit(asyncio.run(_main(options)))
