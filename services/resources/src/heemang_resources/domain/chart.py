"""The chart of accounts as data: which code shapes belong to which account kind.

An account opened through the API names its kind and its code; the code must have the shape
the kind prescribes (docs/resources.md, "Chart of accounts"), so reports that group accounts
by prefix (budget lines by source, wallets by programme) can trust the prefix.
"""

from __future__ import annotations

import re

from heemang_resources.domain.errors import InvalidEntry
from heemang_resources.domain.ledger import Account, AccountKind, FundingSource

_SEG = r"[A-Za-z0-9_.\-]+"
_SOURCES = "|".join(s.value for s in FundingSource)

SHAPES: dict[AccountKind, re.Pattern[str]] = {
    AccountKind.general_fund: re.compile(r"^fund:general$"),
    AccountKind.designated_fund: re.compile(rf"^fund:designated:(household|programme):{_SEG}$"),
    AccountKind.campaign_fund: re.compile(rf"^fund:campaign:{_SEG}$"),
    AccountKind.budget_line: re.compile(rf"^budget:{_SEG}:({_SOURCES})$"),
    AccountKind.voucher_wallet: re.compile(rf"^wallet:{_SEG}:{_SEG}$"),
    AccountKind.in_kind_stock: re.compile(rf"^stock:{_SEG}$"),
    AccountKind.donations_received: re.compile(r"^ext:donations:(cash|goods)$"),
    AccountKind.appropriation: re.compile(rf"^ext:appropriation:({_SOURCES})$"),
    AccountKind.disbursed: re.compile(rf"^ext:disbursed:{_SEG}$"),
    AccountKind.distributed_in_kind: re.compile(rf"^ext:distributed:{_SEG}$"),
    AccountKind.voucher_redeemed: re.compile(rf"^ext:redeemed:{_SEG}$"),
    AccountKind.written_off: re.compile(rf"^ext:written_off:{_SEG}$"),
}

MAX_CODE = 200


def account_of(kind: AccountKind, code: str) -> Account:
    """The account `code` names, checked against the shape of `kind`. A budget line's
    funding source is its last segment, so it cannot disagree with the code."""
    if len(code) > MAX_CODE or not SHAPES[kind].match(code):
        raise InvalidEntry(f"{code!r} is not a {kind.value} account code", code=code, kind=kind.value)
    source = FundingSource(code.rsplit(":", 1)[1]) if kind is AccountKind.budget_line else None
    return Account(code, kind, source)


def kind_of(code: str) -> AccountKind | None:
    """The kind whose shape `code` has, if any (shapes do not overlap)."""
    for kind, shape in SHAPES.items():
        if shape.match(code):
            return kind
    return None
