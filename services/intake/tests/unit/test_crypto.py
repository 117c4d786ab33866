"""AES-GCM with key ids, HMAC lookup, rotation; and the settings that feed them."""

from __future__ import annotations

import base64
import os

import pytest

from heemang_intake.crypto import RrnDecryptionError, RrnProtector
from heemang_intake.settings import DEV_KEY_ID, Settings

RRN = "900101-1234568"
CTX = b"person-1"


def _key() -> bytes:
    return os.urandom(32)


@pytest.fixture
def keys() -> dict[str, bytes]:
    return {"k1": _key(), "k2": _key()}


def test_round_trip_and_key_id_stored(keys: dict[str, bytes]) -> None:
    protector = RrnProtector(keys, "k1", _key())
    sealed = protector.encrypt(RRN, CTX)
    assert sealed.key_id == "k1" and sealed.token.startswith("v1:k1:")
    assert protector.decrypt(sealed.token, CTX) == "9001011234568"
    assert "1234568" not in sealed.token and "900101" not in sealed.token
    # A fresh nonce every time: equal RRNs do not give equal ciphertexts.
    assert protector.encrypt(RRN, CTX).token != sealed.token
    nonce_and_ct = base64.b64decode(sealed.token.split(":")[2])
    assert len(nonce_and_ct) == 12 + 13 + 16


def test_tampering_is_detected(keys: dict[str, bytes]) -> None:
    protector = RrnProtector(keys, "k1", _key())
    token = protector.encrypt(RRN, CTX).token
    blob = bytearray(base64.b64decode(token.split(":")[2]))
    blob[-1] ^= 1
    with pytest.raises(RrnDecryptionError):
        protector.decrypt("v1:k1:" + base64.b64encode(bytes(blob)).decode(), CTX)
    with pytest.raises(RrnDecryptionError):  # moved onto another person's row
        protector.decrypt(token, b"person-2")
    with pytest.raises(RrnDecryptionError):  # relabelled with the other key id
        protector.decrypt(token.replace("v1:k1:", "v1:k2:"), CTX)
    with pytest.raises(RrnDecryptionError):
        protector.decrypt("v1:k9:" + token.split(":")[2], CTX)
    for broken in ("", "v2:k1:abc", "v1:k1:", "v1:k1:not base64!", "v1:k1:AAAA"):
        with pytest.raises(RrnDecryptionError):
            protector.decrypt(broken, CTX)


def test_rotation_reencrypts_to_the_active_key(keys: dict[str, bytes]) -> None:
    hmac_key = _key()
    old = RrnProtector(keys, "k1", hmac_key)
    token = old.encrypt(RRN, CTX).token
    new = RrnProtector(keys, "k2", hmac_key)
    assert new.needs_rotation(token) and not old.needs_rotation(token)
    rotated = new.reencrypt(token, CTX)
    assert rotated.key_id == "k2" and rotated.token.startswith("v1:k2:")
    assert not new.needs_rotation(rotated.token)
    assert new.decrypt(rotated.token, CTX) == "9001011234568"
    retired = RrnProtector({"k2": keys["k2"]}, "k2", hmac_key)  # k1 retired after rotation
    assert retired.decrypt(rotated.token, CTX) == "9001011234568"
    with pytest.raises(RrnDecryptionError, match="k1"):
        retired.decrypt(token, CTX)


def test_hmac_is_stable_keyed_and_normalised(keys: dict[str, bytes]) -> None:
    hmac_key = _key()
    a = RrnProtector(keys, "k1", hmac_key)
    b = RrnProtector(keys, "k2", hmac_key)  # rotation of the AES key does not change lookups
    assert a.lookup_hash(RRN) == b.lookup_hash("9001011234568") == a.lookup_hash(f" {RRN} ")
    assert len(a.lookup_hash(RRN)) == 64
    assert a.lookup_hash(RRN) != a.lookup_hash("900101-2234565")
    assert RrnProtector(keys, "k1", _key()).lookup_hash(RRN) != a.lookup_hash(RRN)


