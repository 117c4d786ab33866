"""T1: our signer's headers verify with the reference implementation (standardwebhooks) for
10,000 generated deliveries, and no single-byte change of body, id or timestamp does."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from svix.webhooks import Webhook as SvixWebhook
from svix.webhooks import WebhookVerificationError as SvixVerificationError

from heemang_gateway.webhooks.receiver import InvalidWebhook, verify
from heemang_gateway.webhooks.signing import InvalidSecret, generate_secret, secret_key, sign_headers

SECRET = generate_secret()
OTHER = generate_secret()
REFERENCE = Webhook(SECRET)
SVIX = SvixWebhook(SECRET)  # the second verifier RELIABILITY T1 names

ids = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters=" ,"), min_size=1, max_size=64
)
whitespace = st.sampled_from(["", " ", "\n", "\r\n", "\t", "  \n\t", "\u3000", "\u00a0"])
bodies = st.builds(
    lambda lead, text, trail: (lead + text + trail).encode(),
    whitespace,
    st.one_of(
        st.text(max_size=300),  # any Unicode: Hangul, emoji, combining marks…
        st.text(st.sampled_from('가나다라희망 {}":,[]0123456789abc\u0301\U0001f600'), max_size=300),
    ),
    whitespace,
)
# Within the reference's ±5 min tolerance, so a rejection below is the signature's doing.
offsets = st.integers(min_value=-240, max_value=240)


def _rejected(body: bytes, headers: dict[str, str]) -> bool:
    """Both verifiers refuse it (a mutation one of them accepted would be a failure)."""
    refused = 0
    try:
        REFERENCE.verify(body, headers, json_parse=False)
    except (WebhookVerificationError, UnicodeDecodeError):
        refused += 1
    try:
        SVIX.verify(body, headers)
    except (SvixVerificationError, WebhookVerificationError, UnicodeDecodeError):
        refused += 1
    return refused == 2


@settings(max_examples=10_000, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(msg_id=ids, offset=offsets, body=bodies, pick=st.integers(0, 2**32))
def test_reference_accepts_every_signature_and_no_mutation(
    msg_id: str, offset: int, body: bytes, pick: int
) -> None:
    ts = int(time.time()) + offset  # the reference checks against its own clock
    headers = sign_headers(msg_id, ts, body, [SECRET])
    REFERENCE.verify(body, headers, json_parse=False)  # raises if not accepted
    SVIX.verify(body, headers)

    # One mutation of each part, positions derived from `pick` (cheaper than more draws).
    if body:
        i, flip = pick % len(body), 1 + (pick >> 8) % 255
        assert _rejected(body[:i] + bytes([body[i] ^ flip]) + body[i + 1 :], headers)
    j = pick % len(msg_id)
    replacement = "a" if msg_id[j] != "a" else "b"
    assert _rejected(body, {**headers, "webhook-id": msg_id[:j] + replacement + msg_id[j + 1 :]})
    shift = (1 + (pick >> 16) % 50) * (1 if pick % 2 else -1)
    assert _rejected(body, {**headers, "webhook-timestamp": str(ts + shift)})


def test_rotation_signs_with_both_secrets_and_each_verifies() -> None:
    body = b'{"type":"case.closed.v1"}'
    now = int(time.time())
    headers = sign_headers("msg_1", now, body, [OTHER, SECRET])
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (OTHER, SECRET):
        Webhook(secret).verify(body, headers)
        assert verify(headers, body, [secret], _at(now)) == "msg_1"
    with pytest.raises(WebhookVerificationError):
        Webhook(generate_secret()).verify(body, headers)
    with pytest.raises(InvalidWebhook):
        verify(headers, body, [generate_secret()], _at(now))


def test_secrets_are_whsec_base64_of_32_random_bytes() -> None:
    secret = generate_secret()
    assert secret.startswith("whsec_") and len(secret_key(secret)) == 32
    assert generate_secret() != secret
    for bad in ("abc", "whsec_", "whsec_!!!", "whsec_" + "QQ==" * 2):
        with pytest.raises(InvalidSecret):
            secret_key(bad)


def _at(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)
