"""Pure rules: scope, duplicate links, the red-postbox token bucket, RRN redaction."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from heemang_common.auth import Clearance, Principal, Role
from heemang_common.errors import Forbidden, NotFound
from heemang_intake.domain import access, rrn
from heemang_intake.domain import duplicates as dup
from heemang_intake.domain.ratelimit import TokenBuckets


def who(
    role: Role, dongs: tuple[str, ...] = (), *clearances: Clearance, agency: str | None = None
) -> Principal:
    return Principal("u", "u", role, frozenset(dongs), agency, frozenset(clearances), mfa=True)


def test_dong_officer_scope_and_district_roles() -> None:
    officer = who(Role.DONG_OFFICER, ("sinsa",))
    access.check_household(officer, "sinsa", restricted=False)
    with pytest.raises(Forbidden):
        access.check_household(officer, "yeoksam1", restricted=False)
    for role in (Role.CASE_MANAGER, Role.SUPERVISOR, Role.DISTRICT_ADMIN):
        access.check_household(who(role), "yeoksam1", restricted=False)
        assert access.scope_of(who(role)).dongs is None
    assert access.scope_of(officer).dongs == frozenset({"sinsa"})
    assert access.scope_of(who(Role.DONG_OFFICER, ("*",))).dongs is None
    for role in (Role.AUDITOR, Role.HOTLINE_COUNSELLOR, Role.RESOURCE_OFFICER, Role.PARTNER_AGENCY):
        with pytest.raises(Forbidden):
            access.check_household(who(role, ("*",)), "sinsa", restricted=False)


def test_restricted_records_do_not_exist_without_clearance() -> None:
    with pytest.raises(NotFound):
        access.check_household(who(Role.DISTRICT_ADMIN), "sinsa", restricted=True)
    access.check_household(who(Role.DISTRICT_ADMIN, (), Clearance.RESTRICTED), "sinsa", restricted=True)
    with pytest.raises(NotFound):
        access.check_referral(who(Role.CASE_MANAGER), dong="sinsa", restricted=True, submitted_by_agency=None)


def test_partner_sees_only_its_agency() -> None:
    partner = who(Role.PARTNER_AGENCY, agency="ag-1")
    access.check_referral(partner, dong="sinsa", restricted=False, submitted_by_agency="ag-1")
    with pytest.raises(NotFound):
        access.check_referral(partner, dong="sinsa", restricted=False, submitted_by_agency="ag-2")
    with pytest.raises(NotFound):
        access.check_referral(
            who(Role.PARTNER_AGENCY), dong="sinsa", restricted=False, submitted_by_agency=None
        )
    assert access.scope_of(partner).agency_id == "ag-1"


def test_reveal_needs_clearance_and_mfa() -> None:
    access.check_reveal(who(Role.SUPERVISOR, (), Clearance.RRN_REVEAL))
    with pytest.raises(Forbidden):
        access.check_reveal(who(Role.SUPERVISOR))
    no_mfa = Principal("u", "u", Role.SUPERVISOR, clearances=frozenset({Clearance.RRN_REVEAL}), mfa=False)
    with pytest.raises(Forbidden):
        access.check_reveal(no_mfa)


def test_visible_dongs_intersects_the_request_with_the_scope() -> None:
    scope = access.Scope(dongs=frozenset({"a", "b"}), restricted=False)
    assert access.visible_dongs(scope, ["b", "c"]) == frozenset({"b"})
    assert access.visible_dongs(scope, None) == frozenset({"a", "b"})
    assert access.visible_dongs(access.Scope(None, False), ["c"]) == frozenset({"c"})


def test_open_case_wins_over_open_referral_and_reason_says_how() -> None:
    case, referral = uuid.uuid4(), uuid.uuid4()
    link = dup.link_for(dup.MatchedBy.rrn, case, referral)
    assert link is not None and link.case_id == case and link.kind == "case"
    assert "resident registration number" in link.reason() and str(case) in link.reason()
    only_referral = dup.link_for(dup.MatchedBy.name_birth_address, None, referral)
    assert only_referral is not None and only_referral.kind == "referral"
    assert "name, birth date and address" in only_referral.reason()
    assert dup.link_for(dup.MatchedBy.rrn, None, None) is None
    assert dup.normalise_address(" 서울  강남구, 개포로 12 ") == dup.normalise_address(
        "서울 강남구 개포로 12"
    )


def test_token_bucket_burst_then_rate_and_bounded_keys() -> None:
    buckets = TokenBuckets(rate_per_minute=6, burst=2, max_keys=3)
    assert buckets.take("a", 0.0) == 0 and buckets.take("a", 0.0) == 0
    wait = buckets.take("a", 0.0)
    assert wait == pytest.approx(10.0)
    assert buckets.take("a", 10.0) == 0  # one token refilled after 10 s at 6/min
    assert buckets.take("b", 0.0) == 0  # another address has its own bucket
    for key in "cdef":
        buckets.take(key, 11.0)
    assert len(buckets._buckets) == 3


def test_redact_masks_valid_rrns_in_free_text_only() -> None:
    number = rrn.make(date(1970, 3, 4), "2", "13579")
    text = f"본인 {number}, 붙여서 {number.replace('-', '')}, 전화 010-1234-5678, 계좌 123456-1234567"
    redacted = rrn.redact(text)
    assert number not in redacted and number.replace("-", "") not in redacted
    assert redacted.count("700304-2******") == 2
    assert "010-1234-5678" in redacted
    assert "123456-1234567" in redacted  # not a valid RRN (no such birth date 12-34-56)
