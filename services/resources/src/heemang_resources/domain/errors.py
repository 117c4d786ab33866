"""The resources domain's errors; the app factory renders them as problem+json.

Status choices: a request that can never succeed as written is 422 (`Invalid`); one that is
well formed but clashes with the ledger's current state is 409 (`Conflict`). Idempotency-key
reuse with another body is 422, as the IETF Idempotency-Key draft (§2.7) prescribes; an
in-flight duplicate (409, retryable) belongs to the persistence increment.
"""

from __future__ import annotations

from heemang_common.errors import Conflict, Invalid


class InvalidEntry(Invalid):
    """A malformed journal entry or posting: float/bool/non-positive amount, < 2 lines…"""

    problem = "invalid-entry"
    title = "Invalid journal entry"


class Unbalanced(InvalidEntry):
    problem = "unbalanced-entry"
    title = "Debits and credits differ"


class UnknownAccount(Invalid):
    problem = "unknown-account"
    title = "Unknown account"


class UnknownEntry(Invalid):
    """A reversal names an entry the ledger does not hold."""

    problem = "unknown-entry"
    title = "Unknown journal entry"


class InvalidReversal(Invalid):
    problem = "invalid-reversal"
    title = "Not a mirror of the entry it reverses"


class IdempotencyConflict(Invalid):
    """The key was used before with another body (TigerBeetle's `exists_with_different_*`)."""

    problem = "idempotency-key-reused"
    title = "Idempotency key reused with a different body"


class Overdraft(Conflict):
    problem = "overdraft"
    title = "Insufficient balance"


class DuplicateEntry(Conflict):
    """Another entry already has this id (under another idempotency key)."""

    problem = "duplicate-entry"
    title = "Duplicate journal entry"


class AlreadyReversed(Conflict):
    problem = "already-reversed"
    title = "Entry already reversed"


class AccountExists(Conflict):
    """An account code is already open with a different definition."""

    problem = "account-exists"
    title = "Account already exists"


class InvalidCareRequest(Invalid):
    problem = "invalid-care-request"
    title = "Invalid care SOS request"


class InvalidCampaign(Invalid):
    problem = "invalid-campaign"
    title = "Invalid campaign or donation"
