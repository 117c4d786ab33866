"""Settings of the hotline service: the common fragments plus its own knobs (prefix HOTLINE_)."""

from __future__ import annotations

from typing import ClassVar

from heemang_common.settings import ServiceSettings, service_settings_config


class Settings(ServiceSettings):
    model_config = service_settings_config("HOTLINE_")

    service_name: ClassVar[str] = "hotline"
    default_port: ClassVar[int] = 8004
