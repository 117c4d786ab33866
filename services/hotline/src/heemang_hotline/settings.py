"""Settings of the hotline service: the common fragments plus its own knobs (prefix HOTLINE_)."""

from __future__ import annotations

from datetime import time
from typing import ClassVar, Literal

from pydantic import Field, model_validator

from heemang_common.settings import ServiceSettings, service_settings_config

DEFAULT_CATEGORIES = (
    "general_welfare",
    "low_income",
    "women_family",
    "disability",
    "health",
    "housing",
    "disaster_relief",
    "check_in",
    "other",
)


class Settings(ServiceSettings):
    model_config = service_settings_config("HOTLINE_")

    service_name: ClassVar[str] = "hotline"
    default_port: ClassVar[int] = 8004

    #: Consultation categories (codes), configurable per call centre (HOTLINE_CATEGORIES,
    #: a JSON list). Defaults follow the 통통복지콜센터 log: 복지일반, 저소득층지원,
    #: 여성과가족, 장애인복지, 보건의료, 주거/임대주택, 재난지원금, 안부확인, 기타.
    categories: list[str] = Field(default_factory=lambda: list(DEFAULT_CATEGORIES))

    #: `local` records messages in the database (make run, tests); `http` is the SMS gateway.
    sms_provider: Literal["local", "http"] = "local"
    sms_url: str = ""
    sms_api_key: str = ""
    sms_sender: str = ""  # the registered sender number (발신번호)
    sms_rate_per_s: float = 20.0
    sms_timeout_s: float = 10.0

    #: Consecutive missed check-ins that raise checkin.missed (one more makes it urgent).
    checkin_consecutive_misses: int = Field(2, ge=1)
    quiet_hours_start: time = time(21, 0)  # KST; no calls or messages until quiet_hours_end
    quiet_hours_end: time = time(8, 0)

    @model_validator(mode="after")
    def _http_provider_is_configured(self) -> Settings:
        if self.sms_provider == "http" and not (self.sms_url and self.sms_api_key and self.sms_sender):
            raise ValueError("HOTLINE_SMS_URL, HOTLINE_SMS_API_KEY and HOTLINE_SMS_SENDER are required")
        return self
