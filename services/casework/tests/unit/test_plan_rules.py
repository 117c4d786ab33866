"""Pure rules behind the stages: crisis level, service answers, conferences, scope."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from heemang_casework.domain.assessment import (
    CrisisLevel,
    Domain,
    Level,
    Need,
    crisis_level,
    prioritised,
    validate,
)
from heemang_casework.domain.conference import ConferenceKind, Participant
from heemang_casework.domain.conference import validate as validate_conference
from heemang_casework.domain.errors import InvalidAssessment, InvalidConference, InvalidPlan
from heemang_casework.domain.plan import (
    ServiceKind,
    ServiceStatus,
    answer,
    check_can_deliver,
    check_can_plan,
    check_service,
    initial_status,
    is_monitoring_overdue,
)
from heemang_casework.domain.scope import Action, CaseScope, Role, Viewer, can_read, may
from heemang_casework.domain.stages import Stage

L, M, H = Level.low, Level.medium, Level.high


@pytest.mark.parametrize(
    ("levels", "expected"),
    [
        ([], CrisisLevel.none),
        ([(L, L)], CrisisLevel.low),
        ([(L, M)], CrisisLevel.low),
        ([(L, H)], CrisisLevel.moderate),
        ([(M, M)], CrisisLevel.moderate),
        ([(M, H)], CrisisLevel.high),
        ([(H, M), (L, L)], CrisisLevel.high),
        ([(L, L), (H, H)], CrisisLevel.critical),
    ],
)
def test_crisis_level_follows_the_most_pressing_need(
    levels: list[tuple[Level, Level]], expected: CrisisLevel
) -> None:
    needs = [Need(domain, u, i) for domain, (u, i) in zip(Domain, levels, strict=False)]
    assert crisis_level(needs) is expected


def test_needs_are_prioritised_and_a_domain_is_assessed_once() -> None:
    needs = [Need(Domain.health, M, M), Need(Domain.housing, H, M), Need(Domain.economic, M, H)]
    assert [n.domain for n in prioritised(needs)] == [Domain.housing, Domain.economic, Domain.health]
    with pytest.raises(InvalidAssessment):
        validate(Stage.assessment, [Need(Domain.health, L, L), Need(Domain.health, H, H)])
    with pytest.raises(InvalidAssessment):
        validate(Stage.closed, [Need(Domain.health, L, L)])


def test_the_first_answer_of_resources_stands() -> None:
    assert answer(ServiceStatus.requested, ServiceStatus.approved) is ServiceStatus.approved
    assert answer(ServiceStatus.requested, ServiceStatus.rejected) is ServiceStatus.rejected
    assert answer(ServiceStatus.rejected, ServiceStatus.approved) is None
    assert answer(ServiceStatus.approved, ServiceStatus.rejected) is None
    assert answer(ServiceStatus.requested, ServiceStatus.delivered) is None
    assert answer(ServiceStatus.approved, ServiceStatus.delivered) is ServiceStatus.delivered
    assert answer(ServiceStatus.delivered, ServiceStatus.delivered) is ServiceStatus.delivered
    assert answer(ServiceStatus.planned, ServiceStatus.approved) is None


def test_services_and_stages() -> None:
    assert initial_status(ServiceKind.cash, True) is ServiceStatus.requested
    assert initial_status(ServiceKind.intangible, True) is ServiceStatus.planned
    assert initial_status(ServiceKind.in_kind, False) is ServiceStatus.planned
    with pytest.raises(InvalidPlan):
        check_service(ServiceKind.cash, None, 3)
    check_service(ServiceKind.intangible, None, None)
    check_can_plan(Stage.planning)
    check_can_plan(Stage.delivery)
    for stage in (Stage.intake, Stage.conference, Stage.closed):
        with pytest.raises(InvalidPlan):
            check_can_plan(stage)
    with pytest.raises(InvalidPlan):
        check_can_deliver(Stage.planning)


def test_monitoring_is_overdue_after_the_interval_in_delivery_only() -> None:
    now = datetime(2026, 11, 23, tzinfo=UTC)
    assert is_monitoring_overdue(Stage.delivery, now - timedelta(days=31), now)
    assert not is_monitoring_overdue(Stage.delivery, now - timedelta(days=29), now)
    assert not is_monitoring_overdue(Stage.planning, now - timedelta(days=90), now)


def test_integrated_conferences_need_agency_people() -> None:
    staff = Participant("김", "희망복지지원팀")
    validate_conference(ConferenceKind.internal, [staff], 1)
    with pytest.raises(InvalidConference):
        validate_conference(ConferenceKind.integrated, [staff], 1)
    validate_conference(ConferenceKind.integrated, [staff, Participant("이", "복지관", "ag-1")], 1)
    with pytest.raises(InvalidConference):
        validate_conference(ConferenceKind.internal, [staff], 0)


CASE = CaseScope("sinsa", "cm-1", frozenset({"ag-1"}))
DV = CaseScope("sinsa", "cm-1", frozenset({"ag-1"}), restricted=True)


@pytest.mark.parametrize(
    ("viewer", "case", "readable"),
    [
        (Viewer("a", Role.district_admin), CASE, True),
        (Viewer("a", Role.district_admin), DV, False),
        (Viewer("a", Role.district_admin, restricted_clearance=True), DV, True),
        (Viewer("cm-1", Role.case_manager), CASE, True),
        (Viewer("cm-2", Role.case_manager), CASE, False),
        (Viewer("cm-2", Role.case_manager, frozenset({"sinsa"})), CASE, True),
        (Viewer("d", Role.dong_officer, frozenset({"yeoksam"})), CASE, False),
        (Viewer("d", Role.dong_officer, frozenset({"*"})), CASE, True),
        (Viewer("p", Role.partner_agency, frozenset({"*"}), "ag-2"), CASE, False),
        (Viewer("p", Role.partner_agency, frozenset(), "ag-1"), CASE, True),
        (Viewer("p", Role.partner_agency, frozenset(), None), CASE, False),
        (Viewer("h", Role.hotline_counsellor, frozenset({"*"})), CASE, False),
    ],
)
def test_read_scope(viewer: Viewer, case: CaseScope, readable: bool) -> None:
    assert can_read(viewer, case) is readable


def test_auditors_and_partners_write_little() -> None:
    auditor = Viewer("x", Role.auditor)
    assert may(auditor, Action.read) and not any(may(auditor, a) for a in Action if a is not Action.read)
    partner = Viewer("p", Role.partner_agency, agency_id="ag-1")
    assert {a for a in Action if may(partner, a)} == {Action.read, Action.deliver, Action.monitor}
    officer = Viewer("d", Role.dong_officer)
    assert may(officer, Action.follow_up) and not may(officer, Action.transition)
