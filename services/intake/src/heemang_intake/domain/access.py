"""Who may see and change which intake records (pure: no I/O).

Roles and their scope in intake (the gateway checks too; this is the service's own check):

| role | households / referrals |
| --- | --- |
| district_admin, supervisor, case_manager | the whole district |
| dong_officer | the 동s in the token (``*`` = all) |
| partner_agency | only referrals its agency submitted; never the register |
| hotline_counsellor, resource_officer, auditor | nothing (hotline refers by event; auditors: gateway log) |

Restricted records (police 112 domestic-violence referrals and the households they name)
need ``Clearance.RESTRICTED`` on top of the scope; without it they do not exist for the
caller (404 on a read, absent from lists), so their existence does not leak either.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from heemang_common.auth import ALL_DONGS, Clearance, Principal, Role
from heemang_common.errors import Forbidden, NotFound

#: Intake's staff: they read and write the register and referrals within their scope.
REGISTER_ROLES = (Role.DISTRICT_ADMIN, Role.SUPERVISOR, Role.CASE_MANAGER, Role.DONG_OFFICER)
#: Roles whose intake scope is the whole district (case managers work across 동s).
DISTRICT_ROLES = frozenset({Role.DISTRICT_ADMIN, Role.SUPERVISOR, Role.CASE_MANAGER})
#: Roles that may submit referrals.
REFERRING_ROLES = (*REGISTER_ROLES, Role.PARTNER_AGENCY)
#: Roles that may decide on referrals (accept, link, reject) and assign them.
DECIDING_ROLES = REGISTER_ROLES


@dataclass(frozen=True)
class Scope:
    """What a principal's list queries are filtered by. ``dongs`` None = every 동."""

    dongs: frozenset[str] | None
    restricted: bool
    agency_id: str | None = None  # partner: only referrals of this agency


def district_wide(principal: Principal) -> bool:
    return principal.role in DISTRICT_ROLES or ALL_DONGS in principal.dongs


def scope_of(principal: Principal) -> Scope:
    restricted = principal.has(Clearance.RESTRICTED)
    if principal.role == Role.PARTNER_AGENCY:
        return Scope(dongs=frozenset(), restricted=restricted, agency_id=principal.agency_id or "")
    return Scope(dongs=None if district_wide(principal) else principal.dongs, restricted=restricted)


def require_register_role(principal: Principal) -> None:
    principal.require_role(*REGISTER_ROLES)


def sees_dong(principal: Principal, dong: str) -> bool:
    if principal.role == Role.PARTNER_AGENCY:
        return False
    return district_wide(principal) or dong in principal.dongs


def check_household(principal: Principal, dong: str, restricted: bool, what: str = "household") -> None:
    """A household is readable when in the caller's 동 scope; a restricted one only with
    the clearance (else it is reported as not found, not as forbidden)."""
    require_register_role(principal)
    if restricted and not principal.has(Clearance.RESTRICTED):
        raise NotFound(f"{what} not found")
    if not sees_dong(principal, dong):
        raise Forbidden("This record is outside your 동 scope.")


def check_referral(
    principal: Principal, *, dong: str, restricted: bool, submitted_by_agency: str | None
) -> None:
    """Staff within their 동 scope; a partner only its own agency's referrals."""
    if restricted and not principal.has(Clearance.RESTRICTED):
        raise NotFound("referral not found")
    if principal.role == Role.PARTNER_AGENCY:
        if not principal.agency_id or principal.agency_id != submitted_by_agency:
            raise NotFound("referral not found")
        return
    require_register_role(principal)
    if not sees_dong(principal, dong):
        raise Forbidden("This referral is outside your 동 scope.")


def check_write_dong(principal: Principal, dong: str) -> None:
    """Creating or moving a record into a 동 needs that 동 in scope."""
    if not sees_dong(principal, dong):
        raise Forbidden(f"동 {dong!r} is outside your 동 scope.")


def check_reveal(principal: Principal) -> None:
    """The full RRN: staff with the RRN_REVEAL clearance in a session that passed MFA."""
    require_register_role(principal)
    if not principal.has(Clearance.RRN_REVEAL):
        raise Forbidden("Revealing an RRN needs the rrn_reveal clearance.")
    if not principal.mfa:
        raise Forbidden("Revealing an RRN needs a session that passed a second factor (MFA).")


def visible_dongs(scope: Scope, requested: Collection[str] | None) -> frozenset[str] | None:
    """The 동 filter of a list: the requested ones within scope (None = no filter)."""
    if scope.dongs is None:
        return frozenset(requested) if requested else None
    if requested:
        return scope.dongs & frozenset(requested)
    return scope.dongs
