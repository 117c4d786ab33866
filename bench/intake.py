"""Intake figures: bulk import rows/s and referral POST throughput.

1. **Bulk import.** A 행복e음-style CSV of N rows (5% bad) is POSTed to ``/imports`` with
   ``skip_rejected=true`` on a served intake (real HTTP, migrated database): parse, validate
   every row, RRN hash + AES-GCM per row, duplicate look-ups, bulk inserts of households,
   persons, referrals and two outbox rows per row, one transaction. Next to it, the raw
   library doing the storage part alone: SQLAlchemy Core ``insert`` executemany of the same
   number of household/person/referral rows with precomputed values (no validation, no
   crypto, no events). Run on the environment's database (PostgreSQL when available) and
   on SQLite.
2. **Referral POST.** W concurrent clients POST walk-in referrals to intake (token
   verification, scope checks, household + referral rows, ``referral.received`` outbox
   row, access-log outbox row) and, in the same run, to a bare FastAPI app whose endpoint
   writes the same household and referral rows with a plain session. Ratio = ours / bare.

Run on its own: ``uv run --frozen --all-packages python -m bench.intake [--rows N] [--posts N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
import uuid
from datetime import date, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.env import BenchEnv, _database_factory, service_parts
from heemang_common.broker import free_port
from heemang_common.db import create_engine, create_sessionmaker
from heemang_common.events.envelope import utcnow
from heemang_common.testing import TEST_MINT, DatabaseFactory, fast_settings, serve
from heemang_intake.db.models import Household, Person, Referral
from heemang_intake.domain import rrn

DONGS = ("sinsa", "yeoksam1", "daechi1", "gaepo1", "irwon1")
HEADER = "동,성명,주민등록번호,주소,연락처,발굴사유"


def screening_csv(rows: int, seed: int = 7) -> bytes:
    """N rows, every 20th bad (bad check digit), distinct synthetic RRNs otherwise."""
    rng = random.Random(seed)
    lines = [HEADER]
    for i in range(rows):
        dong = DONGS[i % len(DONGS)]
        if i % 20 == 7:
            lines.append(f"{dong},이름{i},900101-1234567,,,bad")
            continue
        born = date(1940, 1, 1) + timedelta(days=i % 21900)
        number = rrn.make(born, rng.choice("12"), f"{i // 21900:05d}")
        lines.append(f"{dong},이름{i},{number},서울 강남구 테헤란로 {i},010-0000-0000,체납")
    return ("\n".join(lines) + "\n").encode()


async def _import_once(databases: DatabaseFactory, env: BenchEnv, content: bytes) -> tuple[float, int]:
    parts = service_parts("intake")
    url = await databases.fresh_database("intake", parts.root)
    settings = fast_settings(parts.settings_cls, database_url=url, bootstrap=env.bootstrap, port=free_port())
    running = await serve("intake-bench", parts.create_app(settings), settings.port)
    headers = TEST_MINT.headers("district_admin", sub="bench", ttl_s=3600)
    try:
        async with httpx.AsyncClient(base_url=running.url, timeout=600, headers=headers) as client:
            started = time.perf_counter()
            response = await client.post(
                "/imports",
                files={"file": ("bench.csv", content, "text/csv")},
                data={"skip_rejected": "true"},
            )
            elapsed = time.perf_counter() - started
        if response.status_code != 201:
            raise RuntimeError(f"import failed: {response.status_code} {response.text[:300]}")
        return elapsed, int(response.json()["accepted"])
    finally:
        await running.stop()


async def _raw_inserts(databases: DatabaseFactory, rows: int) -> float:
    """The storage part alone: Core executemany of the same household/person/referral rows."""
    url = await databases.fresh_database("intake", service_parts("intake").root)
    engine = create_engine(url)
    now = utcnow()
    households, persons, referrals = [], [], []
    for i in range(rows):
        hid = uuid.uuid4()
        households.append(
            {
                "id": hid,
                "dong": "sinsa",
                "created_at": now,
                "address": f"주소 {i}",
                "phone": "010-0000-0000",
                "restricted": False,
            }
        )
        persons.append(
            {
                "id": uuid.uuid4(),
                "household_id": hid,
                "name": f"이름{i}",
                "birth_date": date(1950, 1, 1),
                "relationship": "head",
                "is_head": True,
                "position": 0,
                "rrn_ciphertext": "x" * 60,
                "rrn_key_id": "k",
                "rrn_hmac": f"{i:064x}",
                "created_at": now,
            }
        )
        referrals.append(
            {
                "id": uuid.uuid4(),
                "household_id": hid,
                "dong": "sinsa",
                "channel": "bulk_screening",
                "summary": "체납",
                "urgency": "medium",
                "importance": "medium",
                "priority": 5,
                "status": "received",
                "received_at": now,
                "restricted": False,
            }
        )
    try:
        started = time.perf_counter()
        async with create_sessionmaker(engine)() as session, session.begin():
            for model, values in ((Household, households), (Person, persons), (Referral, referrals)):
                table: Table = model.__table__
                await session.execute(insert(table), values)
        return time.perf_counter() - started
    finally:
        await engine.dispose()


def _bare_app(sessionmaker: async_sessionmaker[AsyncSession]) -> FastAPI:
    """The same rows a walk-in POST /referrals writes, with nothing else around them."""
    app = FastAPI()

    @app.post("/referrals", status_code=201)
    async def create(body: dict[str, Any]) -> dict[str, str]:
        now = utcnow()
        household = Household(id=uuid.uuid4(), dong=body["dong"], created_at=now)
        referral = Referral(
            id=uuid.uuid4(),
            household_id=household.id,
            dong=body["dong"],
            channel=body["channel"],
            summary=body.get("summary", ""),
            urgency="medium",
            importance="medium",
            priority=5,
            status="received",
            received_at=now,
            restricted=False,
        )
        async with sessionmaker() as session, session.begin():
            session.add(household)
            await session.flush()
            session.add(referral)
        return {"id": str(referral.id)}

    return app


async def _post_load(url: str, posts: int, workers: int, headers: dict[str, str]) -> float:
    body = {"dong": "yeoksam1", "channel": "walk_in", "summary": "bench"}
    queue = iter(range(posts))

    async def worker(client: httpx.AsyncClient) -> None:
        for _ in queue:
            response = await client.post("/referrals", json=body)
            if response.status_code != 201:
                raise RuntimeError(f"POST failed: {response.status_code} {response.text[:200]}")

    async with httpx.AsyncClient(base_url=url, timeout=60, headers=headers) as client:
        await client.post("/referrals", json=body)  # warm-up, off the clock
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(workers)))
        return time.perf_counter() - started


async def _posts(env: BenchEnv, posts: int, workers: int) -> tuple[float, float]:
    parts = service_parts("intake")
    ours_url, bare_url = await env.fresh_database("intake"), await env.fresh_database("intake")
    settings = fast_settings(
        parts.settings_cls, database_url=ours_url, bootstrap=env.bootstrap, port=free_port()
    )
    ours = await serve("intake-bench", parts.create_app(settings), settings.port)
    engine = create_engine(bare_url)
    bare = await serve("bare-bench", _bare_app(create_sessionmaker(engine)), free_port())
    try:
        ours_s = await _post_load(ours.url, posts, workers, TEST_MINT.headers("district_admin", ttl_s=3600))
        bare_s = await _post_load(bare.url, posts, workers, {})
    finally:
        await ours.stop()
        await bare.stop()
        await engine.dispose()
    return posts / ours_s, posts / bare_s


async def run(
    env: BenchEnv, *, rows: int = 50_000, posts: int = 1_000, workers: int = 10
) -> tuple[dict[str, float], dict[str, Any]]:
    content = screening_csv(rows)
    figures: dict[str, float] = {}
    meta: dict[str, Any] = {"rows": rows, "bad_rows": rows // 20, "posts": posts, "workers": workers}
    sqlite = await _database_factory(force_sqlite=True)
    targets = [("sqlite", sqlite)]
    if env.databases.backend != "sqlite":
        targets.insert(0, (env.databases.backend, env.databases))
    for name, databases in targets:
        try:
            elapsed, accepted = await _import_once(databases, env, content)
            raw_s = await _raw_inserts(databases, accepted)
        finally:
            if databases is sqlite:
                await sqlite.drop_all()
        figures[f"import_{name}_rows_per_s"] = round(rows / elapsed)
        figures[f"import_{name}_seconds"] = round(elapsed, 2)
        figures[f"import_{name}_vs_raw_insert_ratio"] = round((accepted / elapsed) / (accepted / raw_s), 3)
        meta[f"import_{name}_accepted"] = accepted
        meta[f"raw_insert_{name}_seconds"] = round(raw_s, 2)
    ours, bare = await _posts(env, posts, workers)
    figures["referral_post_per_s"] = round(ours)
    figures["bare_fastapi_post_per_s"] = round(bare)
    figures["referral_post_ratio"] = round(ours / bare, 3)
    meta["post_database"] = env.databases.backend
    return figures, meta


async def _main(args: argparse.Namespace) -> None:
    env = await BenchEnv.open(force_sqlite=args.sqlite)
    try:
        figures, meta = await run(env, rows=args.rows, posts=args.posts, workers=args.workers)
    finally:
        await env.close()
    print(json.dumps({"figures": figures, "meta": meta}, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--posts", type=int, default=1_000)
    parser.add_argument("--workers", type=int, default=10)
    parser.add_argument("--sqlite", action="store_true", help="use SQLite for every figure")
    asyncio.run(_main(parser.parse_args()))
