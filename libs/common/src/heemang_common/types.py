"""Request field types that accept only what their JSON form is.

FastAPI validates the decoded JSON in pydantic's lax Python mode, where ``0`` is a valid
date (1970-01-01) and ``1`` a valid ``true``. A request that says ``"starts_on": 0`` is a
client bug, and accepting it would store a date nobody meant; these types refuse it.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator, StrictBool, StrictInt

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _iso_only(kind: type, form: re.Pattern[str], what: str) -> Any:
    def check(value: Any) -> Any:
        if isinstance(value, kind) or (isinstance(value, str) and form.match(value)):
            return value
        raise ValueError(f"{what} must be written in ISO 8601 form")

    return check


IsoDate = Annotated[date, BeforeValidator(_iso_only(date, _ISO_DATE, "a date (YYYY-MM-DD)"))]
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_only(datetime, _ISO_DATETIME, "a date-time"))]
#: A date-time with its zone (``...Z`` or ``+09:00``), in ISO form only.
IsoAwareDateTime = Annotated[
    AwareDatetime, BeforeValidator(_iso_only(datetime, _ISO_DATETIME, "a date-time"))
]

__all__ = ["IsoAwareDateTime", "IsoDate", "IsoDateTime", "StrictBool", "StrictInt"]
