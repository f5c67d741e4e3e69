"""Lab results by test, newest first, in canonical units, with presence reading.

`results(record, "lymphocytes-absolute")` -> every usable result of that test;
`latest(record, test, within_days=90)` -> the newest one in the window. Test
keys are the member names of the `lab-tests` value set. Entered-in-error,
cancelled and registered (pending) results are already gone (the record
builder never indexes them: `data.record.DROPPED_OBSERVATION_STATUSES`). A result
that only says the test was not performed ("Test not performed", "TNP") is
not a result either. Preliminary results are usable but
flagged so a card can say so. A result without any date cannot be placed in
time and is not used. Results are read newest first and only as far as asked:
`latest` reads one Observation of a year of them (see `cdshooks.data.observations`).

Derived ALC (clinical-rules.md, "Lab recency"): when a CBC reports lymphocytes
only as a percentage (736-9) with a WBC from the same specimen time (the same
effective time), the absolute count is WBC x % / 100. It is one more result of
"lymphocytes-absolute" (so it fires lab-lymphopenia and counts as the
differential for screening and monitoring), labelled as derived
(`Result.derived_from`). An absolute count reported at that time wins: no
count is derived beside it.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Hashable, Iterable, Iterator
from datetime import UTC, date, datetime
from typing import NamedTuple

from cdshooks.data.record import Coding, LabResult, PatientRecord
from cdshooks.memo import bounded_memo
from cdshooks.terminology import lookup
from cdshooks.terminology.units import COUNT, Measurement, display_unit, to_canonical

# Coded answers (SNOMED qualifiers, HL7 v3 ObservationInterpretation).
_POSITIVE_CODES = frozenset({"260373001", "10828004", "11214006", "52101004", "POS", "DET", "RR"})
_NEGATIVE_CODES = frozenset({"260415000", "260385009", "131194007", "2667000", "NEG", "ND", "NR"})
_INDETERMINATE_CODES = frozenset({"82334004", "419984006", "IND"})
# Text answers; negatives are tested first ("not detected" contains "detected").
_NEGATIVE_TEXT = re.compile(
    r"\b(not\s+detected|undetected|undetectable|none\s+detected|tnd|negative|neg|non-?reactive|absent)\b"
    r"|\bno\s+(?:[\w-]+\s+){0,3}detected\b|\bnot\s+(?:present|reactive|found)\b"  # "No CMV DNA detected"
    r"|^\s*<"
)
_INDETERMINATE_TEXT = re.compile(r"\b(indeterminate|inconclusive|equivocal|borderline)\b")
_POSITIVE_TEXT = re.compile(r"\b(detected|positive|pos|reactive|present)\b")
# A value that says there is no result: "Test not performed", "TNP", "Not done (clotted)". Only at
# the start of the value (or of one of its codings): "Detected; quantitation not performed" is a result.
_NOT_PERFORMED_TEXT = re.compile(r"^\W*(?:test\s+)?(?:not[\s-]+(?:performed|done)|tnp)\b")


class Result(NamedTuple):
    """One lab result as the rules read it (a NamedTuple: a call builds a dozen, in C)."""

    lab: LabResult
    test: str
    measurement: Measurement | None  # None: no number, or a unit we cannot convert
    when: datetime
    preliminary: bool
    # A derived count: how ("derived from lymphocytes 8% x WBC 4.5 x10^3/µL"); None when measured.
    derived_from: str | None = None

    @property
    def below_limit(self) -> bool:
        """A "<35 IU/mL" style result: measured, under the assay's limit."""
        return self.lab.comparator in ("<", "<=")

    @property
    def unconvertible(self) -> bool:
        """A number was reported but its unit could not be normalized."""
        return self.lab.value is not None and self.measurement is None

    @property
    def answer(self) -> str | None:
        """"positive" / "negative" / "indeterminate" from coded or text values."""
        return _answer(self.lab.value_codings, self.lab.value_text, self.lab.interpretation)

    @property
    def is_positive(self) -> bool:
        return self.answer == "positive"

    @property
    def is_negative(self) -> bool:
        return self.answer == "negative"

    @property
    def quantified(self) -> bool:
        """A number above the assay's limit, in a canonical unit."""
        return self.measurement is not None and not self.below_limit and self.measurement.value > 0

    @property
    def detected(self) -> bool:
        """Detected: a positive answer or a quantified amount."""
        if self.not_detected:
            return False
        return self.is_positive or self.quantified

    @property
    def not_detected(self) -> bool:
        """Not detected: a negative answer, a below-limit result, or zero."""
        if self.is_negative or self.below_limit:
            return True
        return self.lab.value is not None and self.lab.value == 0

    @property
    def value_label(self) -> str:
        """The result as a clinician would read it: "<35 IU/mL", "Not detected".

        A converted value shows the reported one beside it: "11.9 g/dL (reported 7.4 mmol/L)".
        """
        lab = self.lab
        if self.derived_from is not None and self.measurement is not None:
            return f"{_number(self.measurement.value)} {display_unit(self.measurement.unit)}, {self.derived_from}"
        if self.measurement is not None:
            prefix = lab.comparator or ""
            label = f"{prefix}{_number(self.measurement.value)} {display_unit(self.measurement.unit)}"
            # Cell counts are only rescaled (380 cells/uL = 0.38 x10^3/uL); cards show both anyway.
            converted = lab.value is not None and _number(lab.value) != _number(self.measurement.value)
            if converted and lab.value is not None and self.measurement.unit != COUNT:
                label += f" (reported {prefix}{_number(lab.value)} {lab.unit or lab.unit_code or 'no unit'})"
            return label
        if lab.value is not None:
            unit = lab.unit or lab.unit_code or "no unit"
            return f"{lab.comparator or ''}{_number(lab.value)} {unit} (unit not convertible)"
        shown = next((c.display for c in lab.value_codings if c.display), None) or lab.value_text
        return (shown or self.answer or "no value").strip()


