"""Who may see and change a case (pure rules, no I/O).

A case is assigned to a main case manager (통합사례관리사), a 동 and any number of partner
agencies. Decisions (docs/casework.md, "Scope"):

- **District-wide roles** (district admin, supervisor / 단장, auditor) read every case.
- **Case managers** read the cases assigned to them *and* the cases of the 동s in their token:
  the 희망복지지원단 works 권역 by 권역 with the 동s, and a colleague's case in the same 동 must be
  reachable when she is away (a missed check-in cannot wait). A case manager whose token says
  ``*`` works district-wide.
- **동 officers** read the cases of their 동s (they run the 사후관리 follow-ups).
- **Partner agencies** read ONLY the cases their agency is assigned to, never by 동.
- **Hotline counsellors and resource officers** read no case: they have their own records and
  act on events (alerts, service requests); need to know.
- **Restricted cases** (domestic violence) need ``Clearance.RESTRICTED`` on top, whatever the
  role — an admin without it does not see them either.

What each role may *do* once it can read the case is a table per action (``ACTION_ROLES``).
A case outside the caller's read scope is answered as "not found" (its existence is not
disclosed); a readable case with an action the role may not take is "forbidden".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

ALL_DONGS = "*"


class Role(StrEnum):
    """The gateway's roles (mirrors heemang_common.auth.Role without importing FastAPI)."""

    district_admin = "district_admin"
    supervisor = "supervisor"
    case_manager = "case_manager"
    dong_officer = "dong_officer"
    hotline_counsellor = "hotline_counsellor"
    resource_officer = "resource_officer"
    partner_agency = "partner_agency"
    auditor = "auditor"


DISTRICT_WIDE = frozenset({Role.district_admin, Role.supervisor, Role.auditor})


class Action(StrEnum):
    read = "read"  # the case, its timeline, assessments, plan, deliveries, alerts
    transition = "transition"  # move the case to another stage
    assign = "assign"  # case manager, 동, partner agencies, restricted flag
    assess = "assess"  # needs and crisis assessment
    plan = "plan"  # goals and planned services, requests to resources
    conference = "conference"  # record a case conference about the case
    deliver = "deliver"  # record a service delivered
    monitor = "monitor"  # monitoring notes, goal progress
    follow_up = "follow_up"  # record a follow-up's outcome, reopen
    acknowledge = "acknowledge"  # take an alert off the work list


_CASEWORK = frozenset({Role.district_admin, Role.supervisor, Role.case_manager})
ACTION_ROLES: dict[Action, frozenset[Role]] = {
    Action.read: frozenset(Role) - {Role.hotline_counsellor, Role.resource_officer},
    Action.transition: _CASEWORK,
    Action.assign: _CASEWORK,
    Action.assess: _CASEWORK,
    Action.plan: _CASEWORK,
    Action.conference: _CASEWORK,
    # Partner agencies deliver services and report on them for the cases assigned to them.
    Action.deliver: _CASEWORK | {Role.partner_agency},
    Action.monitor: _CASEWORK | {Role.dong_officer, Role.partner_agency},
    # 사후관리 is the 동's job (seed 002: "사후관리(동주민센터)").
    Action.follow_up: _CASEWORK | {Role.dong_officer},
    Action.acknowledge: _CASEWORK | {Role.dong_officer},
}


@dataclass(frozen=True)
class Viewer:
    """The caller, as the rules need it."""

    subject: str
    role: Role
    dongs: frozenset[str] = frozenset()
    agency_id: str | None = None
    restricted_clearance: bool = False

    @property
    def district_wide(self) -> bool:
        if self.role is Role.partner_agency:
            return False
        return self.role in DISTRICT_WIDE or ALL_DONGS in self.dongs


@dataclass(frozen=True)
class CaseScope:
    """The facts of a case the rules look at."""

    dong: str
    case_manager_id: str | None = None
    agencies: frozenset[str] = field(default_factory=frozenset)
    restricted: bool = False


def can_read(viewer: Viewer, case: CaseScope) -> bool:
    if case.restricted and not viewer.restricted_clearance:
        return False
    if viewer.role not in ACTION_ROLES[Action.read]:
        return False
    if viewer.role is Role.partner_agency:
        return viewer.agency_id is not None and viewer.agency_id in case.agencies
    if viewer.district_wide:
        return True
    if viewer.role is Role.case_manager and case.case_manager_id == viewer.subject:
        return True
    return case.dong in viewer.dongs


def may(viewer: Viewer, action: Action) -> bool:
    """Whether the role may take ``action`` at all (on a case it can read)."""
    return viewer.role in ACTION_ROLES[action]
