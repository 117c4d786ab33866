"""Sends notice campaigns in batches, exactly once per recipient.

The durable send table (``campaign_sends``, unique per campaign and subscriber) is the
plan; a batch is claimed with ``FOR UPDATE SKIP LOCKED`` and leased. Before anything is
sent, in the claim's transaction: opt-outs since the campaign began are dropped (so an
opt-out takes effect before the next batch), do-not-contact subjects are refused and
logged, and the day's cost cap is reserved — what does not fit stays pending until the
next KST day. Each message's id is its send row's id: a batch retaken after a crash
resends under the same id and the provider deduplicates, so every subscriber gets one
message. ``sms.campaign.completed`` is published by the one transaction that moves the
campaign from ``sending`` to ``completed``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from heemang_common.events.envelope import utcnow
from heemang_common.events.hotline import SmsCampaignCompleted, SmsCampaignCompletedData
from heemang_hotline import campaigns, checkins, contact
from heemang_hotline.crypto import ContactDecryptionError, ContactProtector
from heemang_hotline.db.models import (
    CampaignSend,
    DoNotContact,
    SmsCampaign,
    SmsDailySpend,
    Subscriber,
    WebhookSeen,
)
from heemang_hotline.domain import campaigns as rules
from heemang_hotline.domain.checkins import KST
from heemang_hotline.domain.sms import Kind, retry_delay_s
from heemang_hotline.events.publish import publish
from heemang_hotline.settings import Settings
from heemang_hotline.sms.base import OutboundSms, SendResult, SmsProvider

log = logging.getLogger("heemang.hotline.campaigns")
PURGE_EVERY = timedelta(hours=1)


@dataclass
class SendReport:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    retry: int = 0
    refused: int = 0
    opted_out: int = 0
    deferred: int = 0  # over the day's cap: pending until tomorrow
    completed: list[uuid.UUID] = field(default_factory=list)


@dataclass(frozen=True)
class Job:
    send_id: uuid.UUID
    campaign_id: uuid.UUID
    attempts: int
    to: str
    body: str


class CampaignSender:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        sender: SmsProvider,
        protector: ContactProtector,
        settings: Settings,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.sender = sender
        self.protector = protector
        self.settings = settings
        self.quiet = checkins.quiet_hours(settings)
        self._purged_at: datetime | None = None

    async def run(self, stop: asyncio.Event, clock: Callable[[], datetime] = utcnow) -> None:
        while not stop.is_set():
            try:
                report = await self.tick(clock())
                busy = report.claimed > 0 and report.deferred == 0
            except Exception:
                log.exception("campaign sender tick failed; retrying")
                busy = False
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.settings.campaign_interval_s)

    async def tick(self, now: datetime) -> SendReport:
        """One batch: claim, check, send, record."""
        report = SendReport()
        async with self.sessionmaker() as session, session.begin():
            jobs = await self._claim(session, now, report)
        if jobs:
            results = await self._send_all(jobs)
            async with self.sessionmaker() as session, session.begin():
                await self._record(session, jobs, results, now, report)
        async with self.sessionmaker() as session, session.begin():
            report.completed = await self._complete(session, now)
        if self._purged_at is None or now - self._purged_at >= PURGE_EVERY:
            await self.purge_seen_webhooks(now)
        return report

    async def purge_seen_webhooks(self, now: datetime) -> int:
        """Forget callback ids older than the retention (the dedup window stays ≥ the
        sender's whole retry span)."""
        before = now - timedelta(hours=self.settings.sms_webhook_retention_h)
        async with self.sessionmaker() as session, session.begin():
            result = await session.execute(delete(WebhookSeen).where(WebhookSeen.received_at < before))
        self._purged_at = now
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    # ---------------------------------------------------------------- claim

    async def _claim(self, session: AsyncSession, now: datetime, report: SendReport) -> list[Job]:
        quiet = self.quiet.contains(now.astimezone(KST).time())
        # pending (and not backing off after a transient failure), or a dead worker's lease
        open_row = and_(
            CampaignSend.status.in_(("pending", "sending")),
            or_(CampaignSend.lease_until.is_(None), CampaignSend.lease_until < now),
        )
        pick = (
            select(CampaignSend.id)
            .join(SmsCampaign, SmsCampaign.id == CampaignSend.campaign_id)
            .where(
                SmsCampaign.status == "sending", open_row, *([SmsCampaign.urgent.is_(True)] if quiet else [])
            )
            .limit(self.settings.campaign_batch_size)
            .with_for_update(skip_locked=True, of=CampaignSend)
        )
        lease = now + timedelta(seconds=self.settings.campaign_lease_s)
        claim = (
            update(CampaignSend)
            .where(CampaignSend.id.in_(pick.scalar_subquery()))
            .values(status="sending", lease_until=lease, attempts=CampaignSend.attempts + 1, updated_at=now)
            .returning(CampaignSend.id)
            .execution_options(synchronize_session=False)
        )
        ids = list((await session.execute(claim)).scalars())
        report.claimed = len(ids)
        if not ids:
            return []
        rows = (
            await session.execute(
                select(CampaignSend, Subscriber, SmsCampaign)
                .join(Subscriber, Subscriber.id == CampaignSend.subscriber_id)
                .join(SmsCampaign, SmsCampaign.id == CampaignSend.campaign_id)
                .where(CampaignSend.id.in_(ids))
            )
        ).all()
        blocked = await _blocked_subjects(session, [s for _, s, _ in rows])
        final: dict[str, list[uuid.UUID]] = {"opted_out": [], "refused": []}
        candidates = []
        for send, subscriber, campaign in rows:
            if subscriber.opted_out_at is not None:
                final["opted_out"].append(send.id)
            elif ("household", subscriber.household_id) in blocked or (
                "person",
                subscriber.person_id,
            ) in blocked:
                final["refused"].append(send.id)
                contact.log_refusal(
                    session,
                    channel="campaign",
                    reference_id=send.id,
                    household_id=subscriber.household_id,
                    person_id=subscriber.person_id,
                    at=now,
                )
            else:
                candidates.append((send, subscriber, campaign))
        for status, send_ids in final.items():
            if send_ids:
                await _set_many(session, send_ids, status=status, lease_until=None, updated_at=now)
        report.opted_out, report.refused = len(final["opted_out"]), len(final["refused"])
        allowed = await self._reserve(session, now, candidates)
        deferred = [send.id for send, _, _ in candidates[allowed:]]
        if deferred:  # over the cap: back to pending, untouched, for tomorrow
            await _set_many(
                session, deferred, status="pending", lease_until=None, attempts=CampaignSend.attempts - 1
            )
        report.deferred = len(deferred)
        jobs, unreadable = [], []
        for send, sub, campaign in candidates[:allowed]:
            try:
                phone = self.protector.decrypt(sub.phone_enc, sub.id.bytes)
            except ContactDecryptionError:  # a key missing from the settings: fail it, do not loop
                unreadable.append(send.id)
                continue
            jobs.append(Job(send.id, campaign.id, send.attempts, phone, campaign.body))
        if unreadable:
            log.error("%d subscribers' numbers cannot be decrypted", len(unreadable))
            await _set_many(session, unreadable, status="failed", error="number unreadable", lease_until=None)
            report.failed += len(unreadable)
        return jobs

    async def _reserve(self, session: AsyncSession, now: datetime, candidates: list[Any]) -> int:
        """Reserve today's budget for as many candidates as fit (in order); how many fit."""
        if not candidates:
            return 0
        day = now.astimezone(KST).date()
        spend = await _spend_row(session, day)
        costs = [
            rules.unit_cost(Kind(campaign.kind), self.settings.sms_cost_krw, self.settings.lms_cost_krw)
            for _, _, campaign in candidates
        ]
        allowed, total = 0, spend.spent_krw
        for cost in costs:
            if rules.affordable(1, cost, total, self.settings.sms_daily_cap_krw) == 0:
                break
            allowed, total = allowed + 1, total + cost
        spend.spent_krw, spend.messages = total, spend.messages + allowed
        await session.flush()
        return allowed

    # ---------------------------------------------------------------- send and record

    async def _send_all(self, jobs: list[Job]) -> dict[uuid.UUID, SendResult]:
        gate = asyncio.Semaphore(self.settings.campaign_concurrency)
        results: dict[uuid.UUID, SendResult] = {}

        async def one(job: Job) -> None:
            async with gate:
                try:
                    results[job.send_id] = await self.sender.send(OutboundSms(job.send_id, job.to, job.body))
                except Exception as exc:  # an adapter bug: retry later, keep the batch going
                    log.exception("SMS provider raised")
                    results[job.send_id] = SendResult(
                        accepted=False, error=f"provider raised {type(exc).__name__}"
                    )

        async with asyncio.TaskGroup() as group:
            for job in jobs:
                group.create_task(one(job))
        return results

    async def _record(
        self,
        session: AsyncSession,
        jobs: list[Job],
        results: dict[uuid.UUID, SendResult],
        now: datetime,
        report: SendReport,
    ) -> None:
        params = []
        for job in jobs:
            result = results[job.send_id]
            if result.accepted:
                status, report.sent = "sent", report.sent + 1
            elif result.permanent or job.attempts >= self.settings.campaign_max_attempts:
                status, report.failed = "failed", report.failed + 1
            else:
                status, report.retry = "pending", report.retry + 1
            # a transient failure backs off (1 s doubling, capped) before its next attempt
            backoff = now + timedelta(seconds=retry_delay_s(job.attempts)) if status == "pending" else None
            params.append(
                {
                    "b_id": job.send_id,
                    "b_status": status,
                    "b_provider": result.provider_message_id,
                    "b_error": (result.error or "")[:200] or None,
                    "b_lease": backoff,
                }
            )
        stmt = (
            update(CampaignSend)
            .where(CampaignSend.id == bindparam("b_id"), CampaignSend.status == "sending")
            .values(
                status=bindparam("b_status"),
                provider_message_id=bindparam("b_provider"),
                error=bindparam("b_error"),
                lease_until=bindparam("b_lease", type_=CampaignSend.lease_until.type),
                updated_at=now,
            )
        )
        connection = await session.connection()
        await connection.execute(stmt, params)

    async def _complete(self, session: AsyncSession, now: datetime) -> list[uuid.UUID]:
        """Campaigns with no open send left become completed, each exactly once."""
        open_sends = select(CampaignSend.id).where(
            CampaignSend.campaign_id == SmsCampaign.id, CampaignSend.status.in_(("pending", "sending"))
        )
        done = select(SmsCampaign.id).where(SmsCampaign.status == "sending", ~open_sends.exists())
        finished = []
        for campaign_id in (await session.execute(done)).scalars().all():
            flip = (
                update(SmsCampaign)
                .where(SmsCampaign.id == campaign_id, SmsCampaign.status == "sending")
                .values(status="completed", completed_at=now)
                .execution_options(synchronize_session=False)
            )
            if (await session.execute(flip)).rowcount != 1:  # type: ignore[attr-defined]
                continue  # another worker completed it
            campaign = await session.get(SmsCampaign, campaign_id)
            assert campaign is not None
            counts = await campaigns.report(session, campaign_id)
            publish(
                session,
                SmsCampaignCompleted.create(
                    subject=campaign_id,
                    data=SmsCampaignCompletedData(
                        campaign_id=campaign_id,
                        topic=campaign.topic,
                        recipients=campaign.recipients,
                        sent=counts["sent"],
                        failed=counts["failed"],
                        refused=counts["refused"],
                        opted_out=counts["opted_out"],
                        urgent=campaign.urgent,
                        completed_at=now,
                    ),
                ),
            )
            finished.append(campaign_id)
        return finished


async def _blocked_subjects(
    session: AsyncSession, subscribers: list[Subscriber]
) -> set[tuple[str, uuid.UUID | None]]:
    households = {s.household_id for s in subscribers if s.household_id is not None}
    people = {s.person_id for s in subscribers if s.person_id is not None}
    if not households and not people:
        return set()
    stmt = select(DoNotContact.subject_kind, DoNotContact.subject_id).where(
        DoNotContact.active.is_(True),
        or_(
            and_(DoNotContact.subject_kind == "household", DoNotContact.subject_id.in_(households)),
            and_(DoNotContact.subject_kind == "person", DoNotContact.subject_id.in_(people)),
        ),
    )
    return {(kind, subject) for kind, subject in (await session.execute(stmt)).all()}


async def _spend_row(session: AsyncSession, day: date) -> SmsDailySpend:
    """Today's spend, locked for this transaction (two senders cannot both spend the rest)."""
    stmt = select(SmsDailySpend).where(SmsDailySpend.day == day).with_for_update()
    row = (await session.execute(stmt)).scalar_one_or_none()
    if row is None:
        if session.bind is not None and session.bind.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            await session.execute(
                pg_insert(SmsDailySpend).values(day=day, spent_krw=0, messages=0).on_conflict_do_nothing()
            )
        else:
            session.add(SmsDailySpend(day=day, spent_krw=0, messages=0))
            await session.flush()
        row = (await session.execute(stmt.execution_options(populate_existing=True))).scalar_one()
    return row


async def _set_many(session: AsyncSession, ids: list[uuid.UUID], **values: Any) -> None:
    await session.execute(
        update(CampaignSend)
        .where(CampaignSend.id.in_(ids))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
