"""Lenient FHIR date parsing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from cdshooks.data.dates import parse_datetime, parse_partial_date, period_start

UTC = UTC


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2024", datetime(2024, 1, 1, tzinfo=UTC)),
        ("2024-05", datetime(2024, 5, 1, tzinfo=UTC)),
        ("2024-05-17", datetime(2024, 5, 17, tzinfo=UTC)),
        ("2024-05-17T10:30:00Z", datetime(2024, 5, 17, 10, 30, tzinfo=UTC)),
        ("2024-05-17T10:30:00.123456789+02:00", datetime(2024, 5, 17, 10, 30, 0, 123456, tzinfo=timezone(timedelta(hours=2)))),
        ("2024-05-17T10:30:00", datetime(2024, 5, 17, 10, 30, tzinfo=UTC)),  # naive read as UTC
        ("2024-13-01", None),
        ("2024-02-30", None),
        ("yesterday", None),
        ("", None),
        (None, None),
        (20240517, None),
    ],
)
def test_parse_datetime(value, expected):
    got = parse_datetime(value)
    assert got == expected
    if got is not None:
        assert got.tzinfo is not None


@pytest.mark.parametrize(
    "value, expected",
    [
        ("1980", (date(1980, 1, 1), "year")),
        ("1980-05", (date(1980, 5, 1), "month")),
        ("1980-05-17", (date(1980, 5, 17), "day")),
        ("1980-05-17T00:00:00Z", (date(1980, 5, 17), "day")),
        ("1980-00", None),
        ("unknown", None),
        (None, None),
    ],
)
def test_parse_partial_date(value, expected):
    assert parse_partial_date(value) == expected


def test_period_start_falls_back_to_end():
    assert period_start({"end": "2024-01-02"}) == datetime(2024, 1, 2, tzinfo=UTC)
    assert period_start({"start": "2024-01-01", "end": "2024-01-02"}) == datetime(2024, 1, 1, tzinfo=UTC)
    assert period_start("2024-01-01") is None
