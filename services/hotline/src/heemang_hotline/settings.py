"""Settings of the hotline service: the common fragments plus its own knobs (prefix HOTLINE_)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import time
from typing import ClassVar, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

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


#: Key id of the development placeholder keys (derived from a public string: not secrets).
DEV_KEY_ID = "dev-placeholder"
_DEV_SEED = b"heemang hotline development placeholder - never use in production"


def dev_contact_key() -> bytes:
    return hashlib.sha256(_DEV_SEED + b" contact-aes-key").digest()


def dev_hmac_key() -> bytes:
    return hashlib.sha256(_DEV_SEED + b" contact-hmac-key").digest()


def dev_webhook_secret() -> str:
    return "whsec_" + base64.b64encode(hashlib.sha256(_DEV_SEED + b" sms-webhook").digest()).decode()


def _b64(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{what} is not valid base64") from None


def parse_key_list(raw: str) -> dict[str, bytes]:
    """``HOTLINE_CONTACT_KEYS``: a JSON object ``{"kid": "base64key", …}`` or a comma list
    ``kid:base64key,…``. Keys are 16, 24 or 32 bytes (AES-128/192/256)."""
    raw = raw.strip()
    if not raw:
        return {}
    if raw.startswith("{"):
        loaded = json.loads(raw)
        if not isinstance(loaded, dict):
            raise ValueError("HOTLINE_CONTACT_KEYS JSON must be an object of kid → base64 key")
        pairs = [(str(k), str(v)) for k, v in loaded.items()]
    else:
        pairs = []
        for item in raw.split(","):
            kid, sep, encoded = item.strip().partition(":")
            if not sep:
                raise ValueError("HOTLINE_CONTACT_KEYS items are kid:base64key")
            pairs.append((kid.strip(), encoded.strip()))
    keys: dict[str, bytes] = {}
    for kid, encoded_key in pairs:
        if not kid or ":" in kid or len(kid) > 40 or kid in keys:
            raise ValueError(f"contact key id {kid!r} is empty, too long, has ':' or appears twice")
        key_bytes = _b64(encoded_key, f"contact key {kid!r}")
        if len(key_bytes) not in (16, 24, 32):
            raise ValueError(f"contact key {kid!r} must be 16, 24 or 32 bytes")
        keys[kid] = key_bytes
    return keys


class Settings(ServiceSettings):
    # Keys are secrets: a validation error must not print the values it was given.
    model_config = SettingsConfigDict(**service_settings_config("HOTLINE_"), hide_input_in_errors=True)

    service_name: ClassVar[str] = "hotline"
    default_port: ClassVar[int] = 8004

    #: Consultation categories (codes), configurable per call centre (HOTLINE_CATEGORIES,
    #: a JSON list). Defaults follow the 통통복지콜센터 log: 복지일반, 저소득층지원,
    #: 여성과가족, 장애인복지, 보건의료, 주거/임대주택, 재난지원금, 안부확인, 기타.
    categories: list[str] = Field(default_factory=lambda: list(DEFAULT_CATEGORIES))

    #: `local` records messages in the database (make run, tests); `http` is the SMS gateway.
    sms_provider: Literal["local", "http"] = "local"
    sms_url: str = ""
    sms_api_key: str = ""
    sms_sender: str = ""  # the registered sender number (발신번호)
    sms_rate_per_s: float = 20.0
    sms_timeout_s: float = 10.0

    #: Consecutive missed check-ins that raise checkin.missed (one more makes it urgent).
    checkin_consecutive_misses: int = Field(2, ge=1)
    quiet_hours_start: time = time(21, 0)  # KST; no calls or messages until quiet_hours_end
    quiet_hours_end: time = time(8, 0)

    # Contact numbers at rest (enrolments, subscribers): AES-GCM keys by id, HMAC for look-ups.
    # Empty → development placeholders (refused in production).
    contact_keys: SecretStr = Field(default=SecretStr(""), description="JSON {kid: base64} or kid:b64,…")
    contact_active_key: str = Field(default="", description="kid new numbers are encrypted with")
    contact_hmac_key: SecretStr = Field(default=SecretStr(""), description="base64, ≥ 32 bytes")
    #: Standard Webhooks secret (whsec_…) the SMS gateway signs delivery reports and replies with.
    sms_webhook_secret: SecretStr = Field(default=SecretStr(""))
    #: How long handled callback ids are kept: longer than the gateway's retry span (Standard
    #: Webhooks' example schedule spans 75 h 36 m), so a late retry is still recognised.
    sms_webhook_retention_h: int = Field(96, ge=76)

    #: Run the event consumers (off in tests that do not need them: joining a group is slow).
    consume_events: bool = True

    # The automated check-in scheduler (헬로안심 calls/messages).
    scheduler_enabled: bool = True
    scheduler_interval_s: float = Field(5.0, gt=0)
    scheduler_batch_size: int = Field(200, ge=1)
    scheduler_lease_s: float = Field(120.0, gt=0)  # a claimed slot is retaken after this
    scheduler_plan_days: int = Field(7, ge=1, le=31)
    checkin_max_attempts: int = Field(3, ge=1, le=10)
    checkin_retry_after_min: int = Field(30, ge=1)
    checkin_message: str = (
        "[강남구 복지콜센터] 안부 확인 문자입니다. 괜찮으시면 1, 도움이 필요하시면 2를 답장해 주세요."
    )

    # Notice campaigns (문자 알림): batches through the rate limiter, a daily cost cap.
    campaigns_enabled: bool = True  # run the campaign sender in this process
    campaign_interval_s: float = Field(2.0, gt=0)
    campaign_batch_size: int = Field(500, ge=1)
    campaign_concurrency: int = Field(16, ge=1, le=256)  # sends in flight (the rate limit still holds)
    campaign_lease_s: float = Field(120.0, gt=0)
    campaign_max_attempts: int = Field(3, ge=1, le=10)
    sms_cost_krw: int = Field(9, ge=0)  # per short message
    lms_cost_krw: int = Field(27, ge=0)  # per long message
    #: Most bulk sends may cost in one KST day (check-ins are not counted: safety first).
    sms_daily_cap_krw: int = Field(1_000_000, ge=0)

    # Automatic enrolment of elderly people living alone when their case closes.
    auto_enrol_programme: str = "hello_ansim"
    auto_enrol_weekday: int = Field(2, ge=0, le=6)
    auto_enrol_window_start: time = time(10, 0)
    auto_enrol_window_end: time = time(12, 0)
    auto_enrol_lookback_days: int = Field(30, ge=1)

    @model_validator(mode="after")
    def _http_provider_is_configured(self) -> Settings:
        if self.sms_provider == "http" and not (self.sms_url and self.sms_api_key and self.sms_sender):
            raise ValueError("HOTLINE_SMS_URL, HOTLINE_SMS_API_KEY and HOTLINE_SMS_SENDER are required")
        keys = parse_key_list(self.contact_keys.get_secret_value())
        hmac_raw = self.contact_hmac_key.get_secret_value()
        if self.environment == "production":
            if not keys or DEV_KEY_ID in keys or dev_contact_key() in keys.values():
                raise ValueError("HOTLINE_CONTACT_KEYS must be set (no placeholder key) outside development")
            if not hmac_raw or not self.sms_webhook_secret.get_secret_value():
                raise ValueError("HOTLINE_CONTACT_HMAC_KEY and HOTLINE_SMS_WEBHOOK_SECRET must be set")
        if keys and (self.contact_active_key or next(iter(keys))) not in keys:
            raise ValueError("HOTLINE_CONTACT_ACTIVE_KEY must name one of HOTLINE_CONTACT_KEYS")
        if hmac_raw and len(_b64(hmac_raw, "HOTLINE_CONTACT_HMAC_KEY")) < 32:
            raise ValueError("HOTLINE_CONTACT_HMAC_KEY must be at least 32 bytes")
        if self.auto_enrol_window_start >= self.auto_enrol_window_end:
            raise ValueError("the auto-enrolment window must end after it starts")
        return self

    def contact_key_map(self) -> dict[str, bytes]:
        """kid → AES key; the development placeholder when none is configured."""
        return parse_key_list(self.contact_keys.get_secret_value()) or {DEV_KEY_ID: dev_contact_key()}

    def active_contact_key_id(self) -> str:
        return self.contact_active_key or next(iter(self.contact_key_map()))

    def contact_hmac_key_bytes(self) -> bytes:
        raw = self.contact_hmac_key.get_secret_value()
        return _b64(raw, "HOTLINE_CONTACT_HMAC_KEY") if raw else dev_hmac_key()

    def webhook_secret(self) -> str:
        return self.sms_webhook_secret.get_secret_value() or dev_webhook_secret()
