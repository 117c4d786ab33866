"""Settings of the gateway service: the common fragments plus its own knobs (prefix GATEWAY_)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

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

    # --- Partner webhooks (GATEWAY_WEBHOOK_…; see docs/webhooks.md) ---
    #: Allow loopback/private targets: development and tests only (SSRF guard off).
    webhook_allow_private_targets: bool = False
    webhook_timeout_s: float = Field(default=15.0, gt=0, le=30)
    #: Delay before each attempt (Standard Webhooks example schedule), jittered ±jitter.
    webhook_retry_schedule_s: list[float] = Field(
        default_factory=lambda: [0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0], min_length=1
    )
    webhook_retry_jitter: float = Field(default=0.10, ge=0, le=0.5)
    webhook_max_retry_after_s: float = 36000
    webhook_dispatcher_enabled: bool = True
    webhook_poll_interval_s: float = Field(default=1.0, gt=0)
    webhook_batch_size: int = Field(default=50, ge=1)
    #: A claimed delivery is another replica's to retry after this (must exceed the timeout).
    webhook_lease_s: float = Field(default=90.0, gt=0)
    webhook_disable_after_failing_s: float = 5 * 24 * 3600
    webhook_disable_after_exhausted: int = Field(default=5, ge=1)
    webhook_log_retention_days: int = Field(default=90, ge=1)
    #: base64 of 32 bytes: seals the partners' signing secrets at rest (AES-256-GCM).
    webhook_secret_key: str = ""
    webhook_secret_overlap_s: float = Field(default=24 * 3600, ge=0, le=7 * 24 * 3600)
