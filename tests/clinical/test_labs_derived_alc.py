"""Derived ALC (clinical-rules.md, "Lab recency"): lymphocytes % x WBC / 100 from the same specimen time."""

from __future__ import annotations

import pytest

from cdshooks.clinical import labs
from cdshooks.terminology.units import cells_per_ul
from tests.clinical.records import lab, record

ALC = "lymphocytes-absolute"


def cbc(days_ago, pct=8, wbc=4.5, wbc_unit="10*3/uL", *, pct_days_ago=None, pct_unit="%", **kw):
    pct_at = days_ago if pct_days_ago is None else pct_days_ago
    return [lab("736-9", pct_at, pct, pct_unit, oid=f"pct{pct_at}", **kw),
            lab("6690-2", days_ago, wbc, wbc_unit, oid=f"wbc{days_ago}")]


def test_percent_and_wbc_of_the_same_specimen_give_a_derived_count():
    (r,) = labs.results(record(labs=cbc(5)), ALC)
    assert cells_per_ul(r.measurement) == pytest.approx(360)
    assert r.derived_from == "derived from lymphocytes 8% x WBC 4.5 x10^3/µL"
    assert r.value_label == "0.36 x10^3/µL, derived from lymphocytes 8% x WBC 4.5 x10^3/µL"
    assert r.when == labs.results(record(labs=cbc(5)), "wbc")[0].when
    assert r.lab.id == "pct5+wbc5"  # both Observations it rests on


@pytest.mark.parametrize("wbc, unit", [(4.5, "10*3/uL"), (4.5, "10*9/L"), (4.5, "K/uL"), (4500, "/uL"),
                                       (4500, "cells/uL"), (4.5, "x10^9/L")])
def test_wbc_units_are_normalized_before_multiplying(wbc, unit):
    (r,) = labs.results(record(labs=cbc(5, wbc=wbc, wbc_unit=unit)), ALC)
    assert cells_per_ul(r.measurement) == pytest.approx(360)
    assert "WBC 4.5 x10^3/µL" in r.value_label


def test_percent_and_wbc_at_different_times_give_nothing():
    assert labs.results(record(labs=cbc(5, pct_days_ago=6)), ALC) == []
    assert labs.latest(record(labs=cbc(5, pct_days_ago=6)), ALC, 90) is None


def test_a_measured_alc_at_the_same_time_wins():
    rec = record(labs=cbc(5) + [lab("731-0", 5, 1.1, "10*3/uL", oid="alc5")])
    (r,) = labs.results(rec, ALC)
    assert r.derived_from is None and r.lab.id == "alc5"


def test_a_measured_alc_with_an_unconvertible_unit_still_wins():
    # the lab reported an absolute count: lymphocytes were not reported "only as a percentage"
    rec = record(labs=cbc(5) + [lab("731-0", 5, 1.1, "bogus", oid="alc5")])
    (r,) = labs.results(rec, ALC)
    assert r.derived_from is None and r.measurement is None


def test_measured_and_derived_counts_interleave_newest_first():
    rec = record(labs=cbc(5) + [lab("731-0", 30, 1.1, "10*3/uL", oid="alc30")] + cbc(60, pct=20, wbc=6))
    got = labs.results(rec, ALC)
    assert [(labs.days_between(r.when, rec.now), r.derived_from is not None) for r in got] == [
        (5, True), (30, False), (60, True)]
    assert cells_per_ul(got[2].measurement) == pytest.approx(1200)
    assert labs.latest(rec, ALC, 90).lab.id == "pct5+wbc5"


def test_the_newest_count_can_be_an_older_measured_one_when_the_newest_cbc_has_no_wbc():
    rec = record(labs=[lab("736-9", 5, 8, "%"), lab("731-0", 30, 1.1, "10*3/uL", oid="alc30")])
    assert labs.latest(rec, ALC, 90).lab.id == "alc30"


@pytest.mark.parametrize("pct, unit, comparator", [(120, "%", None), (-1, "%", None), (8, "1", None),
                                                   (8, "%", "<"), (8, "mg/dL", None)])
def test_implausible_or_unconvertible_percentages_are_not_used(pct, unit, comparator):
    assert labs.results(record(labs=cbc(5, pct=pct, pct_unit=unit, comparator=comparator)), ALC) == []


def test_a_ucum_fraction_is_read_as_a_percentage():
    (r,) = labs.results(record(labs=cbc(5, pct=0.08, pct_unit="1")), ALC)
    assert cells_per_ul(r.measurement) == pytest.approx(360) and "lymphocytes 8%" in r.value_label


def test_a_wbc_without_a_usable_value_derives_nothing():
    rec = record(labs=[lab("736-9", 5, 8, "%"), lab("6690-2", 5, 4.5, "furlongs")])
    assert labs.results(rec, ALC) == []


def test_a_second_wbc_of_the_same_time_is_used_when_the_first_is_unusable():
    rec = record(labs=[lab("736-9", 5, 8, "%"), lab("6690-2", 5, 4.5, "furlongs", oid="w1"),
                       lab("6690-2", 5, 5, "10*3/uL", oid="w2")])
    (r,) = labs.results(rec, ALC)
    assert r.lab.id.endswith("+w2") and cells_per_ul(r.measurement) == pytest.approx(400)


def test_one_count_per_specimen_time():
    rec = record(labs=cbc(5) + [lab("736-9", 5, 9, "%", oid="pct5b")])
    assert len(labs.results(rec, ALC)) == 1


def test_a_preliminary_input_makes_the_derived_count_preliminary():
    (r,) = labs.results(record(labs=cbc(5, status="preliminary")), ALC)
    assert r.preliminary and r.lab.status == "preliminary"


def test_entered_in_error_percentages_are_not_used():
    assert labs.results(record(labs=cbc(5, status="entered-in-error")), ALC) == []


def test_percent_is_its_own_test_key():
    rec = record(labs=cbc(5))
    (p,) = labs.results(rec, "lymphocytes-percent")
    assert p.measurement.value == 8 and p.measurement.unit == "%"


def test_the_percentage_is_prefetched():
    from cdshooks.services import observation_codes

    assert "http://loinc.org|736-9" in observation_codes()
