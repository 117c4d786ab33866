"""InboxProcessor against a real database: dedup, retries, DLQ through the outbox."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from heemang_common.consumer import InboxProcessor
from heemang_common.events.intake import ReferralAccepted, ReferralAcceptedData
from heemang_common.testing import FakeMessage

Msg = FakeMessage


def accepted_message(offset: int, household: uuid.UUID | None = None) -> Msg:
    data = ReferralAcceptedData(
        referral_id=uuid.uuid4(),
        household_id=household or uuid.uuid4(),
        dong="d1",
        channel="phone",
        priority=3,
        accepted_at=datetime.now(UTC),
    )
    event = ReferralAccepted.create(subject=data.referral_id, data=data)
    return Msg(
        "heemang.intake.referral", 0, offset, str(data.household_id).encode(), event.to_json().encode()
    )


def processor(db: Any, handler: Any, **kwargs: Any) -> InboxProcessor:
    return InboxProcessor(
        name="test",
        handlers={ReferralAccepted.type_name(): handler},
        sessionmaker=db.sessionmaker,
        inbox_model=db.Inbox,
        outbox_model=db.Outbox,
        retry_base_s=0.001,
        **kwargs,
    )


def recorder(db: Any) -> Any:
    async def record(event: ReferralAccepted, session: Any) -> None:
        session.add(
            db.Effect(consumer="test", event_id=str(event.id), aggregate=str(event.data.household_id), seq=0)
        )

    return record


async def count(db: Any, model: Any) -> int:
    async with db.sessionmaker() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_redelivered_event_has_one_effect(common_db: Any) -> None:
    inbox = processor(common_db, recorder(common_db))
    messages = [accepted_message(i) for i in range(5)]
    await inbox.handle_batch(messages)
    await inbox.handle_batch(messages)  # the whole batch again (a redelivery)
    await inbox.handle_batch([messages[2], messages[2]])  # and a duplicate within a batch
    assert await count(common_db, common_db.Effect) == 5
    assert inbox.stats.processed == 5 and inbox.stats.duplicates == 7


async def test_failing_event_goes_to_dlq_and_the_rest_are_processed(common_db: Any) -> None:
    poisoned = accepted_message(1)
    poisoned_id = json.loads(poisoned.value or b"")["id"]

    async def flaky(event: ReferralAccepted, session: Any) -> None:
        if str(event.id) == poisoned_id:
            raise RuntimeError("handler bug")
        await recorder(common_db)(event, session)

    inbox = processor(common_db, flaky, max_attempts=3)
    await inbox.handle_batch([accepted_message(0), poisoned, accepted_message(2)])
    assert await count(common_db, common_db.Effect) == 2
    assert inbox.stats.dead_lettered == 1 and inbox.stats.retries == 3
    async with common_db.sessionmaker() as session:
        [dead] = (await session.execute(select(common_db.Outbox))).scalars().all()
        [marker] = (
            (await session.execute(select(common_db.Inbox).where(common_db.Inbox.status == "dead_lettered")))
            .scalars()
            .all()
        )
    assert dead.topic == "heemang.intake.referral.dlq"
    assert json.loads(dead.payload)["id"] == poisoned_id
    assert "handler bug" in dead.headers["dlq_error"] and dead.headers["dlq_attempts"] == "3"
    assert marker.event_id == poisoned_id
    # Redelivering the poisoned event changes nothing: it was dead-lettered once.
    await inbox.handle_batch([poisoned])
    assert await count(common_db, common_db.Outbox) == 1


async def test_garbage_is_dead_lettered_without_retries(common_db: Any) -> None:
    inbox = processor(common_db, recorder(common_db), max_attempts=5)
    await inbox.handle_batch([Msg("heemang.intake.referral", 3, 7, None, b"\xff\x00not json")])
    assert inbox.stats.dead_lettered == 1 and inbox.stats.retries == 0
    async with common_db.sessionmaker() as session:
        [dead] = (await session.execute(select(common_db.Outbox))).scalars().all()
    assert dead.headers["dlq_encoding"] == "base64"
    assert dead.headers["dlq_original_offset"] == "7"


async def test_types_without_a_handler_are_skipped(common_db: Any) -> None:
    inbox = InboxProcessor(
        name="test",
        handlers={},
        sessionmaker=common_db.sessionmaker,
        inbox_model=common_db.Inbox,
        outbox_model=common_db.Outbox,
    )
    await inbox.handle_batch([accepted_message(0)])
    assert await count(common_db, common_db.Inbox) == 0 and inbox.stats.dead_lettered == 0
