"""SMS rules (pure): message kind by size, retry schedule, the provider rate limit."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

#: Korean carriers count bytes in EUC-KR (a Hangul syllable is 2 bytes): up to 90 bytes is
#: a short SMS, up to 2,000 bytes an LMS; longer bodies are refused rather than truncated.
SMS_MAX_BYTES = 90
LMS_MAX_BYTES = 2000


class Kind(StrEnum):
    sms = "sms"
    lms = "lms"


class MessageTooLong(ValueError):
    pass


def byte_length(body: str) -> int:
    return len(body.encode("euc-kr", errors="replace"))


def kind_for(body: str) -> Kind:
    size = byte_length(body)
    if size <= SMS_MAX_BYTES:
        return Kind.sms
    if size <= LMS_MAX_BYTES:
        return Kind.lms
    raise MessageTooLong(f"{size} bytes; an LMS holds at most {LMS_MAX_BYTES}")


def retry_delay_s(attempt: int, base_s: float = 1.0, cap_s: float = 300.0) -> float:
    """Delay before retry number ``attempt`` (1-based) of a transient failure."""
    return float(min(base_s * 2 ** (attempt - 1), cap_s))


@dataclass
class TokenBucket:
    """At most ``rate_per_s`` sends a second on average, bursts up to ``burst``; time is
    passed in so the rule stays pure and testable."""

    rate_per_s: float
    burst: float
    tokens: float = field(init=False)
    updated: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self.tokens = self.burst

    def take(self, now: float) -> float:
        """Take one token; return 0 if it was there, else how long to wait for it."""
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate_per_s)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate_per_s