def test_repr_shows_no_key(keys: dict[str, bytes]) -> None:
    protector = RrnProtector(keys, "k1", _key())
    assert repr(protector) == "RrnProtector(active='k1', keys=['k1', 'k2'])"


def _b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


def test_settings_parse_json_and_comma_lists() -> None:
    k1, k2, h = _key(), os.urandom(16), _key()
    comma = Settings(rrn_keys=f"k1:{_b64(k1)},k2:{_b64(k2)}", rrn_active_key="k2", rrn_hmac_key=_b64(h))
    as_json = Settings(
        rrn_keys=f'{{"k1": "{_b64(k1)}", "k2": "{_b64(k2)}"}}', rrn_active_key="k2", rrn_hmac_key=_b64(h)
    )
    for settings in (comma, as_json):
        assert settings.rrn_key_map() == {"k1": k1, "k2": k2}
        assert settings.active_rrn_key_id() == "k2"
        assert settings.rrn_hmac_key_bytes() == h
        assert not settings.uses_placeholder_keys
        assert _b64(k1) not in repr(settings) and _b64(h) not in repr(settings)
    assert Settings(rrn_keys=f"only:{_b64(k1)}").active_rrn_key_id() == "only"


@pytest.mark.parametrize(
    ("values", "error"),
    [
        ({"rrn_keys": "k1:" + _b64(os.urandom(32)) + ",k2:" + _b64(os.urandom(32))}, "ACTIVE_KEY"),
        ({"rrn_keys": "k1:" + _b64(os.urandom(32)), "rrn_active_key": "k9"}, "ACTIVE_KEY"),
        ({"rrn_keys": "k1:" + _b64(os.urandom(10))}, "16, 24 or 32"),
        ({"rrn_keys": "k1:***"}, "base64"),
        ({"rrn_keys": "nokey"}, "kid:base64key"),
        ({"rrn_hmac_key": _b64(os.urandom(8))}, "32 bytes"),
        ({"dongs": " , "}, "empty"),
    ],
)
def test_settings_refuse_bad_keys(values: dict[str, str], error: str) -> None:
    with pytest.raises(ValueError, match=error) as caught:
        Settings(**values)  # type: ignore[arg-type]
    for value in values.values():  # the error names the setting, never the secret given
        assert len(value) < 8 or value.split(":")[-1] not in str(caught.value)


def test_development_uses_placeholders_production_refuses_them() -> None:
    dev = Settings(environment="development")
    assert dev.uses_placeholder_keys and dev.active_rrn_key_id() == DEV_KEY_ID
    assert RrnProtector.from_settings(dev).encrypt(RRN).token.startswith(f"v1:{DEV_KEY_ID}:")
    real = {"rrn_keys": f"k1:{_b64(_key())}", "rrn_hmac_key": _b64(_key()), "ops_token": "x" * 20}
    with pytest.raises(ValueError, match="RRN_KEYS"):
        Settings(environment="production", ops_token="x" * 20)
    with pytest.raises(ValueError, match="RRN_HMAC_KEY"):
        Settings(environment="production", **{**real, "rrn_hmac_key": ""})
    with pytest.raises(ValueError, match="RRN_KEYS"):
        Settings(environment="production", **{**real, "rrn_keys": f"{DEV_KEY_ID}:{_b64(_key())}"})
    production = Settings(environment="production", **real)
    assert not production.uses_placeholder_keys


def test_dongs_from_a_file(tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    path = tmp_path / "dongs.txt"
    path.write_text("# 강남구\nyeoksam1\n\nsamseong2  # 삼성2동\n", encoding="utf-8")
    assert Settings(dongs_file=str(path)).dong_codes() == {"yeoksam1", "samseong2"}
    assert "yeoksam1" in Settings().dong_codes() and len(Settings().dong_codes()) == 22
