"""Signing secrets sealed at rest, bound to their endpoint."""

from __future__ import annotations

import base64
import os
import uuid

import pytest

from heemang_gateway.webhooks.secret_box import PLAIN, SecretBox, SecretBoxError
from heemang_gateway.webhooks.signing import generate_secret

KEY = base64.b64encode(os.urandom(32)).decode()


def test_round_trip_and_binding() -> None:
    box, endpoint, secret = SecretBox(KEY), uuid.uuid4(), generate_secret()
    sealed = box.seal(secret, endpoint)
    assert sealed.startswith("aesgcm1:") and secret not in sealed and len(sealed) <= 200
    assert box.open(sealed, endpoint) == secret
    assert box.seal(secret, endpoint) != sealed  # a fresh nonce each time
    with pytest.raises(SecretBoxError):
        box.open(sealed, uuid.uuid4())  # copied onto another endpoint's row
    with pytest.raises(SecretBoxError):
        SecretBox(base64.b64encode(os.urandom(32)).decode()).open(sealed, endpoint)
    with pytest.raises(SecretBoxError):
        PLAIN.open(sealed, endpoint)  # the key went missing: fail loudly, never sign with garbage
    with pytest.raises(SecretBoxError):
        box.open(sealed[:-4] + "AAAA", endpoint)


def test_without_a_key_secrets_pass_through() -> None:
    endpoint, secret = uuid.uuid4(), generate_secret()
    assert PLAIN.seal(secret, endpoint) == secret and PLAIN.open(secret, endpoint) == secret
    assert SecretBox(KEY).open(secret, endpoint) == secret  # rows stored before a key was set


@pytest.mark.parametrize("key", ["not base64!", base64.b64encode(b"short").decode()])
def test_bad_keys_fail_at_start(key: str) -> None:
    with pytest.raises(ValueError):
        SecretBox(key)
