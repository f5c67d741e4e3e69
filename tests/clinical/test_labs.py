"""Lab results: selection by test, ordering, windows, presence reading."""

import random
from datetime import UTC, datetime, timezone

import pytest

from cdshooks.clinical import labs
from cdshooks.data.record import Coding
from tests.clinical.records import build, count_lab_reads, observation

NOW = datetime(2026, 1, 15, 12, tzinfo=UTC)
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"


def lab(oid, loinc, days_ago, value=None, unit=None, *, status="final", comparator=None,
        value_text=None, value_codings=(), text=None, interpretation=()):
    """An Observation: value_text is sent as valueString, value_codings as valueCodeableConcept."""
    return observation(oid, [(LOINC, loinc)] if loinc else [], days_ago, value, unit, status=status,
                       comparator=comparator, value_string=value_text, value_codings=value_codings,
                       interpretation=interpretation, code_text=text, now=NOW)


def record(*observations):
    return build(observations, now=NOW)


def test_results_newest_first_and_only_that_test():
    rec = record(
        lab("old", "731-0", 40, 1.1, "10*3/uL"),
        lab("anc", "751-8", 1, 3.0, "10*3/uL"),
        lab("new", "731-0", 2, 450, "cells/uL"),
        lab("mid", "26474-7", 10, 0.9, "10*3/uL"),
    )
    got = labs.results(rec, "lymphocytes-absolute")
    assert [r.lab.id for r in got] == ["new", "mid", "old"]
    assert got[0].measurement.value == pytest.approx(0.45)


def test_entered_in_error_cancelled_and_undated_are_dropped():
    rec = record(
        lab("eie", "731-0", 1, 0.2, "10*3/uL", status="entered-in-error"),
        lab("cx", "731-0", 1, 0.2, "10*3/uL", status="cancelled"),
        lab("undated", "731-0", None, 0.2, "10*3/uL"),
        lab("ok", "731-0", 5, 1.3, "10*3/uL"),
    )
    assert [r.lab.id for r in labs.results(rec, "lymphocytes-absolute")] == ["ok"]


def test_latest_within_window_boundaries():
    rec = record(lab("a", "718-7", 90, 12.0, "g/dL"))
    assert labs.latest(rec, "hemoglobin", within_days=90).lab.id == "a"
    assert labs.latest(rec, "hemoglobin", within_days=89) is None
    assert labs.latest(rec, "hemoglobin").lab.id == "a"


def test_preliminary_is_usable_but_flagged():
    r = labs.latest(record(lab("p", "718-7", 1, 7.5, "g/dL", status="preliminary")), "hemoglobin")
    assert r.preliminary and r.measurement.value == 7.5


def test_unconvertible_unit_keeps_the_result_without_measurement():
    r = labs.latest(record(lab("u", "718-7", 1, 7.5, "furlongs")), "hemoglobin")
    assert r.measurement is None and r.unconvertible
    assert "not convertible" in r.value_label


def test_tst_found_by_text():
    rec = record(lab("ppd", None, 30, text="PPD skin test", value_text="negative"))
    assert labs.latest(rec, "tst").is_negative


@pytest.mark.parametrize(
    "kwargs, detected, not_detected",
    [
        (dict(value_codings=[Coding(SNOMED, "260415000", "Not detected")]), False, True),
        (dict(value_codings=[Coding(SNOMED, "260373001", "Detected")]), True, False),
        (dict(value_text="not detected"), False, True),
        (dict(value_text="Detected"), True, False),
        (dict(value_text="<35 IU/mL"), False, True),
        (dict(value=35, unit="IU/mL", comparator="<"), False, True),
        (dict(value=0, unit="IU/mL"), False, True),
        (dict(value=820, unit="IU/mL"), True, False),
        (dict(value=2.9, unit="log IU/mL"), True, False),
        (dict(value_text="indeterminate"), False, False),
        (dict(interpretation=[Coding(None, "NEG")]), False, True),
        (dict(interpretation=[Coding(None, "POS")]), True, False),
    ],
)
def test_cmv_presence(kwargs, detected, not_detected):
    r = labs.latest(record(lab("c", "72493-0", 1, **kwargs)), "cmv-dna-quant")
    assert r.detected is detected
    assert r.not_detected is not_detected


