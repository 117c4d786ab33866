"""Donors, donations and campaigns: each donation is one ledger entry, campaign progress is
folded from donation records (domain/campaigns.py), and `campaign.goal_reached` is sent once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from heemang_common.errors import NotFound
from heemang_common.events.envelope import utcnow
from heemang_common.events.resources import (
    CampaignGoalReached,
    CampaignGoalReachedData,
    DonationReceived,
    DonationReceivedData,
)
from heemang_common.outbox import add_event
from heemang_resources.db.models import Campaign, Donation, Donor, JournalLine, OutboxMessage, ReceiptCounter
from heemang_resources.db.sql import insert_ignore, table_of
from heemang_resources.domain import campaigns as rules
from heemang_resources.domain.ledger import (
    Account,
    JournalEntry,
    campaign_fund,
    credit,
    debit,
    designated_fund,
    donations_received,
    general_fund,
    in_kind_stock,
)
from heemang_resources.service import ledger


@dataclass(frozen=True)
class DonationInput:
    form: str  # cash | goods
    designation: str  # general | household | programme
    amount: int
    received_on: date
    donor_id: uuid.UUID | None = None
    campaign_id: uuid.UUID | None = None
    household_id: uuid.UUID | None = None
    programme: str | None = None
    goods_description: str | None = None
    store: str = "foodbank"


def fund_for(d: DonationInput, campaign: Campaign | None) -> Account:
    """Where the gift is held (docs/resources.md, business events → entries)."""
    if d.form == "goods":
        return in_kind_stock(d.store)
    if d.designation == "household":
        return designated_fund(household=str(d.household_id))
    if d.designation == "programme":
        return designated_fund(programme=d.programme)
    return campaign_fund(str(campaign.id)) if campaign is not None else general_fund()


def campaign_kind(form: str, designation: str) -> rules.DonationKind:
    if form == "goods":
        return rules.DonationKind.goods
    return rules.DonationKind.cash_general if designation == "general" else rules.DonationKind.cash_designated


async def get_donor(session: AsyncSession, donor_id: uuid.UUID) -> Donor:
    donor = await session.get(Donor, donor_id)
    if donor is None:
        raise NotFound(f"no donor {donor_id}")
    return donor


async def get_campaign(session: AsyncSession, campaign_id: uuid.UUID, *, lock: bool = False) -> Campaign:
    stmt = select(Campaign).where(Campaign.id == campaign_id).execution_options(populate_existing=True)
    campaign = await session.scalar(stmt.with_for_update() if lock else stmt)
    if campaign is None:
        raise NotFound(f"no campaign {campaign_id}")
    return campaign


async def get_donation(session: AsyncSession, donation_id: uuid.UUID) -> Donation:
    donation = await session.get(Donation, donation_id)
    if donation is None:
        raise NotFound(f"no donation {donation_id}")
    return donation


async def record(session: AsyncSession, d: DonationInput, actor: str, token: uuid.UUID) -> Donation:
    """Book the gift, count it towards its campaign, and number its receipt."""
    if d.donor_id is not None:
        await get_donor(session, d.donor_id)
    campaign = await get_campaign(session, d.campaign_id, lock=True) if d.campaign_id else None
    progress = await campaign_progress(session, campaign) if campaign else None
    reached = None
    if progress is not None:  # checks the period before anything is written
        kind = campaign_kind(d.form, d.designation)
        _, reached = progress.add(rules.CampaignDonation(kind, d.amount, d.received_on))
    fund = fund_for(d, campaign)
    source = donations_received(d.form)
    now = utcnow()
    await ledger.open_accounts(session, [fund, source], now)
    entry_id = uuid.uuid4()
    await ledger.post(
        session,
        JournalEntry(
            str(entry_id),
            now,
            f"{d.form} donation ({d.designation})",
            f"donation:{token}",
            [debit(fund, d.amount), credit(source, d.amount)],
        ),
        kind="donation",
        created_by=actor,
        fresh_key=True,
    )
    donation = Donation(
        id=uuid.uuid4(),
        donor_id=d.donor_id,
        campaign_id=d.campaign_id,
        form=d.form,
        designation=d.designation,
        designated_household_id=d.household_id,
        designated_programme=d.programme,
        amount=d.amount,
        goods_description=d.goods_description,
        received_on=d.received_on,
        fund=fund.code,
        entry_id=entry_id,
        receipt_serial=await _next_serial(session, d.received_on.year) if d.donor_id else None,
        created_at=now,
    )
    session.add(donation)
    add_event(
        session,
        OutboxMessage,
        DonationReceived.create(
            subject=str(donation.id),
            data=DonationReceivedData(
                donation_id=donation.id,
                donor_id=d.donor_id,
                campaign_id=d.campaign_id,
                form=d.form,
                designation=d.designation,
                amount=d.amount,
                received_on=d.received_on,
            ),
        ),
    )
    if campaign is not None and reached is not None:
        _goal_reached(session, campaign, reached)
    await session.flush()
    return donation


def _goal_reached(session: AsyncSession, campaign: Campaign, reached: rules.GoalReached) -> None:
    campaign.goal_reached_on = reached.reached_on
    add_event(
        session,
        OutboxMessage,
        CampaignGoalReached.create(
            subject=str(campaign.id),
            data=CampaignGoalReachedData(
                campaign_id=campaign.id, goal=campaign.goal, raised=reached.raised, reached_at=utcnow()
            ),
        ),
    )


async def _next_serial(session: AsyncSession, year: int) -> str:
    """기부금 영수증 serial numbers: gap-free per year (the counter row is locked)."""
    counter = await session.scalar(
        select(ReceiptCounter)
        .where(ReceiptCounter.year == year)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if counter is None:
        await insert_ignore(session, table_of(ReceiptCounter), {"year": year, "last": 0})
        return await _next_serial(session, year)
    counter.last += 1
    return f"HM-{year}-{counter.last:06d}"


async def campaign_progress(session: AsyncSession, campaign: Campaign) -> rules.CampaignProgress:
    rows = (
        await session.execute(
            select(Donation.form, Donation.designation, func.sum(Donation.amount))
            .where(Donation.campaign_id == campaign.id)
            .group_by(Donation.form, Donation.designation)
        )
    ).all()
    sums = {k: 0 for k in rules.DonationKind}
    for form, designation, total in rows:
        sums[campaign_kind(form, designation)] += int(total)
    definition = rules.Campaign(
        str(campaign.id), campaign.name, campaign.starts_on, campaign.ends_on, campaign.goal
    )
    return rules.CampaignProgress(
        definition,
        cash_general=sums[rules.DonationKind.cash_general],
        cash_designated=sums[rules.DonationKind.cash_designated],
        goods=sums[rules.DonationKind.goods],
        goal_reached_on=campaign.goal_reached_on,
    )


@dataclass(frozen=True)
class UseLine:
    purpose: str
    amount: int
    movements: int


@dataclass(frozen=True)
class UseReport:
    donation: Donation
    fund_kind: str  # "household" | "programme" (never which household)
    programme: str | None
    fund_received: int
    spent: list[UseLine]
    remaining: int


async def use_report(session: AsyncSession, donation: Donation) -> UseReport:
    """How the designated fund that holds this gift was spent, by purpose: what left the
    fund and where to (a sink account's purpose), never who received it."""
    fund = await ledger.get_account(session, donation.fund)
    totals = (await ledger.totals_of(session, [fund.code]))[fund.code]
    rows = (
        await session.execute(
            select(JournalLine.entry_id, JournalLine.amount).where(
                JournalLine.account_code == fund.code, JournalLine.side == "credit"
            )
        )
    ).all()
    by_purpose: dict[str, list[int]] = {}
    for entry_id, amount in rows:
        sinks = await session.scalars(
            select(JournalLine.account_code).where(
                JournalLine.entry_id == entry_id, JournalLine.side == "debit"
            )
        )
        purpose = _purpose_of(next(iter(sinks), "other"))
        by_purpose.setdefault(purpose, []).append(int(amount))
    return UseReport(
        donation=donation,
        fund_kind=donation.designation,
        programme=donation.designated_programme,
        fund_received=totals.debits,
        spent=[UseLine(p, sum(a), len(a)) for p, a in sorted(by_purpose.items())],
        remaining=ledger.natural(fund, totals),
    )


def _purpose_of(code: str) -> str:
    """`ext:disbursed:care-sos` → `disbursed:care-sos`; a move to another internal account is
    `transfer`. Never a fund code, which may name a household."""
    parts = code.split(":")
    if parts[0] == "ext":
        return ":".join(parts[1:])
    return "transfer"
