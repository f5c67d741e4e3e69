"""Tofacitinib dosing: the daily dose of an order, sig text, regimens and the regimen to resume."""
