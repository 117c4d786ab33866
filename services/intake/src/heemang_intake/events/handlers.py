"""What intake does with the events it consumes (consumer group ``intake``).

- ``hotline.referral.requested`` → a ``hotline`` referral (once per request id);
- ``hotline.checkin.missed`` → a ``checkin_missed`` referral when the household has no open
  case (once per escalation event); with an open case casework alerts its caseworker;
- ``casework.case.opened`` / ``case.stage_changed`` / ``case.closed`` → the ``open_cases``
  projection the previous rule reads: a case is open at every stage but ⑦ closed (as
  casework counts it for its alerts), so ⑧ follow-up is open again.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from heemang_common.events import topics
from heemang_common.events.casework import CaseClosed, CaseOpened, CaseStageChanged
from heemang_common.events.hotline import CheckinMissed, ReferralRequested
from heemang_common.runtime import ConsumerSpec
from heemang_intake import inbound


async def handle_referral_requested(event: ReferralRequested, session: AsyncSession) -> None:
    data = event.data
    await inbound.refer_from_hotline(
        session,
        request_id=data.request_id,
        household_id=data.household_id,
        dong=data.dong,
        category=data.category,
        urgent=data.urgent,
    )


async def handle_checkin_missed(event: CheckinMissed, session: AsyncSession) -> None:
    data = event.data
    await inbound.refer_missed_checkin(
        session,
        event_id=event.id,
        household_id=data.household_id,
        dong=data.dong,
        programme=data.programme,
        reason=data.reason,
        consecutive_misses=data.consecutive_misses,
        urgent=data.urgent,
    )


async def handle_case_opened(event: CaseOpened, session: AsyncSession) -> None:
    data = event.data
    await inbound.case_opened(
        session, case_id=data.case_id, household_id=data.household_id, stage=data.stage, at=data.opened_at
    )


async def handle_case_closed(event: CaseClosed, session: AsyncSession) -> None:
    await inbound.case_closed(session, case_id=event.data.case_id)


async def handle_case_stage_changed(event: CaseStageChanged, session: AsyncSession) -> None:
    data = event.data
    await inbound.case_stage_changed(
        session, case_id=data.case_id, household_id=data.household_id, to_stage=data.to_stage, at=data.at
    )


CONSUMERS = [
    ConsumerSpec(
        name="intake",
        topics=[topics.HOTLINE_REFERRAL, topics.HOTLINE_CHECKIN, topics.CASEWORK_CASE],
        handlers={
            ReferralRequested.type_name(): handle_referral_requested,
            CheckinMissed.type_name(): handle_checkin_missed,
            CaseOpened.type_name(): handle_case_opened,
            CaseClosed.type_name(): handle_case_closed,
            CaseStageChanged.type_name(): handle_case_stage_changed,
        },
    )
]
