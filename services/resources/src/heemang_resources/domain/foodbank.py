"""Food bank (푸드뱅크·마켓) stock rules: first expiring, first out; expired goods never go out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from heemang_common.errors import Conflict


class InsufficientStock(Conflict):
    problem = "insufficient-stock"
    title = "Not enough usable stock of this item"


@dataclass(frozen=True)
class Lot:
    id: str
    remaining: int
    unit_value: int
    expires_on: date | None


@dataclass(frozen=True)
class Take:
    lot_id: str
    quantity: int
    value: int


def usable(lot: Lot, on: date) -> bool:
    return lot.remaining > 0 and (lot.expires_on is None or lot.expires_on >= on)


def pick(lots: Iterable[Lot], quantity: int, on: date) -> list[Take]:
    """Take `quantity` units from usable lots, earliest expiry first (no expiry last)."""
    order = sorted(
        (x for x in lots if usable(x, on)), key=lambda x: (x.expires_on is None, x.expires_on, x.id)
    )
    takes: list[Take] = []
    left = quantity
    for lot in order:
        if left == 0:
            break
        n = min(left, lot.remaining)
        takes.append(Take(lot.id, n, n * lot.unit_value))
        left -= n
    if left:
        raise InsufficientStock(f"{quantity - left} usable of {quantity} asked", available=quantity - left)
    return takes


def expiring(lots: Iterable[Lot], on: date, until: date) -> list[Lot]:
    """Lots with stock left that expire by `until` (already expired ones included: they need a write-off)."""
    return sorted(
        (x for x in lots if x.remaining > 0 and x.expires_on is not None and x.expires_on <= until),
        key=lambda x: (x.expires_on, x.id),
    )
