"""The fast paths for common shapes read exactly as the lenient paths do."""

from __future__ import annotations

import pytest

from cdshooks.data.dates import parse_datetime
from cdshooks.data.parsers import lab_result


@pytest.mark.parametrize(
    "value",
    [
        "2024-05-17T10:00:00Z",
        "2024-05-17T10:00:00+02:00",
        "2024-05-17T10:00:00.123456-05:00",
        "2024-05-17T10:00:00.1234567890Z",  # more fractional digits than Python keeps
        "2024-05-17T10:00:00",  # naive: read as UTC
        "2024-05-17",
        "20240517",
        "2024-05-17T10:00Z",
    ],
)
def test_datetime_fast_path_reads_as_the_lenient_path(value):
    fast = parse_datetime(value)
    lenient = parse_datetime(f" {value} ")  # surrounding blanks force the lenient path
    assert fast is not None and fast.tzinfo is not None
    assert fast == lenient and fast.utcoffset() == lenient.utcoffset()


def _observation(**quantity) -> dict:
    return {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "731-0", "display": " Lymphocytes "}], "text": " ALC "},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2026-01-05T12:00:00Z",
        "valueQuantity": quantity,
    }


@pytest.mark.parametrize(
    "quantity",
    [
        {"value": 1.4, "unit": "10*3/uL", "system": "http://unitsofmeasure.org", "code": "10*3/uL"},
        {"value": 35, "comparator": "<", "unit": "IU/mL"},
        {"value": 2, "code": "g/dL"},  # unit falls back to the code
        {"value": 0.5, "unit": "  ", "code": " mg/dL "},
        {"value": 7},
    ],
)
def test_quantity_fast_path_reads_as_the_lenient_path(quantity):
    plain = _observation(**quantity)
    # Any other value[x] key, even empty, sends the resource down the general reading.
    general = {**plain, "valueBoolean": None}
    fast, lenient = lab_result(plain), lab_result(general)
    assert fast == lenient
    assert fast.value == float(quantity["value"]) and isinstance(fast.value, float)
    assert fast.text == "ALC"


def test_a_second_value_is_still_read_by_the_general_path():
    obs = {**_observation(value=1.0, unit="mg/L"), "valueString": "<0.5 mg/L"}
    result = lab_result(obs)
    assert (result.comparator, result.value, result.unit) == ("<", 0.5, "mg/L")
    assert result.value_text == "<0.5 mg/l"
