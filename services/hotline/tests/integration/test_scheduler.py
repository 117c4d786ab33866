"""The check-in scheduler against the real database and the local provider, driven by a
controllable clock: planning, retries in the window, replies, quiet hours, escalation,
do-not-contact and a restart in the middle of a batch."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from heemang_common.testing import TEST_MINT, RunningService
from heemang_hotline.db.models import CheckinCall, CheckinSlot, ContactRefusal, LocalSms
from heemang_hotline.domain.checkins import KST
from heemang_hotline.scheduler import CheckinScheduler
from heemang_hotline.settings import Settings
from heemang_hotline.sms.base import OutboundSms, SendResult, SmsProvider

MONDAY = datetime(2026, 11, 2, tzinfo=KST)  # a Monday
MISSED = "heemang.hotline.checkin.missed.v1"


def at(day: datetime, hh: int, mm: int = 0, weeks: int = 0) -> datetime:
    return day.replace(hour=hh, minute=mm) + timedelta(weeks=weeks)


class Counting:
    """Counts what reaches the provider (the local one records it too)."""

    def __init__(self, inner: SmsProvider) -> None:
        self.inner = inner
        self.name = "counting"
        self.calls: list[OutboundSms] = []

    async def send(self, message: OutboundSms) -> SendResult:
        self.calls.append(message)
        return await self.inner.send(message)


class Crash(BaseException):
    """The process dying: not an Exception, so nothing in the scheduler catches it."""


class CrashAfter(Counting):
    def __init__(self, inner: SmsProvider, after: int) -> None:
        super().__init__(inner)
        self.after = after

    async def send(self, message: OutboundSms) -> SendResult:
        result = await super().send(message)
        if len(self.calls) >= self.after:
            raise Crash  # the message left; the worker died before recording it
        return result


async def setup(
    client: httpx.AsyncClient, kind: str = "automated", households: int = 1
) -> list[dict[str, Any]]:
    programme = await client.post(
        "/programmes", json={"code": f"p_{uuid.uuid4().hex[:6]}", "name": "헬로안심", "kind": kind}
    )
    assert programme.status_code == 201, programme.text
    enrolments = []
    for i in range(households):
        made = await client.post(
            "/enrolments",
            json={
                "programme_id": programme.json()["id"],
                "household_id": str(uuid.uuid4()),
                "dong": "yeoksam1",
                "weekday": 0,
                "window_start": "10:00",
                "window_end": "12:00",
                "phone": f"010-2000-{i:04d}",
            },
        )
        assert made.status_code == 201, made.text
        assert made.json()["phone_masked"] == f"010-****-{i:04d}"
        enrolments.append(made.json())
    return enrolments


def scheduler_of(
    hotline: RunningService, provider: SmsProvider | None = None, **overrides: Any
) -> CheckinScheduler:
    runtime = hotline.runtime
    settings: Settings = runtime.settings.model_copy(update=overrides)  # type: ignore[assignment]
    inner = runtime.extras["sms"].provider
    return CheckinScheduler(
        runtime.sessionmaker, provider or Counting(inner), runtime.extras["contacts"], settings
    )


async def count(hotline: RunningService, model: Any) -> int:
    async with hotline.runtime.sessionmaker() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def slots(hotline: RunningService) -> list[tuple[datetime, str]]:
    async with hotline.runtime.sessionmaker() as session:
        rows = (await session.execute(select(CheckinSlot).order_by(CheckinSlot.slot_at))).scalars().all()
    return [(r.slot_at, r.outcome) for r in rows]


async def test_unanswered_calls_retry_in_the_window_then_miss_and_escalate(
    hotline: RunningService, events_of: Any
) -> None:
    async with httpx.AsyncClient(base_url=hotline.url, headers=TEST_MINT.headers("supervisor")) as client:
        await setup(client)
    scheduler = scheduler_of(hotline)
    provider: Counting = scheduler.sender  # type: ignore[assignment]
    for week in range(2):
        early = await scheduler.tick(at(MONDAY, 9, weeks=week))
        assert early.sent == 0
        assert (await scheduler.tick(at(MONDAY, 10, weeks=week))).sent == 1
        assert (await scheduler.tick(at(MONDAY, 10, 20, weeks=week))).sent == 0  # retry after 30 min
        assert (await scheduler.tick(at(MONDAY, 10, 30, weeks=week))).sent == 1
        assert (await scheduler.tick(at(MONDAY, 11, 0, weeks=week))).sent == 1
        closing = await scheduler.tick(at(MONDAY, 11, 30, weeks=week))
        assert closing.sent == 0 and closing.outcomes == {"no_answer": 1}
    assert len(provider.calls) == 6 == await count(hotline, LocalSms)
    assert len({m.id for m in provider.calls}) == 6  # one message id per attempt
    assert [o for _, o in await slots(hotline)] == ["no_answer", "no_answer"]
    [event] = await events_of(hotline, MISSED)
    assert event["consecutive_misses"] == 2 and not event["urgent"]
    # planning again (a restart re-plans the week) adds nothing
    assert await scheduler_of(hotline).plan(at(MONDAY, 9, weeks=1)) == 0


async def test_a_reply_answers_the_check_in(
    hotline: RunningService, sign: Callable[..., dict[str, str]]
) -> None:
    async with httpx.AsyncClient(base_url=hotline.url, headers=TEST_MINT.headers("supervisor")) as client:
        await setup(client)
        scheduler = scheduler_of(hotline)
        await scheduler.tick(at(MONDAY, 10))
        body = json.dumps({"from": "010-2000-0000", "text": "1"}).encode()
        headers = sign(hotline.runtime.settings, body)
        answered = await client.post("/sms/inbound", content=body, headers=headers)
        assert answered.status_code == 200, answered.text
        assert answered.json() == {"duplicate": False, "effect": "checkin_ok"}
        again = await client.post("/sms/inbound", content=body, headers=headers)
        assert again.json()["duplicate"] is True
        unsigned = await client.post("/sms/inbound", content=body, headers={"webhook-id": "x"})
        assert unsigned.status_code == 401
    assert (await scheduler.tick(at(MONDAY, 10, 30))).sent == 0  # answered: no retry
    assert [o for _, o in await slots(hotline)] == ["ok"]


async def test_asking_for_help_by_reply_escalates_at_once(
    hotline: RunningService, sign: Callable[..., dict[str, str]], events_of: Any
) -> None:
    async with httpx.AsyncClient(base_url=hotline.url, headers=TEST_MINT.headers("supervisor")) as client:
        await setup(client)
        await scheduler_of(hotline).tick(at(MONDAY, 10))
        body = json.dumps({"from": "01020000000", "text": "도와주세요"}).encode()
        response = await client.post(
            "/sms/inbound", content=body, headers=sign(hotline.runtime.settings, body)
        )
        assert response.json()["effect"] == "checkin_asked_for_help"
    [event] = await events_of(hotline, MISSED)
    assert event["reason"] == "asked_for_help" and event["urgent"]


async def test_quiet_hours_delay_the_call(hotline: RunningService) -> None:
    async with httpx.AsyncClient(base_url=hotline.url, headers=TEST_MINT.headers("supervisor")) as client:
        await setup(client)
    # the centre moved its quiet hours after the person enrolled: until 10:45 no calls
    scheduler = scheduler_of(hotline, quiet_hours_start=time(21, 0), quiet_hours_end=time(10, 45))
    waiting = await scheduler.tick(at(MONDAY, 10))
    assert waiting.sent == 0 and waiting.waiting == 1
    assert (await scheduler.tick(at(MONDAY, 10, 30))).sent == 0
    assert (await scheduler.tick(at(MONDAY, 10, 45))).sent == 1


async def test_message_programmes_send_once_and_close(hotline: RunningService) -> None:
    async with httpx.AsyncClient(base_url=hotline.url, headers=TEST_MINT.headers("supervisor")) as client:
        await setup(client, kind="message")
    scheduler = scheduler_of(hotline)
    assert (await scheduler.tick(at(MONDAY, 10))).outcomes == {"ok": 1}
    assert (await scheduler.tick(at(MONDAY, 11))).sent == 0
    assert [o for _, o in await slots(hotline)] == ["ok"]


async def test_do_not_contact_refuses_before_the_provider(hotline: RunningService) -> None:
    async with httpx.AsyncClient(base_url=hotline.url, headers=TEST_MINT.headers("supervisor")) as client:
        [enrolment] = await setup(client)
        household = enrolment["household_id"]
        officer = TEST_MINT.headers("dong_officer", sub="o-1", dongs=["yeoksam1"])
        counsellor = TEST_MINT.headers("hotline_counsellor")
        body = {"dong": "yeoksam1", "reason": "domestic_violence"}
        path = f"/do-not-contact/household/{household}"
        assert (await client.put(path, json=body, headers=counsellor)).status_code == 403
        other_dong = TEST_MINT.headers("dong_officer", dongs=["sinsa"])
        assert (await client.put(path, json=body, headers=other_dong)).status_code == 403
        flagged = await client.put(path, json=body, headers=officer)
        assert flagged.status_code == 200 and flagged.json()["active"], flagged.text
        seen = (await client.get(path, headers=counsellor)).json()
        assert seen["active"] and seen["reason"] is None  # the reason needs the restricted clearance
        cleared = TEST_MINT.headers("supervisor", clearances=["restricted"])
        assert (await client.get(path, headers=cleared)).json()["reason"] == "domestic_violence"

        scheduler = scheduler_of(hotline)
        report = await scheduler.tick(at(MONDAY, 10))
        assert report.refused == 1 and report.sent == 0
        assert scheduler.sender.calls == []  # type: ignore[attr-defined]
        assert await count(hotline, LocalSms) == 0 and await slots(hotline) == []
        refusals = (await client.get("/contact-refusals")).json()["items"]
        assert [(r["channel"], r["household_id"]) for r in refusals] == [("checkin", household)]

        seen_calls = await client.get(f"/enrolments/{enrolment['id']}/calls", headers=officer)
        mondays = [c for c in seen_calls.json()["items"] if c["slot_at"].startswith("2026-11-02")]
        assert [(c["status"], c["note"]) for c in mondays] == [("refused", "do_not_contact")]
        outsider = TEST_MINT.headers("case_manager", dongs=["sinsa"])
        assert (await client.get(f"/enrolments/{enrolment['id']}/calls", headers=outsider)).status_code == 403
        assert (await client.delete(path, headers=officer)).status_code == 200
        assert (await scheduler.tick(at(MONDAY, 10, weeks=1))).sent == 1  # lifted: next week's call goes
    assert await count(hotline, ContactRefusal) == 1


async def test_a_restart_mid_batch_never_calls_a_slot_twice(hotline: RunningService) -> None:
    async with httpx.AsyncClient(base_url=hotline.url, headers=TEST_MINT.headers("supervisor")) as client:
        await setup(client, households=12)
    inner = hotline.runtime.extras["sms"].provider
    crashing = CrashAfter(inner, after=5)
    first = scheduler_of(hotline, crashing)
    try:
        await first.tick(at(MONDAY, 10))
        raise AssertionError("the worker should have died")
    except Crash:
        pass
    # A new process: before the lease runs out nobody touches the dead worker's slots...
    second = scheduler_of(hotline)
    assert (await second.tick(at(MONDAY, 10, 1))).claimed == 0
    # ...after it, the slots are retaken: 4 were done (awaiting a reply, not due), the one in
    # flight is resent under the same message id, 7 were never started.
    resumed = await second.tick(at(MONDAY, 10, 3))
    assert resumed.claimed == 8 and resumed.sent == 8
    assert crashing.calls[-1].id in {m.id for m in second.sender.calls}  # type: ignore[attr-defined]
    async with hotline.runtime.sessionmaker() as session:
        delivered = (await session.execute(select(LocalSms.id))).scalars().all()
        calls = (
            (
                await session.execute(
                    select(CheckinCall).where(CheckinCall.slot_at < MONDAY + timedelta(days=1))
                )
            )
            .scalars()
            .all()
        )  # the enrolments' real upcoming slots (planned at enrolment) are not part of this
    assert len(delivered) == 12 == len(set(delivered))  # each slot's first attempt reached its person once
    assert {c.status for c in calls} == {"awaiting"} and {c.attempts for c in calls} == {1}


async def test_an_unreadable_number_is_skipped_not_retried_forever(hotline: RunningService) -> None:
    from sqlalchemy import update

    from heemang_hotline.db.models import Enrolment

    async with httpx.AsyncClient(base_url=hotline.url, headers=TEST_MINT.headers("supervisor")) as client:
        await setup(client)
    async with hotline.runtime.sessionmaker() as session, session.begin():
        await session.execute(update(Enrolment).values(phone_enc="v1:retired-key:" + "A" * 40))
    scheduler = scheduler_of(hotline)
    report = await scheduler.tick(at(MONDAY, 10))
    assert report.skipped == 1 and report.sent == 0
    assert (await scheduler.tick(at(MONDAY, 10, 5))).claimed == 0


async def test_a_new_enrolment_is_planned_at_once(hotline: RunningService) -> None:
    tomorrow = (datetime.now(KST) + timedelta(days=1)).weekday()
    async with httpx.AsyncClient(base_url=hotline.url, headers=TEST_MINT.headers("supervisor")) as client:
        programme = await client.post(
            "/programmes", json={"code": "hello", "name": "헬로안심", "kind": "automated"}
        )
        body = {
            "programme_id": programme.json()["id"],
            "household_id": str(uuid.uuid4()),
            "dong": "yeoksam1",
            "weekday": tomorrow,
            "window_start": "10:00",
            "window_end": "12:00",
        }
        waiting = (await client.post("/enrolments", json=body)).json()
        assert (await client.get(f"/enrolments/{waiting['id']}/calls")).json()["items"] == []  # no number yet
        await client.put(f"/enrolments/{waiting['id']}/contact", json={"phone": "010-5555-0000"})
        [planned] = (await client.get(f"/enrolments/{waiting['id']}/calls")).json()["items"]
    slot = datetime.fromisoformat(planned["slot_at"]).astimezone(KST)
    assert planned["status"] == "planned" and slot.weekday() == tomorrow and slot.time() == time(10, 0)
