"""Opaque keyset cursors: base64url JSON of the last row's sort key. Keyset (not offset)
pagination keeps pages stable while new referrals arrive at the top of the queue."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime
from typing import Any

from heemang_common.errors import Invalid


def encode(values: list[Any]) -> str:
    raw = json.dumps(values, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, length: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise Invalid("The cursor is not one this API issued.") from None
    if not isinstance(values, list) or len(values) != length:
        raise Invalid("The cursor is not one this API issued.")
    return values


def as_datetime(value: object) -> datetime:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        raise Invalid("The cursor is not one this API issued.") from None


def as_uuid(value: object) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise Invalid("The cursor is not one this API issued.") from None


def as_int(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise Invalid("The cursor is not one this API issued.")
    return value
