"""Shared state: feedback, the shown-card ledger, suppressions and the jti cache."""
