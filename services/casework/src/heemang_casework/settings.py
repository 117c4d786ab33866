"""Settings of the casework service: the common fragments plus its own knobs (prefix CASEWORK_)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from heemang_common.settings import ServiceSettings, service_settings_config


class Settings(ServiceSettings):
    model_config = service_settings_config("CASEWORK_")

    service_name: ClassVar[str] = "casework"
    default_port: ClassVar[int] = 8002

    followup_scheduler: bool = Field(True, description="Run the follow-up scheduler in this process")
    followup_interval_s: float = Field(60.0, gt=0, description="Seconds between scheduler rounds")
    followup_batch_size: int = Field(100, ge=1, le=10_000, description="Follow-ups claimed per transaction")
