"""The half-year report and the yearly summary, computed from the data (capability 9)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from heemang_casework.db import reports as sql
from heemang_casework.domain import reports as rules
from heemang_casework.domain.reports import Count, Period, ServiceFigures


def _count(value: tuple[int, int]) -> dict[str, int]:
    return asdict(Count(*value))


def _figures(figures: ServiceFigures) -> dict[str, int]:
    return {**asdict(figures), "amount_thousand": figures.amount_thousand}


async def report(session: AsyncSession, period: Period, kind: str) -> dict[str, Any]:
    start, end = period.instants()
    await sql.analytical(session)
    served = rules.served(await sql.served(session, start, end))
    selection = rules.by_key(await sql.selection_split(session, start, end), rules.SELECTIONS, "pending")
    conferences = await sql.conferences(session, period.start, period.end)
    return {
        "kind": kind,
        "period": {"start": period.start, "end": period.last_day, "label": period.label},
        "served": {
            "total": asdict(served.total),
            "by_household_type": {k: asdict(v) for k, v in served.by_household_type.items()},
            "by_protection_status": {k: asdict(v) for k, v in served.by_protection_status.items()},
            "by_dong": {k: asdict(v) for k, v in served.by_dong.items()},
        },
        "carried_over": _count(await sql.count(session, sql.carried_over(start))),
        "new": _count(await sql.count(session, sql.new_in(start, end), at_open=True)),
        "selection": {k: asdict(v) for k, v in selection.items()},
        "closed": _count(await sql.count(session, sql.closed_in(start, end))),
        "currently_managed": _count(await sql.count(session, sql.managed_at(end))),
        "conferences": {
            **{k: conferences.get(k, 0) for k in rules.CONFERENCE_KINDS},
            "total": sum(conferences.values()),
        },
        "services": await _services(session, period),
    }


async def _services(session: AsyncSession, period: Period) -> dict[str, Any]:
    rows = await sql.services_by(session, period.start, period.end)
    by_kind = {k: ServiceFigures() for k in rules.SERVICE_KINDS}
    by_domain = {k: ServiceFigures() for k in rules.DOMAINS}
    total = ServiceFigures()
    for kind, domain, items, amount in rows:
        for figures in (
            by_kind.setdefault(kind, ServiceFigures()),
            by_domain.setdefault(domain, ServiceFigures()),
            total,
        ):
            figures.items += items
            figures.amount += amount
    for kind, households in (await sql.households_by_kind(session, period.start, period.end)).items():
        by_kind.setdefault(kind, ServiceFigures()).households = households
    households, people, providers = await sql.services_reach(session, period.start, period.end)
    total.households = households
    return {
        **_figures(total),
        "people": people,
        "providers": providers,
        "by_kind": {k: _figures(v) for k, v in by_kind.items()},
        "by_domain": {
            k: {key: value for key, value in _figures(v).items() if key != "households"}
            for k, v in by_domain.items()
        },
    }
