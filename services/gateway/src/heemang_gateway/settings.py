"""Settings of the gateway service: the common fragments plus its own knobs (prefix GATEWAY_)."""

from __future__ import annotations

from typing import ClassVar

from heemang_common.settings import ServiceSettings, service_settings_config


class Settings(ServiceSettings):
    model_config = service_settings_config("GATEWAY_")

    service_name: ClassVar[str] = "gateway"
    default_port: ClassVar[int] = 8000

    intake_url: str = "http://127.0.0.1:8001"
    casework_url: str = "http://127.0.0.1:8002"
    resources_url: str = "http://127.0.0.1:8003"
    hotline_url: str = "http://127.0.0.1:8004"
    upstream_timeout_s: float = 3.0
