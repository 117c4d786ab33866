"""Donors (후원자), donations (성금·성품), campaigns (모금 캠페인), receipts and use reports."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import func, select, tuple_

from heemang_common.access_log import export_reason, record_access
from heemang_common.auth import PrincipalDep, Role
from heemang_common.deps import SessionDep
from heemang_common.errors import Invalid
from heemang_common.events.envelope import utcnow
from heemang_common.masking import mask_name
from heemang_resources.api.common import (
    MANAGERS,
    READERS,
    BadCursor,
    IdempotencyKeyHeader,
    decode_cursor,
    encode_cursor,
    idempotent,
    settings_of,
)
from heemang_resources.api.schemas import (
    CampaignCreate,
    CampaignPage,
    CampaignRead,
    DonationCreate,
    DonationPage,
    DonationRead,
    DonorCreate,
    DonorPage,
    DonorRead,
    HallOfFameEntry,
    UseLineRead,
    UseReportRead,
)
from heemang_resources.db.models import Campaign, Donation, Donor, OutboxMessage
from heemang_resources.domain import campaigns as rules
from heemang_resources.service import donations, receipts

router = APIRouter(tags=["donations"])
DONOR_READERS = (*MANAGERS, Role.SUPERVISOR)


def donor_read(donor: Donor) -> DonorRead:
    name = mask_name(donor.name) if donor.kind == "individual" else donor.name
    return DonorRead(
        id=donor.id,
        kind=donor.kind,
        name=name,
        sponsorship=donor.sponsorship,
        hall_of_fame=donor.hall_of_fame,
        created_at=donor.created_at,
    )


def _after(cursor: str) -> tuple[datetime, uuid.UUID]:
    at, last = decode_cursor(cursor, 2)
    try:
        return datetime.fromisoformat(at), uuid.UUID(last)
    except ValueError:
        raise BadCursor("the cursor is not one this API issued") from None


@router.post("/donors", response_model=DonorRead, status_code=201, summary="후원자 등록 (register a donor)")
async def create_donor(body: DonorCreate, session: SessionDep, principal: PrincipalDep) -> DonorRead:
    principal.require_role(*MANAGERS)
    donor = Donor(id=uuid.uuid4(), created_at=utcnow(), **body.model_dump())
    session.add(donor)
    await session.flush()
    return donor_read(donor)


@router.get("/donors", response_model=DonorPage, summary="후원자 목록 (donors)")
async def list_donors(
    session: SessionDep,
    principal: PrincipalDep,
    sponsorship: str | None = Query(None, pattern="^(regular|one_off)$"),
    cursor: str | None = Query(None, max_length=400),
    limit: int = Query(50, ge=1, le=200),
) -> DonorPage:
    principal.require_role(*DONOR_READERS)
    stmt = select(Donor).order_by(Donor.created_at.desc(), Donor.id.desc()).limit(limit + 1)
    if sponsorship:
        stmt = stmt.where(Donor.sponsorship == sponsorship)
    if cursor:
        stmt = stmt.where(tuple_(Donor.created_at, Donor.id) < _after(cursor))
    rows = list(await session.scalars(stmt))
    more, rows = len(rows) > limit, rows[:limit]
    return DonorPage(
        items=[donor_read(d) for d in rows],
        next_cursor=encode_cursor(rows[-1].created_at.isoformat(), rows[-1].id) if more else None,
    )


@router.get(
    "/donors/hall-of-fame", response_model=list[HallOfFameEntry], summary="명예의 전당 (opted-in donors)"
)
async def hall_of_fame(session: SessionDep, principal: PrincipalDep) -> list[HallOfFameEntry]:
    principal.require_role(*READERS)
    rows = (
        await session.execute(
            select(Donor, func.count(Donation.id), func.sum(Donation.amount))
            .join(Donation, Donation.donor_id == Donor.id)
            .where(Donor.hall_of_fame)
            .group_by(Donor.id)
            .order_by(func.sum(Donation.amount).desc())
            .limit(100)
        )
    ).all()
    return [
        HallOfFameEntry(name=donor_read(d).name, kind=d.kind, donations=int(n), total=int(total))
        for d, n, total in rows
    ]


@router.get(
    "/donors/{donor_id}",
    response_model=DonorRead,
    summary="후원자 조회",
    responses={404: {"description": "No such donor"}},
)
async def read_donor(donor_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> DonorRead:
    principal.require_role(*DONOR_READERS)
    return donor_read(await donations.get_donor(session, donor_id))


async def campaign_read(session: SessionDep, campaign: Campaign) -> CampaignRead:
    p = await donations.campaign_progress(session, campaign)
    return CampaignRead(
        id=campaign.id,
        name=campaign.name,
        starts_on=campaign.starts_on,
        ends_on=campaign.ends_on,
        goal=campaign.goal,
        raised=p.raised,
        cash=p.cash,
        cash_general=p.cash_general,
        cash_designated=p.cash_designated,
        goods=p.goods,
        progress_percent=str(p.progress_percent),
        goal_reached_on=campaign.goal_reached_on,
    )


@router.post(
    "/campaigns", response_model=CampaignRead, status_code=201, summary="캠페인 등록 (open a campaign)"
)
async def create_campaign(body: CampaignCreate, session: SessionDep, principal: PrincipalDep) -> CampaignRead:
    principal.require_role(*MANAGERS)
    rules.Campaign("new", body.name, body.starts_on, body.ends_on, body.goal)  # validates the period
    campaign = Campaign(id=uuid.uuid4(), created_at=utcnow(), goal_reached_on=None, **body.model_dump())
    session.add(campaign)
    await session.flush()
    return await campaign_read(session, campaign)


@router.get("/campaigns", response_model=CampaignPage, summary="캠페인 목록 (campaigns with progress)")
async def list_campaigns(
    session: SessionDep,
    principal: PrincipalDep,
    cursor: str | None = Query(None, max_length=400),
    limit: int = Query(50, ge=1, le=200),
) -> CampaignPage:
    principal.require_role(*READERS)
    stmt = select(Campaign).order_by(Campaign.created_at.desc(), Campaign.id.desc()).limit(limit + 1)
    if cursor:
        stmt = stmt.where(tuple_(Campaign.created_at, Campaign.id) < _after(cursor))
    rows = list(await session.scalars(stmt))
    more, rows = len(rows) > limit, rows[:limit]
    return CampaignPage(
        items=[await campaign_read(session, c) for c in rows],
        next_cursor=encode_cursor(rows[-1].created_at.isoformat(), rows[-1].id) if more else None,
    )


@router.get(
    "/campaigns/{campaign_id}",
    response_model=CampaignRead,
    summary="캠페인 실적 (campaign progress)",
    responses={404: {"description": "No such campaign"}},
)
async def read_campaign(campaign_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> CampaignRead:
    principal.require_role(*READERS)
    return await campaign_read(session, await donations.get_campaign(session, campaign_id))


@router.post(
    "/donations",
    response_model=DonationRead,
    status_code=201,
    summary="기부 접수 (record a donation: posts to the ledger)",
    responses={
        404: {"description": "Unknown donor or campaign"},
        422: {"description": "Invalid donation, outside the campaign, or key reused"},
    },
)
async def create_donation(
    body: DonationCreate,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKeyHeader,
) -> Response:
    principal.require_role(*MANAGERS)
    if (body.designation == "household") != (body.household_id is not None):
        raise Invalid("household_id is given exactly when designation is household")
    if (body.designation == "programme") != (body.programme is not None):
        raise Invalid("programme is given exactly when designation is programme")
    d = donations.DonationInput(
        form=body.form,
        designation=body.designation,
        amount=body.amount,
        received_on=body.received_on,
        donor_id=body.donor_id,
        campaign_id=body.campaign_id,
        household_id=body.household_id,
        programme=body.programme,
        goods_description=body.goods_description,
    )

    async def work(token: uuid.UUID) -> DonationRead:
        return DonationRead.model_validate(await donations.record(session, d, principal.subject, token))

    return await idempotent(request, session, principal, idempotency_key, body, work)


@router.get("/donations", response_model=DonationPage, summary="기부 내역 (donations)")
async def list_donations(
    session: SessionDep,
    principal: PrincipalDep,
    campaign_id: uuid.UUID | None = None,
    donor_id: uuid.UUID | None = None,
    cursor: str | None = Query(None, max_length=400),
    limit: int = Query(50, ge=1, le=200),
) -> DonationPage:
    principal.require_role(*DONOR_READERS)
    stmt = select(Donation).order_by(Donation.created_at.desc(), Donation.id.desc()).limit(limit + 1)
    if campaign_id:
        stmt = stmt.where(Donation.campaign_id == campaign_id)
    if donor_id:
        stmt = stmt.where(Donation.donor_id == donor_id)
    if cursor:
        stmt = stmt.where(tuple_(Donation.created_at, Donation.id) < _after(cursor))
    rows = list(await session.scalars(stmt))
    more, rows = len(rows) > limit, rows[:limit]
    return DonationPage(
        items=[DonationRead.model_validate(r) for r in rows],
        next_cursor=encode_cursor(rows[-1].created_at.isoformat(), rows[-1].id) if more else None,
    )


@router.get(
    "/donations/{donation_id}/receipt.pdf",
    summary="기부금 영수증 (donation receipt, PDF)",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, 404: {"description": "No receipt"}},
)
async def receipt(
    donation_id: uuid.UUID, request: Request, session: SessionDep, principal: PrincipalDep
) -> Response:
    """The donor's name is personal data: the download needs a stated reason
    (`X-Export-Reason`) and is logged."""
    principal.require_role(*MANAGERS)
    reason = export_reason(request)
    donation = await donations.get_donation(session, donation_id)
    if donation.donor_id is None or donation.receipt_serial is None:
        raise Invalid("An anonymous donation has no receipt.")
    donor = await donations.get_donor(session, donation.donor_id)
    record_access(
        session,
        OutboxMessage,
        request,
        principal,
        service="resources",
        record_type="donor",
        record_id=donor.id,
        action="download",
        reason=reason,
    )
    pdf = receipts.render(
        receipts.ReceiptData(
            serial=donation.receipt_serial,
            donor_ref=str(donor.id),
            donor_name=donor.name,
            donor_kind=donor.kind,
            form=donation.form,
            amount=donation.amount,
            received_on=donation.received_on,
            issued_on=utcnow().date(),
        ),
        settings_of(request).receipt_font,
    )
    filename = f"receipt-{donation.receipt_serial}.pdf"
    return Response(
        pdf, media_type="application/pdf", headers={"Content-Disposition": f"attachment; filename={filename}"}
    )


@router.get(
    "/donations/{donation_id}/use-report",
    response_model=UseReportRead,
    summary="지정기탁 사용 보고 (how a designated donation was used)",
)
async def use_report(donation_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> UseReportRead:
    principal.require_role(*DONOR_READERS)
    donation = await donations.get_donation(session, donation_id)
    if donation.designation == "general" or donation.form != "cash":
        raise Invalid("Only designated cash donations have a use report.")
    report = await donations.use_report(session, donation)
    return UseReportRead(
        donation_id=donation.id,
        donated=donation.amount,
        designated_to="a household"
        if donation.designation == "household"
        else str(donation.designated_programme),
        fund_received=report.fund_received,
        spent=[UseLineRead(purpose=x.purpose, amount=x.amount, movements=x.movements) for x in report.spent],
        remaining=report.remaining,
    )