def test_positive_negative_answers():
    pos = labs.latest(record(lab("i", "71773-6", 1, value_codings=[Coding(SNOMED, "10828004", "Positive")])), "igra")
    neg = labs.latest(record(lab("i", "71773-6", 1, value_text="Negative")), "igra")
    ind = labs.latest(record(lab("i", "71773-6", 1, value_text="Indeterminate")), "igra")
    assert pos.is_positive and not pos.is_negative
    assert neg.is_negative and not neg.is_positive
    assert ind.answer == "indeterminate" and not ind.is_positive and not ind.is_negative


def test_results_any_merges_iu_and_copies():
    rec = record(lab("iu", "72493-0", 5, 300, "IU/mL"), lab("cp", "29604-6", 1, 900, "copies/mL"))
    got = labs.results_any(rec, ("cmv-dna-quant", "cmv-dna-copies"))
    assert [r.lab.id for r in got] == ["cp", "iu"]
    assert got[0].measurement.unit == "{copies}/mL"


@pytest.mark.parametrize(
    "text, answer",
    [
        ("no cmv dna detected", "negative"),  # "no ... detected" is a negative, not a "detected"
        ("no dna detected", "negative"),
        ("hbsag not present", "negative"),
        ("not reactive", "negative"),
        ("cmv dna detected", "positive"),
        ("detected, <35 iu/ml", "positive"),
    ],
)
def test_negated_text_answers(text, answer):
    r = labs.latest(record(lab("t", "4996-5", 1, value_text=text)), "cmv-dna-presence")
    assert r.answer == answer


def test_a_result_without_any_value_is_not_the_newest_result():
    # dataAbsentReason ("clotted"), an unparseable value: nothing was measured, so it
    # must not hide the real count before it nor satisfy a monitoring window.
    real = lab("real", "731-0", 5, 0.3, "10*3/uL")
    empty = lab("empty", "731-0", 1)
    assert labs.latest(record(real, empty), "lymphocytes-absolute").lab.id == "real"
    assert labs.results(record(empty), "lymphocytes-absolute") == []
    coded = lab("coded", "71773-6", 1, value_codings=[Coding(SNOMED, "260385009", "Negative")])
    interp_only = lab("interp", "71773-6", 2, interpretation=[Coding(None, "POS")])
    assert [r.lab.id for r in labs.results(record(coded, interp_only), "igra")] == ["coded", "interp"]


def test_days_between_counts_utc_calendar_days_whatever_the_offset():
    from datetime import datetime, timedelta

    from cdshooks.clinical.labs import days_between

    now = datetime(2026, 1, 15, 0, 30, tzinfo=UTC)
    plus_one = timezone(timedelta(hours=1))
    # 00:30 on the 15th at +01:00 is still the 14th in UTC.
    assert days_between(datetime(2026, 1, 15, 0, 30, tzinfo=plus_one), now) == 1
    assert days_between(datetime(2026, 1, 14, 23, 59, tzinfo=UTC), now) == 1
    assert days_between(datetime(2026, 1, 15, 0, 0, tzinfo=UTC), now) == 0
    minus_five = timezone(timedelta(hours=-5))
    assert days_between(datetime(2026, 1, 14, 20, 0, tzinfo=minus_five), now) == 0  # 01:00Z on the 15th


@pytest.mark.parametrize("loinc", ["16128-1", "13955-0"])
def test_anti_hcv_is_read_under_both_codes_with_its_presence_answer(loinc):
    # revision 2 screen-hbv also needs anti-HCV (terminology.md: 16128-1, also 13955-0)
    neg = lab("hcv", loinc, 30, value_codings=[Coding(SNOMED, "260385009", "Negative")])
    reactive = lab("hcv2", loinc, 10, value_text="reactive")
    got = labs.results(record(neg, reactive), "anti-hcv")
    assert [(r.lab.id, r.answer) for r in got] == [("hcv2", "positive"), ("hcv", "negative")]


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(value_text="test not performed"),
        dict(value_text="tnp"),
        dict(value_text="not performed - specimen clotted"),
        dict(value_text="not done"),
        # valueCodeableConcept: codes and text joined ("TNP" coded, text "Test not performed")
        dict(value_codings=[Coding(None, "TNP", "Test not performed")]),
        dict(value_codings=[Coding(None, None, "Test not performed")]),
    ],
)
def test_a_test_not_performed_is_not_a_result(kwargs):
    # clinical-rules.md, CMV results: "Test not performed" / "TNP" are not results; the same holds
    # for every test (it must not satisfy a monitoring window nor hide the result before it).
    real = lab("real", "72493-0", 20, value_text="not detected")
    tnp = lab("tnp", "72493-0", 2, **kwargs)
    assert [r.lab.id for r in labs.results(record(real, tnp), "cmv-dna-quant")] == ["real"]


