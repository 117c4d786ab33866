"""Settings of the hotline service: the common fragments plus its own knobs (prefix HOTLINE_)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

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
