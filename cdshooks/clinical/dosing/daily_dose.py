"""Daily dose of any MedicationOrder, from its `dosageInstruction` (never guessed).

Daily dose = sum over dosageInstruction of dose x administrations per day
(clinical-rules.md, "Data the rules read"). Each part is read from the
structured fields first and falls back to the instruction's `text`:

- dose: `doseAndRate[].doseQuantity` in mg / g / mcg, tablets x `strength_mg`,
  mL x `concentration_mg_per_ml`; else the text ("5 mg", "1 tablet").
- frequency: `timing.repeat` (frequency per period periodUnit, or the number of
  `when` / `timeOfDay` entries per day), else `timing.code` (BID, Q8H, ...),
  else the text ("twice daily", "every 12 hours").

Decisions (documented because they are choices):
- Ranges are not doses: `doseRange`, `frequencyMax` and `periodMax` give a
  problem, not the high or low end (a range is not one daily dose).
- `asNeeded` (or "PRN" in the text) gives a problem: no fixed daily dose.
- Instructions with the same `sequence` (or none) are concurrent and summed.
  Different `sequence` values are consecutive steps (a taper, or a step up;
  clinical-rules.md, "Dosage text and structure"): the daily dose is that of
  the step in force at `now`, dated by `timing.repeat.boundsPeriod`, or by
  `boundsDuration` counted from the previous step's end (the first step from
  its own start, else the order's authoredOn); else that of the first step.
  Callers that pass no `now` get the first step. The reading says a taper was
  read (`taper_note`, and the start of `basis`, which dose cards show).
  Unnumbered instructions next to numbered steps are a problem (which step
  would they belong to?).
- Only the first `dose_text.MAX_SIG_CHARS` characters of a sig are read, and
  the basis says so when a sig was cut.
- The R4 `doseAndRate[].doseQuantity` is read, and so is the STU3
  `doseQuantity` directly on the dosage (the sandbox sends it for STU3 servers).
- A month is 365.25/12 days.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeGuard

from cdshooks.clinical.dosing import sig_text as dose_text
from cdshooks.data.record import MedicationOrder

_MASS_FACTORS = {"mg": 1.0, "g": 1000.0, "mcg": 0.001, "ug": 0.001, "µg": 0.001}
# Tablet-like dose units (clinical-rules.md, "Dosage text and structure"): UCUM
# annotations, which the CDS Hooks sandbox sends as `{pill}`, and plain words.
_TABLET_UNITS = {
    "tab", "tabs", "tablet", "tablets", "tbl", "pill", "pills", "capsule", "capsules", "cap", "caps",
    "{tbl}", "{tab}", "{tabs}", "{tablet}", "{tablets}", "{pill}", "{pills}", "{capsule}", "{capsules}",
}
_PER_KG_UNITS = {"mg/kg", "mg/kg/dose", "milligram per kilogram"}
_ML_UNITS = {"ml", "milliliter", "milliliters", "millilitre"}
_PERIOD_DAYS = {"s": 1 / 86400, "min": 1 / 1440, "h": 1 / 24, "d": 1.0, "wk": 7.0, "mo": 365.25 / 12, "a": 365.25}


@dataclass(frozen=True)
class DoseReading:
    """A daily dose and how it was read; `mg_per_day` is None when `problem` says why.

    dose_mg:  mg per administration (None if unread, or different across instructions)
    per_day:  administrations per day, summed over concurrent instructions
    basis:    how the numbers were read, for the card's detail (a taper's starts with the taper note)
    taper_note: set when the instructions are consecutive steps: which step was read and why
    """

    mg_per_day: float | None
    dose_mg: float | None
    per_day: float | None
    basis: str
    problem: str | None = None
    taper_note: str | None = None

    @property
    def readable(self) -> bool:
        return self.mg_per_day is not None


@dataclass(frozen=True)
class _Part:
    value: float | None
    basis: str
    problem: str | None = None


def daily_dose(
    order: MedicationOrder,
    strength_mg: float | None = None,
    concentration_mg_per_ml: float | None = None,
    body_weight_kg: float | None = None,
    now: datetime | None = None,
) -> DoseReading:
    """The order's daily dose in mg, or a reading whose `problem` says what was missing.

    A weight-based dose (mg/kg) needs `body_weight_kg`; without it the dose is unread.
    Consecutive steps (different `sequence` values): the step in force at `now`,
    else the first step (always the first step when `now` is None).
    """
    instructions = [d for d in order.dosage_instructions if isinstance(d, Mapping)]
    if not instructions:
        return DoseReading(None, None, None, "no dosageInstruction", "the order has no dosage instructions")
    numbered = [d for d in instructions if d.get("sequence") is not None]
    if len({_sequence_key(d.get("sequence")) for d in numbered}) <= 1:
        return _concurrent(instructions, strength_mg, concentration_mg_per_ml, body_weight_kg)
    if len(numbered) < len(instructions):
        return DoseReading(
            None, None, None, "sequential dosageInstruction",
            "numbered dosage steps next to unnumbered instructions: which step do those belong to?",
        )
    if any(_sequence_key(d.get("sequence")) is None for d in numbered):
        return DoseReading(None, None, None, "sequential dosageInstruction", "a dosage sequence is not a number")
    by_step: dict[int, list[Mapping[str, Any]]] = {}
    for d in numbered:
        by_step.setdefault(_sequence_key(d.get("sequence")), []).append(d)  # type: ignore[arg-type]
    steps = [by_step[k] for k in sorted(by_step)]
    readings = [_concurrent(step, strength_mg, concentration_mg_per_ml, body_weight_kg) for step in steps]
    index, why = _step_in_force(steps, order.authored_on, now)
    chosen = readings[index]
    per_step = ", ".join(f"{r.mg_per_day:g}" if r.readable else "unread" for r in readings)
    note = (
        f"taper read: {len(steps)} consecutive dosage steps (mg/day: {per_step}); "
        f"the dose is that of step {index + 1} ({why})"
    )
    return DoseReading(
        chosen.mg_per_day, chosen.dose_mg, chosen.per_day, f"{note}: {chosen.basis}", chosen.problem, note
    )


def _concurrent(
    instructions: list[Mapping[str, Any]], strength: float | None, conc: float | None, weight: float | None
) -> DoseReading:
    """Instructions that run at the same time: their daily doses are summed."""
    doses: list[_Part] = []
    freqs: list[_Part] = []
    for d in instructions:
        doses.append(_dose(d, strength, conc, weight))
        freqs.append(_frequency(d))
    basis = "; ".join(f"{dp.basis} x {fp.basis}" for dp, fp in zip(doses, freqs, strict=True))
    dose_values = {p.value for p in doses}
    dose_mg = dose_values.pop() if len(dose_values) == 1 else None
    per_day_values = [f.value for f in freqs]
    per_day = sum(v for v in per_day_values if v is not None) if None not in per_day_values else None
    problems = [p.problem for p in (*doses, *freqs) if p.problem]
    if any(dose_text.was_cut(_sig(d)) for d in instructions) and ("(text" in basis or problems):
        basis += f" (only the first {dose_text.MAX_SIG_CHARS:,} characters of the text were read)"
    if problems:
        return DoseReading(None, dose_mg, per_day, basis, "; ".join(dict.fromkeys(problems)))
    # Every part without a value carries a problem, so with no problems every value is there.
    total = sum(
        dp.value * fp.value
        for dp, fp in zip(doses, freqs, strict=True)
        if dp.value is not None and fp.value is not None
    )
    return DoseReading(round(total, 6), dose_mg, per_day, basis)


def _sequence_key(x: Any) -> int | None:
    """A `sequence` as an integer (EHRs sometimes send "2"); None if it is not one."""
    if isinstance(x, bool):
        return None
    if isinstance(x, int):
        return x
    if isinstance(x, float) and x.is_integer():
        return int(x)
    if isinstance(x, str) and x.strip().isdigit() and len(x.strip()) <= 6:
        return int(x.strip())
    return None


def _step_in_force(
    steps: list[list[Mapping[str, Any]]], authored: datetime | None, now: datetime | None
) -> tuple[int, str]:
    """(index of the step in force at `now`, why); the first step when that cannot be told."""
    if now is None:
        return 0, "the first step: no date to place the steps against"
    now = _aware(now)
    start = _aware(authored) if authored is not None else None
    for i, step in enumerate(steps):
        bounds_start, bounds_end, duration = _bounds(step)
        if bounds_start is not None:
            start = bounds_start
        end = bounds_end
        if end is None and duration is not None and start is not None:
            end = start + duration
        if start is not None and end is not None and start <= now < end:
            return i, f"in force now: {start.date().isoformat()} to {end.date().isoformat()}"
        if i == len(steps) - 1 and start is not None and end is None and start <= now:
            return i, f"in force now: the last step, from {start.date().isoformat()}"
        # The next step begins where this one ends; if this end is unknown, only a
        # later step's own boundsPeriod start can date it again.
        start = end
    return 0, "the first step: the step in force now could not be dated"


def _bounds(step: list[Mapping[str, Any]]) -> tuple[datetime | None, datetime | None, timedelta | None]:
    """The step's boundsPeriod start/end and boundsDuration (from any of its instructions)."""
    start = end = None
    duration = None
    for d in step:
        timing = _mapping(d.get("timing"))
        repeat = _mapping(timing.get("repeat"))
        period = repeat.get("boundsPeriod")
        if isinstance(period, Mapping):
            start = start or _instant(period.get("start"))
            end = end or _instant(period.get("end"), end_of_day=True)
        dur = repeat.get("boundsDuration")
        if isinstance(dur, Mapping) and duration is None:
            value, unit = dur.get("value"), dur.get("code") or dur.get("unit")
            if _positive(value) and isinstance(unit, str) and unit.strip().lower() in _DURATION_UNITS:
                duration = timedelta(days=float(value) * _PERIOD_DAYS[_DURATION_UNITS[unit.strip().lower()]])
    return start, end, duration