@pytest.mark.parametrize(
    "value_text, answer",
    [("detected; quantitation not performed", "positive"), ("not detected", "negative"),
     ("cmv dna detected, quantitation not done", "positive")],
)
def test_a_result_that_mentions_a_step_not_performed_is_still_a_result(value_text, answer):
    r = labs.latest(record(lab("r", "72493-0", 2, value_text=value_text)), "cmv-dna-quant")
    assert r is not None and r.answer == answer


@pytest.mark.parametrize("status", ["registered", "cancelled", "entered-in-error"])
def test_pending_cancelled_and_entered_in_error_are_not_results(status):
    real = lab("real", "72493-0", 20, value_text="not detected")
    other = lab("other", "72493-0", 1, 900, "IU/mL", status=status)
    assert [r.lab.id for r in labs.results(record(real, other), "cmv-dna-quant")] == ["real"]


@pytest.mark.parametrize(
    "kwargs, mm",
    [
        (dict(value=7, unit="mm"), 7),
        (dict(value=7), 7),  # no unit: a TST is read in mm
        (dict(value=7, unit="mm induration"), 7),
        (dict(value=7, unit="[mm]"), 7),
        (dict(value=0.7, unit="cm"), 7),
        (dict(value=7, unit="mm", value_text="7 mm"), 7),  # valueString "7 mm"
        (dict(value_text="positive, 12 mm"), 12),
        (dict(value_text="7mm induration, negative"), 7),
        (dict(value_text="positive"), None),
        (dict(value=7, unit="mmHg"), None),
    ],
)
def test_tst_induration_mm(kwargs, mm):
    (r,) = labs.results(record(lab("t", None, 3, text="Tuberculin skin test", **kwargs)), "tst")
    assert labs.induration_mm(r) == mm


def _mixed_series(seed):
    """CMV results in IU and in copies on a few shared days (ties across the two tests), in random arrival order."""
    rng = random.Random(seed)
    obs = [lab(f"iu{i}", "72493-0", rng.choice([1, 2, 3, 5, 8, 13]), 100 + i, "IU/mL") for i in range(rng.randint(0, 6))]
    obs += [lab(f"cp{i}", "29604-6", rng.choice([1, 2, 3, 5, 8, 13]), 300 + i, "copies/mL") for i in range(rng.randint(0, 6))]
    rng.shuffle(obs)
    return record(*obs)


@pytest.mark.parametrize("seed", range(40))
def test_newest_first_any_gives_what_results_any_gives_in_its_order(seed):
    tests = ("cmv-dna-quant", "cmv-dna-copies")
    lazily = [r.lab.id for r in labs.newest_first_any(_mixed_series(seed), tests)]
    assert lazily == [r.lab.id for r in labs.results_any(_mixed_series(seed), tests)]


def test_on_equal_times_the_earlier_test_comes_first_as_in_results_any():
    rec = record(lab("cp", "29604-6", 3, 900, "copies/mL"), lab("iu", "72493-0", 3, 300, "IU/mL"))
    assert [r.lab.id for r in labs.newest_first_any(rec, ("cmv-dna-quant", "cmv-dna-copies"))] == ["iu", "cp"]
    assert [r.lab.id for r in labs.results_any(rec, ("cmv-dna-quant", "cmv-dna-copies"))] == ["iu", "cp"]


def test_newest_first_any_reads_only_as_far_as_it_is_taken(monkeypatch):
    read = count_lab_reads(monkeypatch)
    rec = record(*[lab(f"alc{d}", "731-0", d, 1.2, "10*3/uL") for d in range(1, 31)])
    stream = labs.newest_first_any(rec, ("lymphocytes-absolute",))
    assert next(stream).lab.id == "alc1"
    assert read == ["alc1"]
    assert [r.lab.id for r in stream][:2] == ["alc2", "alc3"]
    assert len(read) == 30  # taken to the end: every one read, each once
    assert len(set(read)) == 30
