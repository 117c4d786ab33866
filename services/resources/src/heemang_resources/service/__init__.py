"""Use cases, one module per aggregate (ledger, idempotency, allocations…)."""
