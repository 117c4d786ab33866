"""The real adapter: a Korean SMS gateway's HTTP API (JSON over HTTPS).

Configured by URL, API key and sender number. Client errors (4xx, except 408 and 429) are
permanent; timeouts, connection errors, 408, 429 and 5xx are transient and retried by the
caller with backoff.
"""

from __future__ import annotations

import httpx

from heemang_hotline.sms.base import OutboundSms, SendResult

_TRANSIENT_4XX = {408, 429}


class HttpSmsProvider:
    name = "http"

    def __init__(self, client: httpx.AsyncClient, *, url: str, api_key: str, sender: str) -> None:
        self.client = client
        self.url = url
        self.api_key = api_key
        self.sender = sender

    async def send(self, message: OutboundSms) -> SendResult:
        payload = {
            "type": message.kind.value.upper(),  # SMS | LMS
            "from": self.sender,
            "to": message.to,
            "text": message.body,
            "ref": str(message.id),
        }
        try:
            response = await self.client.post(
                self.url, json=payload, headers={"Authorization": f"Bearer {self.api_key}"}
            )
        except httpx.HTTPError as exc:
            return SendResult(accepted=False, error=f"transport: {type(exc).__name__}")
        if response.status_code < 300:
            return SendResult(accepted=True, provider_message_id=_message_id(response))
        permanent = 400 <= response.status_code < 500 and response.status_code not in _TRANSIENT_4XX
        return SendResult(accepted=False, permanent=permanent, error=f"HTTP {response.status_code}")


def _message_id(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    value = body.get("messageId") if isinstance(body, dict) else None
    return str(value) if value is not None else None
