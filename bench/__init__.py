"""Heemang benchmarks: our outbox relay, inbox consumer and end-to-end flow, each measured
next to the raw library doing the same work in the same run (see bench/README.md)."""
