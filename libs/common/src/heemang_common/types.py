"""Request field types that accept only what their JSON form is.

FastAPI validates the decoded JSON in pydantic's lax Python mode, where ``0`` is a valid
date (1970-01-01) and ``1`` a valid ``true``. A request that says ``"starts_on": 0`` is a
client bug, and accepting it would store a date nobody meant; these types refuse it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, StrictBool, StrictInt


def _text_or_value(kind: type, what: str) -> Any:
    def check(value: Any) -> Any:
        if isinstance(value, (str, kind)):
            return value
        raise ValueError(f"{what} must be a string in ISO 8601 form")

    return check


IsoDate = Annotated[date, BeforeValidator(_text_or_value(date, "a date (YYYY-MM-DD)"))]
IsoDateTime = Annotated[datetime, BeforeValidator(_text_or_value(datetime, "a date-time"))]

__all__ = ["IsoDate", "IsoDateTime", "StrictBool", "StrictInt"]
