"""Partner webhooks: signed (Standard Webhooks), fanned out from the event stream through the
inbox, delivered by a database-driven dispatcher with retries, per-endpoint order and an
SSRF guard."""