_DURATION_UNITS = {
    "d": "d", "day": "d", "days": "d", "wk": "wk", "week": "wk", "weeks": "wk", "mo": "mo", "month": "mo",
    "months": "mo", "h": "h", "hour": "h", "hours": "h", "a": "a", "year": "a", "years": "a", "min": "min",
}


def _instant(x: Any, end_of_day: bool = False) -> datetime | None:
    """A FHIR date or dateTime as an aware datetime; a bare date ending a period covers that whole day."""
    if not isinstance(x, str) or not x.strip() or len(x) > 40:
        return None
    text = x.strip()
    try:
        if len(text) == 10:
            d = date.fromisoformat(text)
            t = time.max if end_of_day else time.min
            return datetime.combine(d, t, tzinfo=UTC)
        return _aware(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        return None


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def _sig(d: Mapping[str, Any]) -> str | None:
    """The instruction's free text: `text`, else `patientInstruction` (read the same way)."""
    for key in ("text", "patientInstruction"):
        value = d.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return None


def _dose(d: Mapping[str, Any], strength: float | None, concentration: float | None, weight: float | None) -> _Part:
    text = _sig(d)
    if _as_needed(d) or dose_text.says_as_needed(text):
        return _Part(None, "as needed", "taken as needed: no fixed daily dose")
    stu3 = [{"doseQuantity": d["doseQuantity"]}] if isinstance(d.get("doseQuantity"), Mapping) else []
    stu3 += [{"doseRange": d["doseRange"]}] if d.get("doseRange") is not None else []
    for dr in [*_list(d.get("doseAndRate")), *stu3]:
        if not isinstance(dr, Mapping):
            continue
        if isinstance(dr.get("doseQuantity"), Mapping):
            q = dr["doseQuantity"]
            value = q.get("value")
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                return _Part(None, "doseQuantity", "doseQuantity has no numeric value")
            unit = q.get("code") or q.get("unit")
            return _amount(float(value), str(unit) if unit else None, "doseQuantity", strength, concentration, weight)
        if dr.get("doseRange") is not None:
            return _Part(None, "doseRange", "the dose is a range (doseRange), not a single dose")
    reading = dose_text.dose_from_text(text)
    if reading.value is None:
        return _Part(None, "no dose", reading.problem or "no dose")
    return _amount(reading.value, reading.unit, "text", strength, concentration, weight)


def _amount(
    value: float, unit: str | None, where: str, strength: float | None, conc: float | None, weight: float | None = None
) -> _Part:
    if unit is None:
        return _Part(None, f"{value:g} ({where})", f"dose {value:g} has no unit")
    u = unit.strip().lower()
    if u in ("milligram", "milligrams"):
        u = "mg"
    u = u.replace("(s)", "s")  # EHR pick-list spellings: "tablet(s)", "tab(s)"
    if u in _MASS_FACTORS:
        return _Part(value * _MASS_FACTORS[u], f"{value:g} {u} ({where})")
    if u in _PER_KG_UNITS:
        if weight is None:
            return _Part(None, f"{value:g} mg/kg ({where})", "weight-based dose (mg/kg) without a recent body weight")
        return _Part(value * weight, f"{value:g} mg/kg x {weight:g} kg ({where})")
    if u in _TABLET_UNITS:
        if strength is None:
            return _Part(None, f"{value:g} tablet ({where})", "tablet count without a known tablet strength")
        return _Part(value * strength, f"{value:g} tablet x {strength:g} mg ({where})")
    if u in _ML_UNITS:
        if conc is None:
            return _Part(None, f"{value:g} mL ({where})", "volume without a known concentration")
        return _Part(value * conc, f"{value:g} mL x {conc:g} mg/mL ({where})")
    return _Part(None, f"{value:g} {unit} ({where})", f"dose unit {unit!r} is not a mass, tablet or mL")


def _frequency(d: Mapping[str, Any]) -> _Part:
    timing = _mapping(d.get("timing"))
    repeat = timing.get("repeat") if isinstance(timing.get("repeat"), Mapping) else None
    if repeat:
        part = _from_repeat(repeat)
        if part is not None:
            return part
    code = timing.get("code") if isinstance(timing.get("code"), Mapping) else None
    if code:
        for c in _list(code.get("coding")):
            if isinstance(c, Mapping):
                # a local code (Cerner) often carries the abbreviation only in its display
                for key in ("code", "display"):
                    value = c.get(key) if isinstance(c.get(key), str) else None
                    per_day = dose_text.frequency_from_code(value)
                    if per_day is not None:
                        return _Part(per_day, f"{_per_day(per_day)} (timing.code {value})")
        code_text = code.get("text")
        if isinstance(code_text, str):
            from_code = dose_text.frequency_from_code(code_text) or dose_text.frequency_from_text(code_text).value
            if from_code is not None:
                return _Part(from_code, f"{_per_day(from_code)} (timing.code text)")
    reading = dose_text.frequency_from_text(_sig(d))
    if reading.value is None:
        return _Part(None, "frequency unknown", reading.problem or "no frequency")
    return _Part(reading.value, f"{_per_day(reading.value)} (text)")


def _from_repeat(r: Mapping[str, Any]) -> _Part | None:
    """Administrations per day from timing.repeat; None when it says nothing about frequency."""
    if r.get("frequencyMax") is not None or r.get("periodMax") is not None:
        return _Part(None, "timing.repeat range", "the frequency is a range (frequencyMax/periodMax)")
    times = len(_strings(r.get("when"))) + len(_strings(r.get("timeOfDay")))
    # DSTU2 (MedicationOrder) spelled it periodUnits
    frequency, period, unit = r.get("frequency"), r.get("period"), r.get("periodUnit", r.get("periodUnits"))
    if period is None and unit is None:
        if times:
            return _Part(float(times), f"{times}/day (timing.repeat when/timeOfDay)")
        if frequency is not None:
            return _Part(None, "timing.repeat", "timing.repeat frequency without a period")
        return None
    if not _positive(period) or not isinstance(unit, str) or unit not in _PERIOD_DAYS:
        return _Part(None, "timing.repeat", f"unreadable timing.repeat period {period!r} {unit!r}")
    if frequency is not None and not _positive(frequency):
        return _Part(None, "timing.repeat", f"unreadable timing.repeat frequency {frequency!r}")
    n = float(frequency) if frequency is not None else 1.0
    if times and frequency is not None and times != n:
        return _Part(None, "timing.repeat", "timing.repeat frequency disagrees with its when/timeOfDay")
    n = float(times) if times else n
    per_day = n / (float(period) * _PERIOD_DAYS[unit])
    return _Part(per_day, f"{_per_day(per_day)} (timing.repeat {n:g} per {float(period):g} {unit})")


def _strings(x: Any) -> set[str]:
    """The distinct strings of a FHIR array (anything else in it is ignored)."""
    return {v for v in _list(x) if isinstance(v, str)}


def _per_day(n: float) -> str:
    return f"{n:.4g}/day"


def _positive(x: Any) -> TypeGuard[float]:
    """A positive number (an int or a float, not a bool)."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and x > 0


def _as_needed(d: Mapping[str, Any]) -> bool:
    return d.get("asNeededBoolean") is True or isinstance(d.get("asNeededCodeableConcept"), Mapping)


def _mapping(x: Any) -> Mapping[str, Any]:
    """A FHIR object, or an empty one when it is absent or not an object."""
    return x if isinstance(x, Mapping) else {}


def _list(x: Any) -> list[Any]:
    """FHIR arrays as EHRs send them: a list, a single object, or nothing."""
    if x is None:
        return []
    return list(x) if isinstance(x, (list, tuple)) else [x]
