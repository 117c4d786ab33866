"""Settings of the intake service: the common fragments plus its own knobs (prefix INTAKE_)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from pathlib import Path
from typing import ClassVar

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from heemang_common.settings import ServiceSettings, service_settings_config

#: The 22 동 of Gangnam-gu, as an example district (codes, not names: names are display).
DEFAULT_DONGS = (
    "sinsa,nonhyeon1,nonhyeon2,apgujeong,cheongdam,samseong1,samseong2,daechi1,daechi2,"
    "daechi4,yeoksam1,yeoksam2,dogok1,dogok2,gaepo1,gaepo2,gaepo4,segok,irwonbon,irwon1,"
    "irwon2,suseo"
)

#: Key id of the development placeholder key (derived from a public string: not a secret).
DEV_KEY_ID = "dev-placeholder"
_DEV_SEED = b"heemang development placeholder - never use in production"


def dev_rrn_key() -> bytes:
    return hashlib.sha256(_DEV_SEED + b" rrn-aes-key").digest()


def dev_hmac_key() -> bytes:
    return hashlib.sha256(_DEV_SEED + b" rrn-hmac-key").digest()


def _b64(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{what} is not valid base64") from None


def parse_key_list(raw: str) -> dict[str, bytes]:
    """``INTAKE_RRN_KEYS``: a JSON object ``{"kid": "base64key", …}`` or a comma list
    ``kid:base64key,kid2:base64key``. Keys are 16, 24 or 32 bytes (AES-128/192/256)."""
    raw = raw.strip()
    if not raw:
        return {}
    pairs: list[tuple[str, str]]
    if raw.startswith("{"):
        loaded = json.loads(raw)
        if not isinstance(loaded, dict):
            raise ValueError("INTAKE_RRN_KEYS JSON must be an object of kid → base64 key")
        pairs = [(str(k), str(v)) for k, v in loaded.items()]
    else:
        pairs = []
        for item in raw.split(","):
            kid, sep, encoded = item.strip().partition(":")
            if not sep:
                raise ValueError("INTAKE_RRN_KEYS items are kid:base64key")
            pairs.append((kid.strip(), encoded.strip()))
    keys: dict[str, bytes] = {}
    for kid, encoded_key in pairs:
        if not kid or ":" in kid or len(kid) > 40:
            raise ValueError("an RRN key id is 1-40 characters without ':'")
        if kid in keys:
            raise ValueError(f"RRN key id {kid!r} appears twice")
        key_bytes = _b64(encoded_key, f"RRN key {kid!r}")
        if len(key_bytes) not in (16, 24, 32):
            raise ValueError(f"RRN key {kid!r} must be 16, 24 or 32 bytes, not {len(key_bytes)}")
        keys[kid] = key_bytes
    return keys


class Settings(ServiceSettings):
    # Keys are secrets: a validation error must not print the values it was given.
    model_config = SettingsConfigDict(**service_settings_config("INTAKE_"), hide_input_in_errors=True)

    service_name: ClassVar[str] = "intake"
    default_port: ClassVar[int] = 8001

    #: The district's 동 codes (comma list); INTAKE_DONGS_FILE, if set, replaces it.
    dongs: str = DEFAULT_DONGS
    #: A file with one 동 code per line (# comments allowed), loaded per deployment.
    dongs_file: str = ""

    # RRN protection. Empty → development placeholders (refused in production).
    rrn_keys: SecretStr = Field(
        default=SecretStr(""), description="JSON {kid: base64} or comma list kid:base64key"
    )
    rrn_active_key: str = Field(default="", description="kid new RRNs are encrypted with")
    rrn_hmac_key: SecretStr = Field(default=SecretStr(""), description="base64, ≥ 32 bytes")
    rotate_batch_size: int = Field(default=500, ge=1)

    # The public red postbox: per client address, a burst and then a steady rate.
    red_postbox_burst: int = Field(default=5, ge=1, description="reports at once per client address")
    red_postbox_per_minute: float = Field(default=1.0, gt=0, description="refill rate per client address")

    # Bulk import of screening lists.
    import_max_bytes: int = Field(default=30 * 1024 * 1024, ge=1024, description="largest accepted upload")
    import_max_rows: int = Field(default=100_000, ge=1, description="most data rows in one file")

    @model_validator(mode="after")
    def _check_rrn_keys(self) -> Settings:
        keys = parse_key_list(self.rrn_keys.get_secret_value())
        hmac_raw = self.rrn_hmac_key.get_secret_value()
        if self.environment == "production":
            prefix = self.env_prefix()
            if not keys or DEV_KEY_ID in keys or dev_rrn_key() in keys.values():
                raise ValueError(f"{prefix}RRN_KEYS must be set (no placeholder key) outside development")
            if not hmac_raw or _b64(hmac_raw, f"{prefix}RRN_HMAC_KEY") == dev_hmac_key():
                raise ValueError(f"{prefix}RRN_HMAC_KEY must be set outside development")
        if keys:
            active = self.rrn_active_key or (next(iter(keys)) if len(keys) == 1 else "")
            if active not in keys:
                raise ValueError("INTAKE_RRN_ACTIVE_KEY must name one of INTAKE_RRN_KEYS")
        elif self.rrn_active_key not in ("", DEV_KEY_ID):
            raise ValueError("INTAKE_RRN_ACTIVE_KEY names a key but INTAKE_RRN_KEYS is empty")
        if hmac_raw and len(_b64(hmac_raw, "INTAKE_RRN_HMAC_KEY")) < 32:
            raise ValueError("INTAKE_RRN_HMAC_KEY must be at least 32 bytes")
        self.dong_codes()  # fail at start-up, not on the first request
        return self

    def rrn_key_map(self) -> dict[str, bytes]:
        """kid → AES key; the development placeholder when none is configured."""
        return parse_key_list(self.rrn_keys.get_secret_value()) or {DEV_KEY_ID: dev_rrn_key()}

    def active_rrn_key_id(self) -> str:
        keys = self.rrn_key_map()
        return self.rrn_active_key or next(iter(keys))

    def rrn_hmac_key_bytes(self) -> bytes:
        raw = self.rrn_hmac_key.get_secret_value()
        return _b64(raw, "INTAKE_RRN_HMAC_KEY") if raw else dev_hmac_key()

    @property
    def uses_placeholder_keys(self) -> bool:
        return DEV_KEY_ID in self.rrn_key_map() or not self.rrn_hmac_key.get_secret_value()

    def dong_codes(self) -> frozenset[str]:
        if self.dongs_file:
            lines = Path(self.dongs_file).read_text(encoding="utf-8").splitlines()
            items = [line.split("#", 1)[0].strip() for line in lines]
        else:
            items = [item.strip() for item in self.dongs.split(",")]
        codes = frozenset(item for item in items if item)
        if not codes:
            raise ValueError("the 동 list (INTAKE_DONGS / INTAKE_DONGS_FILE) is empty")
        return codes
