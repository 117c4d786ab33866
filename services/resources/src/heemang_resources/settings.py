"""Settings of the resources service: the common fragments plus its own knobs (prefix RESOURCES_)."""

from __future__ import annotations

from typing import ClassVar

from heemang_common.settings import ServiceSettings, service_settings_config


class Settings(ServiceSettings):
    model_config = service_settings_config("RESOURCES_")

    service_name: ClassVar[str] = "resources"
    default_port: ClassVar[int] = 8003
