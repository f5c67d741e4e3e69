"""Verifying CDS client JWTs (CDS Hooks 2.0 "Trusting CDS Clients"): issuers, key sets, tokens, the jti cache."""
