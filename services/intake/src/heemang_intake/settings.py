"""Settings of the intake service: the common fragments plus its own knobs (prefix INTAKE_)."""

from __future__ import annotations

from typing import ClassVar

from heemang_common.settings import ServiceSettings, service_settings_config


class Settings(ServiceSettings):
    model_config = service_settings_config("INTAKE_")

    service_name: ClassVar[str] = "intake"
    default_port: ClassVar[int] = 8001
