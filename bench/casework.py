"""Casework at district scale: the half-year report and a 동's case list (PostgreSQL).

Loads ``cases`` cases (of ``cases * 3 // 4`` households), ``services`` service deliveries and
``cases // 10`` conferences into a migrated casework database with ``generate_series`` (untimed),
then measures, in the same run:

- **half-year report**: casework's report (``reporting.report``: its SQL aggregates and the
  assembly) next to the raw driver (asyncpg) running one hand-written aggregate per figure.
  Target at 200,000 cases / 2,000,000 services: ≤ 2 s.
- **case list of a 동 with filters** (stage + opened since, 50 a page), over real HTTP with a
  token, scope check and one access-log row per case listed, next to the raw driver's bare
  SELECT. Target: p99 ≤ 50 ms.

Figures are ratios (ours / raw, lower is better for times). Run on its own:
``uv run --frozen --all-packages python -m bench.casework [--cases 200000 --services 2000000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import datetime
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from bench.env import BenchEnv, service_parts
from heemang_casework.domain.reports import half_year
from heemang_casework.reporting import report
from heemang_common.db import create_engine, create_sessionmaker
from heemang_common.testing import TEST_MINT, fast_settings, serve

DONGS = 22
REPORT_RUNS = 5
LIST_REQUESTS = 300

LOAD = [
    """INSERT INTO households (household_id, dong, household_type, protection_status, member_count,
                               updated_at)
       SELECT md5('h' || g)::uuid, 'dong' || (g % {dongs}),
              (ARRAY['elderly_alone', 'grandparent_grandchild', 'couple', 'single_parent',
                     'single_working_age'])[1 + g % 5],
              (ARRAY['basic_livelihood','near_poor','low_income'])[1 + g % 3], 1 + g % 5, now()
       FROM generate_series(1, {households}) g""",
    # Cases opened 2013–2016; about half closed a few months later (미선정 ones at selection).
    """INSERT INTO cases (id, household_id, referral_id, dong, stage, opened_at, selection, closure_reason,
                          closed_at, restricted, case_manager_id, members_at_open, stage_entered_at)
       SELECT md5('c' || g)::uuid, md5('h' || (1 + g % {households}))::uuid, md5('r' || g)::uuid,
              'dong' || ((1 + g % {households}) % {dongs}),
              CASE WHEN g % 2 = 0
                    THEN 'closed' ELSE (ARRAY['intake','assessment','planning','delivery'])[1 + g % 4] END,
              timestamptz '2013-01-01' + (g % 1460) * interval '1 day' + (g % 24) * interval '1 hour',
              CASE WHEN g % 2 = 0 OR g % 4 = 3
                    THEN (ARRAY['case_management','service_linkage','not_selected'])[1 + g % 3] END,
              CASE WHEN g % 2 = 0 AND g % 3 <> 2 THEN 'long_term_goal_met' END,
              CASE WHEN g % 2 = 0
                    THEN timestamptz '2013-01-01' + (g % 1460 + 30 + g % 200) * interval '1 day' END,
              g % 50 = 0, 'cm-' || (g % 40), 1 + g % 5, now()
       FROM generate_series(1, {cases}) g""",
    """INSERT INTO service_deliveries (id, case_id, household_id, kind, domain, provider, amount,
                                      delivered_on, source, recorded_at)
       SELECT md5('s' || g)::uuid, md5('c' || (1 + g % {cases}))::uuid,
              md5('h' || (1 + (1 + g % {cases}) % {households}))::uuid,
              (ARRAY['cash','in_kind','intangible'])[1 + g % 3],
              (ARRAY['economic', 'housing', 'health', 'education', 'relationships', 'employment',
                     'legal', 'other'])[1 + g % 8],
              'agency-' || (g % 500), CASE WHEN g % 3 = 2 THEN 0 ELSE 1000 * (g % 900) END,
              date '2013-01-01' + (g % 1460), 'manual', now()
       FROM generate_series(1, {services}) g""",
    """INSERT INTO conferences (id, kind, held_on, title, participants, recorded_at)
       SELECT md5('f' || g)::uuid, CASE WHEN g % 4 = 0 THEN 'integrated' ELSE 'internal' END,
              date '2013-01-01' + (g % 1460), 'conference', '[]', now()
       FROM generate_series(1, {conferences}) g""",
    "VACUUM ANALYZE",  # what autovacuum does for a settled table: index-only scans become possible
]

RAW_REPORT: list[tuple[str, str]] = [
    # (SQL, its parameters: s/e = the period's instants, S/E = its days)
    (
        """SELECT c.dong, h.household_type, h.protection_status, count(*), sum(h.member_count) FROM (
             SELECT household_id, dong,
                    row_number() OVER (PARTITION BY household_id ORDER BY opened_at DESC, id DESC) rn
             FROM cases WHERE opened_at < $2 AND (closed_at IS NULL OR closed_at >= $1)) c
           LEFT JOIN households h USING (household_id) WHERE rn = 1 GROUP BY 1, 2, 3""",
        "se",
    ),
    (
        "SELECT count(DISTINCT household_id) FROM cases WHERE opened_at < $1 AND"
        " (closed_at IS NULL OR closed_at >= $1)",
        "s",
    ),
    (
        "SELECT selection, count(DISTINCT household_id) FROM cases WHERE opened_at >= $1"
        " AND opened_at < $2 GROUP BY 1",
        "se",
    ),
    (
        """SELECT count(DISTINCT household_id) FROM cases
           WHERE closure_reason IS NOT NULL AND closed_at >= $1 AND closed_at < $2""",
        "se",
    ),
    (
        """SELECT count(DISTINCT household_id) FROM cases WHERE selection = 'case_management'
              AND opened_at < $1
           AND (closed_at IS NULL OR closed_at >= $1)""",
        "e",
    ),
    ("SELECT kind, count(*) FROM conferences WHERE held_on >= $1 AND held_on < $2 GROUP BY 1", "SE"),
    (
        """SELECT kind, domain, count(*), sum(amount) FROM service_deliveries
           WHERE delivered_on >= $1 AND delivered_on < $2 GROUP BY 1, 2""",
        "SE",
    ),
    (
        """SELECT kind, count(DISTINCT household_id) FROM service_deliveries
           WHERE delivered_on >= $1 AND delivered_on < $2 GROUP BY 1""",
        "SE",
    ),
    (
        """SELECT count(DISTINCT provider), count(DISTINCT household_id) FROM service_deliveries
           WHERE delivered_on >= $1 AND delivered_on < $2""",
        "SE",
    ),
]

RAW_LIST = """SELECT * FROM cases WHERE dong = $1 AND stage = $2 AND opened_at >= $3
              ORDER BY opened_at, id LIMIT 50"""


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(env: BenchEnv, *, cases: int = 20_000, services: int = 200_000) -> tuple[dict[str, float], Any]:
    if env.databases.backend != "postgresql":
        raise RuntimeError("the casework benchmark measures PostgreSQL (the scaled deployment)")
    url = await env.fresh_database("casework")
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    sizes = {"households": cases * 3 // 4, "cases": cases, "services": services, "conferences": cases // 10}
    raw = await asyncpg.connect(dsn)
    try:
        started = time.perf_counter()
        for statement in LOAD:
            await raw.execute(statement.format(dongs=DONGS, **sizes))
        load_s = time.perf_counter() - started
        ours_report, raw_report = await _report(url, raw)
        ours_list, raw_list = await _case_list(env, url, raw)
    finally:
        await raw.close()
    figures = {
        "casework_half_year_report_s": round(statistics.median(ours_report), 3),
        "raw_asyncpg_report_queries_s": round(statistics.median(raw_report), 3),
        "casework_report_ratio": round(statistics.median(ours_report) / statistics.median(raw_report), 3),
        "casework_case_list_p99_ms": round(_p(ours_list, 0.99) * 1000, 2),
        "casework_case_list_p50_ms": round(_p(ours_list, 0.5) * 1000, 2),
        "raw_asyncpg_case_list_p99_ms": round(_p(raw_list, 0.99) * 1000, 2),
        "casework_case_list_p99_ratio": round(_p(ours_list, 0.99) / _p(raw_list, 0.99), 3),
    }
    return figures, {
        **sizes,
        "load_s": round(load_s, 1),
        "report_runs": REPORT_RUNS,
        "list_requests": LIST_REQUESTS,
    }


async def _report(url: str, raw: asyncpg.Connection) -> tuple[list[float], list[float]]:
    period = half_year(2015, 1)
    start, end = period.instants()
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    ours, bare = [], []
    try:
        for _ in range(REPORT_RUNS):
            async with sessionmaker() as session, session.begin():
                watch = time.perf_counter()
                await report(session, period, "half_year")
                ours.append(time.perf_counter() - watch)
            watch = time.perf_counter()
            values = {"s": start, "e": end, "S": period.start, "E": period.end}
            for sql, names in RAW_REPORT:
                await raw.fetch(sql, *(values[n] for n in names))
            bare.append(time.perf_counter() - watch)
    finally:
        await engine.dispose()
    return ours, bare


async def _case_list(env: BenchEnv, url: str, raw: asyncpg.Connection) -> tuple[list[float], list[float]]:
    parts = service_parts("casework")
    settings = fast_settings(
        parts.settings_cls, database_url=url, bootstrap=env.bootstrap, followup_scheduler=False
    )
    app = await serve("casework", parts.create_app(settings), settings.port)
    since = "2015-06-01T00:00:00+09:00"
    ours, bare = [], []
    try:
        headers = TEST_MINT.headers(
            "dong_officer", sub="bench", dongs=[f"dong{i}" for i in range(DONGS)], ttl_s=3600
        )
        async with httpx.AsyncClient(base_url=app.url, headers=headers, timeout=30) as http:
            for i in range(LIST_REQUESTS + 20):
                params = {"dong": f"dong{i % DONGS}", "stage": "closed", "opened_from": since, "limit": 50}
                watch = time.perf_counter()
                response = await http.get("/cases", params=params)
                elapsed = time.perf_counter() - watch
                response.raise_for_status()
                if i >= 20:  # the first requests warm connections and caches
                    ours.append(elapsed)
        for i in range(LIST_REQUESTS):
            watch = time.perf_counter()
            await raw.fetch(RAW_LIST, f"dong{i % DONGS}", "closed", datetime.fromisoformat(since))
            bare.append(time.perf_counter() - watch)
    finally:
        await app.stop()
    return ours, bare


async def _main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--services", type=int, default=200_000)
    args = parser.parse_args()
    env = await BenchEnv.open(force_sqlite=False)
    try:
        figures, meta = await run(env, cases=args.cases, services=args.services)
    finally:
        await env.close()
    for name, value in {**figures, **meta}.items():
        print(f"{name:40} {value}")


if __name__ == "__main__":
    asyncio.run(_main())
