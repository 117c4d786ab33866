"""Pure rules of the resources service: the double-entry ledger, the care SOS catalogue and
its caps, campaign progress. No I/O here (see tests/unit/test_domain_is_pure.py)."""
