"""Secrets in production: placeholder keys are refused; configured keys are parsed and used."""

from __future__ import annotations

import base64

import pytest
from pydantic import ValidationError

from heemang_hotline.crypto import ContactProtector
from heemang_hotline.settings import DEV_KEY_ID, Settings

KEY = base64.b64encode(b"k" * 32).decode()
HMAC = base64.b64encode(b"h" * 32).decode()


def test_production_refuses_placeholder_contact_keys() -> None:
    with pytest.raises(ValidationError, match="HOTLINE_CONTACT_KEYS"):
        Settings(environment="production", ops_token="x")
    with pytest.raises(ValidationError, match="WEBHOOK_SECRET"):
        Settings(environment="production", ops_token="x", contact_keys=f"k1:{KEY}", contact_hmac_key=HMAC)


def test_configured_keys_are_used_and_validated() -> None:
    settings = Settings(
        environment="production",
        ops_token="x",
        contact_keys=f'{{"k1": "{KEY}", "k2": "{KEY}"}}',
        contact_active_key="k2",
        contact_hmac_key=HMAC,
        sms_webhook_secret="whsec_" + KEY,
    )
    protector = ContactProtector.from_settings(settings)
    assert protector.active_key_id == "k2" and DEV_KEY_ID not in repr(protector)
    assert protector.encrypt("010-1234-5678", b"row").startswith("v1:k2:")
    with pytest.raises(ValidationError):
        Settings(contact_keys=f"k1:{KEY}", contact_active_key="nope")
    with pytest.raises(ValidationError):
        Settings(contact_keys="k1:c2hvcnQ=")  # 5 bytes: not an AES key
    with pytest.raises(ValidationError, match="32 bytes"):
        Settings(contact_hmac_key=base64.b64encode(b"short").decode())


def test_development_uses_placeholders() -> None:
    settings = Settings()
    assert DEV_KEY_ID in settings.contact_key_map() and settings.webhook_secret().startswith("whsec_")
