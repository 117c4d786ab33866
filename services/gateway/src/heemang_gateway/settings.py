"""Settings of the gateway service: the common fragments plus its own knobs (prefix GATEWAY_)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from heemang_common.settings import VAR_DIR, ServiceSettings, service_settings_config


class Settings(ServiceSettings):
    # Keys are secrets: a validation error must not print the values it was given.
    model_config = SettingsConfigDict(**service_settings_config("GATEWAY_"), hide_input_in_errors=True)

    service_name: ClassVar[str] = "gateway"
    default_port: ClassVar[int] = 8000

    intake_url: str = "http://127.0.0.1:8001"
    casework_url: str = "http://127.0.0.1:8002"
    resources_url: str = "http://127.0.0.1:8003"
    hotline_url: str = "http://127.0.0.1:8004"
    upstream_timeout_s: float = 3.0

    # --- Tokens. The signing key is an Ed25519 private key (PEM). Empty: development
    # generates one into signing_key_file and keeps it; production refuses to start.
    signing_key: SecretStr = Field(default=SecretStr(""), description="PEM Ed25519 private key")
    signing_key_id: str = Field(default="", description="kid of signing_key (default: its thumbprint)")
    signing_key_file: str = str(VAR_DIR / "gateway-signing-key.pem")
    #: Public keys of retired signing keys, still published in the JWKS while their tokens live.
    previous_public_jwks: str = Field(default="", description='JWKS JSON {"keys": [...]} of retired keys')
    access_token_ttl_s: int = Field(default=300, ge=30, le=3600)
    refresh_token_ttl_s: int = Field(default=12 * 3600, ge=300)
    idle_timeout_s: int = Field(default=30 * 60, ge=60, description="Idle sessions expire (기준 제6조)")
    max_failed_logins: int = Field(default=5, ge=1, le=20)
    totp_issuer: str = "Heemang"
    #: AES key (base64, 32 bytes) that encrypts TOTP secrets at rest. Empty: derived placeholder
    #: in development, refused in production.
    totp_encryption_key: SecretStr = SecretStr("")

    # --- Optional external OpenID Connect provider (the district's SSO). The provider says who
    # the person is; role and scope still come from the gateway's user of that username.
    oidc_issuer: str = ""
    oidc_client_id: str = Field(default="", description="The audience our ID tokens are issued for")
    oidc_jwks_url: str = ""
    oidc_jwks: str = Field(default="", description="The provider's JWKS given inline instead of the URL")
    oidc_username_claim: str = "preferred_username"

    # --- Frontends and clients.
    cors_origins: str = Field(default="", description="Comma list of frontend origins allowed by CORS")
    rate_limit_per_minute: int = Field(default=600, ge=1, description="Requests a minute per user")
    partner_rate_limit_per_minute: int = Field(default=120, ge=1, description="Per partner agency")
    live_heartbeat_s: float = Field(default=15.0, gt=0, description="SSE keep-alive comment interval")
    view_part_timeout_s: float = Field(default=2.0, gt=0, description="Per service, in aggregated views")

    # --- Access log (접속기록): how long entries are kept. The law asks for ≥ 2 years.
    access_log_retention_days: int = Field(default=730, ge=730)
    permission_log_retention_days: int = Field(default=1095, ge=1095)

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

    @model_validator(mode="after")
    def _production_secrets(self) -> Settings:
        if self.environment == "production":
            if not self.signing_key.get_secret_value():
                raise ValueError("GATEWAY_SIGNING_KEY must be set outside development")
            if not self.totp_encryption_key.get_secret_value():
                raise ValueError("GATEWAY_TOTP_ENCRYPTION_KEY must be set outside development")
            if not self.webhook_secret_key:
                raise ValueError("GATEWAY_WEBHOOK_SECRET_KEY must be set outside development")
        return self