# A TST induration written out: "7 mm", "12mm", "7 millimeters" (in "Positive, 12 mm", "7 mm induration").
_MM = r"\[?(?:mm|millimet(?:er|re)s?)\b"
_UNIT_MM = re.compile(rf"^\s*{_MM}", re.IGNORECASE)
_TEXT_MM = re.compile(rf"(?<![\d.])(\d+(?:\.\d+)?)\s*{_MM}", re.IGNORECASE)


def induration_mm(r: Result) -> float | None:
    """A tuberculin skin test's induration in mm, or None when no size was reported.

    The value in mm (UCUM "mm", "[mm]", "cm"; a number with no unit is mm: see
    terminology.units), or a unit that starts with mm ("mm induration"), or a
    size in the text ("Positive, 12 mm").
    """
    if r.measurement is not None and r.measurement.unit == "mm":
        return r.measurement.value
    lab = r.lab
    if lab.value is not None and any(u and _UNIT_MM.match(u) for u in (lab.unit, lab.unit_code)):
        return lab.value
    m = _TEXT_MM.search(lab.value_text or "")
    return float(m.group(1)) if m else None


def _number(v: float) -> str:
    if v >= 100:
        return f"{v:,.0f}"
    return f"{v:g}" if v == round(v, 2) else f"{v:.2f}"


def _answer(codings: tuple[Coding, ...], text: str | None, interpretation: tuple[Coding, ...]) -> str | None:
    for group in (codings, interpretation):
        codes = {(c.code or "").strip().upper() for c in group}
        if codes & _NEGATIVE_CODES:
            return "negative"
        if codes & _INDETERMINATE_CODES:
            return "indeterminate"
        if codes & _POSITIVE_CODES:
            return "positive"
    texts = [text or ""] + [c.display or "" for c in codings]
    for t in texts:
        t = t.lower()
        if _NEGATIVE_TEXT.search(t):
            return "negative"
        if _INDETERMINATE_TEXT.search(t):
            return "indeterminate"
        if _POSITIVE_TEXT.search(t):
            return "positive"
    return None


def _not_performed(lab: LabResult) -> bool:
    """The value says the test was not performed, and nothing in it reads as an answer."""
    if not any(_NOT_PERFORMED_TEXT.match(part) for part in (lab.value_text or "").split(";")):
        return False
    return _answer(lab.value_codings, lab.value_text, lab.interpretation) is None


@bounded_memo(4096)
def _test_key(codings: tuple[Coding, ...], text: str | None) -> str | None:
    """The lab-tests key of an Observation code (LOINC first, then code text)."""
    member = lookup.load("lab-tests").match(codings, (text,))
    return member.name if member else None


