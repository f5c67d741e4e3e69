"""Benchmarks (`make bench`): numbers to report, never test assertions."""
