"""Settings of the casework service: the common fragments plus its own knobs (prefix CASEWORK_)."""

from __future__ import annotations

from typing import ClassVar

from heemang_common.settings import ServiceSettings, service_settings_config


class Settings(ServiceSettings):
    model_config = service_settings_config("CASEWORK_")

    service_name: ClassVar[str] = "casework"
    default_port: ClassVar[int] = 8002