def _to_result(lab: LabResult, test: str) -> Result | None:
    if lab.effective is None:
        return None
    if lab.value is None and not lab.value_text and not lab.value_codings and not lab.interpretation:
        return None  # nothing measured (dataAbsentReason, unreadable value): not a result
    if lab.value is None and lab.value_text and _not_performed(lab):
        return None
    measurement = (
        to_canonical(test, lab.value, lab.unit, lab.unit_code) if lab.value is not None else None
    )
    return Result(lab, test, measurement, lab.effective, lab.preliminary)


def _converted(labs: Iterable[LabResult], test: str) -> Iterator[Result]:
    """The usable results among dated LabResults of `test`, in their order."""
    for lab in labs:
        result = _to_result(lab, test)
        if result is not None:
            yield result


class _TestResults:
    """One test's usable results, newest first, converted only as far as callers have read."""

    __slots__ = ("_complete", "_read", "_results", "test")

    def __init__(self, test: str, results: Iterator[Result]) -> None:
        self.test = test
        self._results = results  # usable results of this test, newest first, made as they are taken
        self._read: list[Result] = []
        self._complete = False

    def _read_until(self, count: int | None) -> None:
        if self._complete:
            return
        for result in self._results:
            self._read.append(result)
            if count is not None and len(self._read) >= count:
                return
        self._complete = True

    def at(self, i: int) -> Result | None:
        """The i-th newest result (reading no further), or None."""
        if len(self._read) <= i:
            self._read_until(i + 1)
        return self._read[i] if i < len(self._read) else None

    def newest(self) -> Result | None:
        return self.at(0)

    def all(self) -> list[Result]:
        self._read_until(None)
        return list(self._read)

    def newest_first(self) -> Iterator[Result]:
        """The results newest first, converting further only as the caller goes on."""
        i = 0
        while (result := self.at(i)) is not None:
            yield result
            i += 1


ALC = "lymphocytes-absolute"
LYMPHOCYTE_PERCENT = "lymphocytes-percent"
WBC = "wbc"


def _derived_counts(record: PatientRecord) -> Iterator[Result]:
    """ALCs derived from a lymphocyte % and a WBC of the same specimen time, newest first.

    Both lists are newest first, so one pass over each pairs them (a merge join),
    reading no further back than the percentages asked for.
    """
    percents, wbcs = _results_of(record, LYMPHOCYTE_PERCENT), _results_of(record, WBC)
    i = j = 0
    last: datetime | None = None
    while (pct := percents.at(i)) is not None:
        i += 1
        if pct.when == last or not _usable_percent(pct):
            continue  # a second percentage of the same specimen: one count per specimen time
        while (w := wbcs.at(j)) is not None and w.when > pct.when:
            j += 1  # WBCs newer than this percentage have no percentage of their own
        k = j
        while (w := wbcs.at(k)) is not None and w.when == pct.when:
            if _usable_count(w):
                last = pct.when
                yield _derived(pct, w)
                break
            k += 1


def _usable_percent(r: Result) -> bool:
    m = r.measurement
    return m is not None and not r.lab.comparator and 0 <= m.value <= 100


def _usable_count(r: Result) -> bool:
    m = r.measurement
    return m is not None and not r.lab.comparator and m.unit == COUNT and m.value >= 0


def _derived(pct: Result, wbc: Result) -> Result:
    value = wbc.measurement.value * pct.measurement.value / 100  # type: ignore[union-attr]  # checked usable
    preliminary = pct.preliminary or wbc.preliminary
    lab = LabResult(
        id=f"{pct.lab.id}+{wbc.lab.id}",  # the two Observations it rests on
        codings=pct.lab.codings,
        status="preliminary" if preliminary else pct.lab.status,
        effective=pct.when,
        value=value,
        unit=COUNT,
        unit_code=COUNT,
    )
    how = (
        f"derived from lymphocytes {_number(pct.measurement.value)}% x WBC "  # type: ignore[union-attr]
        f"{_number(wbc.measurement.value)} {display_unit(COUNT)}"  # type: ignore[union-attr]
    )
    return Result(lab, ALC, Measurement(value, COUNT), pct.when, preliminary, how)


