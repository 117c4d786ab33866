"""Settings of the resources service: the common fragments plus its own knobs (prefix RESOURCES_)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from heemang_common.settings import ServiceSettings, service_settings_config


class Settings(ServiceSettings):
    model_config = service_settings_config("RESOURCES_")

    service_name: ClassVar[str] = "resources"
    default_port: ClassVar[int] = 8003

    #: How long an Idempotency-Key is remembered (RELIABILITY.md T10 asks ≥ 24 h).
    idempotency_retention_hours: int = Field(48, ge=24)
    #: An in-flight key older than this belongs to a request that died before committing.
    idempotency_lease_s: float = Field(60.0, gt=0)
    #: How often expired keys are purged.
    idempotency_purge_interval_s: float = Field(3600.0, gt=0)
    #: A TTF font with Hangul for donation receipts; empty: English receipts (see service/receipts.py).
    receipt_font: str = ""