def _with_derived(measured: Iterator[Result], derived: Iterator[Result]) -> Iterator[Result]:
    """Measured and derived ALCs, newest first; a count derived for a time that has a measured one is dropped."""
    m, d = next(measured, None), next(derived, None)
    measured_at: datetime | None = None  # time of the last measured result given
    while m is not None or d is not None:
        if d is not None and (d.when == measured_at or (m is not None and d.when == m.when)):
            d = next(derived, None)  # the lab's own count at this time wins
        elif d is None or (m is not None and m.when > d.when):
            measured_at = m.when  # type: ignore[union-attr]  # m is not None here
            yield m  # type: ignore[misc]
            m = next(measured, None)
        else:
            yield d
            d = next(derived, None)


def _groups_by_test(record: PatientRecord) -> dict[str, list[Hashable]]:
    """The record's Observation code groups by lab test (a few distinct codes, however many results)."""
    by_test: dict[str, list[Hashable]] = {}
    for key, group in record.observations.groups().items():
        test = _test_key(group.codings, group.text)
        if test is not None:
            by_test.setdefault(test, []).append(key)
    return by_test


def _newest_labs(record: PatientRecord, test: str) -> Iterator[LabResult]:
    """The dated LabResults of `test`, newest first, read only as they are taken."""
    return record.observations.newest_first(record.derived(_groups_by_test).get(test, ()))


def _results_by_test(record: PatientRecord) -> dict[str, _TestResults]:
    """Filled by `_results_of` as rules ask for tests (a test no rule reads is never read)."""
    return {}


def _results_of(record: PatientRecord, test: str) -> _TestResults:
    done = record.derived(_results_by_test)
    found = done.get(test)
    if found is None:
        results = _converted(_newest_labs(record, test), test)
        if test == ALC:
            results = _with_derived(results, _derived_counts(record))
        found = done[test] = _TestResults(test, results)
    return found


def results(record: PatientRecord, test: str) -> list[Result]:
    """Every usable result of `test`, newest first."""
    return _results_of(record, test).all()


def results_any(record: PatientRecord, tests: tuple[str, ...]) -> list[Result]:
    """Results of any of `tests` (e.g. CMV in IU and in copies), newest first."""
    out = [r for t in tests for r in results(record, t)]
    out.sort(key=lambda r: r.when, reverse=True)
    return out


def newest_first_any(record: PatientRecord, tests: tuple[str, ...]) -> Iterator[Result]:
    """What `results_any` gives, in its order, read only as far as the caller iterates.

    For a rule that wants the newest result meeting a condition and can stop
    there: a patient on therapy has a year or more of each monitored test.
    Each test's results are newest first, and `heapq.merge` is stable (on equal
    times the earlier test's results come first), as the sort of `results_any` is.
    """
    streams = [_results_of(record, test).newest_first() for test in tests]
    if len(streams) == 1:
        return streams[0]
    return heapq.merge(*streams, key=_when, reverse=True)


def _when(result: Result) -> datetime:
    return result.when


def days_between(earlier: datetime, later: datetime) -> int:
    """Calendar days from `earlier` to `later` (UTC dates): windows count whole days."""
    return (_utc_date(later) - _utc_date(earlier)).days


def _utc_date(moment: datetime) -> date:
    # Nearly every FHIR time arrives in UTC ("Z"): no conversion needed then.
    return moment.date() if moment.tzinfo is UTC else moment.astimezone(UTC).date()


def within(items: list[Result], now: datetime, days: int | None) -> list[Result]:
    """The results dated at most `days` calendar days before now (all when `days` is None)."""
    if days is None:
        return list(items)
    return [r for r in items if days_between(r.when, now) <= days]


def latest(record: PatientRecord, test: str, within_days: int | None = None) -> Result | None:
    """The newest usable result of `test`, optionally within `within_days` of now."""
    newest = _results_of(record, test).newest()  # reads no further than the newest usable one
    # Newest first: if the newest is outside the window, every other one is too.
    if newest is None or (within_days is not None and days_between(newest.when, record.now) > within_days):
        return None
    return newest



def upper_limit(r: Result) -> float | None:
    """The lab's upper limit of normal for this result (referenceRange.high) in the test's canonical
    unit; None when none was sent or its unit cannot be converted."""
    if r.lab.reference_high is None:
        return None
    m = to_canonical(r.test, r.lab.reference_high, r.lab.reference_high_unit, r.lab.reference_high_unit)
    return m.value if m is not None and m.value > 0 else None
