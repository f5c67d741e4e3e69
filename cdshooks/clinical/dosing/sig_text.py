"""Frequencies and doses written as words: timing codes and free-text sigs.

Used by `cdshooks.clinical.dosing.daily_dose` when the structured parts of a
dosageInstruction are missing. Every reader returns None (or a problem)
rather than a guess: "5 mg twice daily" is read, "5 mg as directed" is not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# HL7 v3-GTSAbbreviation codes (the FHIR R4 timing-abbreviation value set) plus
# the spellings EHRs put in timing.code anyway: administrations per day.
TIMING_CODES: dict[str, float] = {
    "QD": 1, "DAILY": 1, "OD": 1, "Q24H": 1, "AM": 1, "QAM": 1, "PM": 1, "QPM": 1,
    "BED": 1, "HS": 1, "QHS": 1, "QN": 1,
    "BID": 2, "Q12H": 2,
    "TID": 3, "Q8H": 3,
    "QID": 4, "Q6H": 4,
    "Q4H": 6, "Q3H": 8, "Q2H": 12, "Q1H": 24, "QH": 24,
    "QOD": 0.5, "Q48H": 0.5,
    "WK": 1 / 7, "QW": 1 / 7, "QWK": 1 / 7, "Q1W": 1 / 7, "WEEKLY": 1 / 7,
    "BIW": 2 / 7, "TIW": 3 / 7,
    "MO": 12 / 365.25, "MONTHLY": 12 / 365.25,
}

_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
# Words of a spelled-out number, any size ("twelve", "twenty-four", "one hundred").
_SPELLING_WORDS = frozenset(
    [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
        "twenty",
        "thirty",
        "forty",
        "fifty",
        "sixty",
        "seventy",
        "eighty",
        "ninety",
        "hundred",
        "thousand",
        "and",
        "half",
        "quarter",
    ]
)
# Epic writes the number again in words after the digits: "every 12 (twelve) hours",
# "2 (two) times daily". Bounded repetitions only: the text comes from the client.
_DIGITS_THEN_WORDS = re.compile(
    r"(\d)[ \t]{0,3}\([ \t]{0,3}([a-z]{1,12}(?:[ -][a-z]{1,12}){0,4})[ \t]{0,3}\)", re.IGNORECASE
)
# Sigs are short; reading only the start keeps every pattern's cost bounded.
MAX_SIG_CHARS = 1000
# A number never starts inside another one: "1/2 tab" is half a tablet, not 2 tablets.
# Every quantifier in this module's patterns is bounded ({m,n}), never * or +, so no
# pattern backtracks more than a constant per character of the (already cut) sig.
_NUM = r"(?<![\d./-])(\d{1,4}/\d{1,4}|\d{1,6}(?:\.\d{1,4})?|one|two|three|four|five|six)"
# Blanks between words (a sig's whitespace runs are collapsed to one space first).
_SP = r"\s{0,3}"
_SP1 = r"\s{1,3}"

# (pattern, administrations per day or a function of the match). Order does not
# matter: every pattern is tried and different answers are a problem.
_FREQUENCY_PATTERNS: tuple[tuple[re.Pattern[str], object], ...] = tuple(
    (re.compile(p, re.IGNORECASE), v)
    for p, v in (
        (
            r"\b(once|1 time|one time)\s{0,3}(a|per|each)?\s{0,3}day\b|\bonce daily\b"
            r"|\b(?<!twice )(?<!times )(?<!x )(?<!\dx )daily\b"
            r"|\bevery day\b|\bq\.?\s?d\.?(?!\w)|\bo\.?d\.?(?!\w)|\bq\.?\s?24\s?h(ou)?r?s?\b",
            1,
        ),
        (
            r"\bnightly\b|\bat bedtime\b|\bq\.?\s?hs\b|\bevery (morning|evening|night)\b|\bq\.?\s?am\b|\bq\.?\s?pm\b",
            "time-of-day",
        ),
        (r"\b(morning|am)\s{0,3}(and|&)\s{0,3}(every |in the |at )?(evening|night|bedtime|pm)\b", "two-times-of-day"),
        (r"\btwice\s{0,3}(a|per|each)?\s{0,3}(day|daily)\b|\bb\.?i\.?d\.?(?!\w)|\bq\.?\s?12\s?h(ou)?r?s?\b", 2),
        (r"\bt\.?i\.?d\.?(?!\w)|\bq\.?\s?8\s?h(ou)?r?s?\b", 3),
        (r"\bq\.?i\.?d\.?(?!\w)|\bq\.?\s?6\s?h(ou)?r?s?\b", 4),
        (r"\bevery other day\b|\bq\.?o\.?d\.?(?!\w)|\bevery 48 hours\b|\balternate days\b", 0.5),
        (r"\b(once\s{0,3}(a|per|each)?\s{0,3}week|weekly|every week)\b", 1 / 7),
        (_NUM + _SP + r"(x|times)" + _SP + r"(a|per|each)?" + _SP + r"(day|daily)\b", "times"),
        (r"\bevery" + _SP1 + _NUM + _SP + r"(h|hr|hrs|hour|hours)\b", "every-hours"),
    )
)

_AS_NEEDED = re.compile(r"\b(p\.?r\.?n\.?|as needed|when needed|if needed)\b", re.IGNORECASE)
_DOSE_UNIT = r"(mg|milligrams?|mcg|micrograms?|µg|ug|g|grams?|ml|milliliters?|tablets?|tabs?)\b"
_DOSE = re.compile(_NUM + _SP + _DOSE_UNIT, re.IGNORECASE)
# "1-2 tabs", "1 to 2 tablets", "5-10 mg": a range is not one dose (never read its high end).
_DOSE_RANGE = re.compile(r"\d" + _SP + r"(-|–|to|or)" + _SP + _NUM + _SP + _DOSE_UNIT, re.IGNORECASE)  # noqa: RUF001


def _number(token: str) -> float:
    if "/" in token:
        top, bottom = token.split("/")
        return float(top) / float(bottom) if float(bottom) else 0.0
    return float(_NUMBER_WORDS.get(token.lower(), token))


def frequency_from_code(code: str | None) -> float | None:
    """Administrations per day for a timing code (BID, Q8H, ...), else None."""
    if not code:
        return None
    if len(code) > 40:
        return None
    key = re.sub(r"[\s.]", "", code).upper()
    return TIMING_CODES.get(key)


@dataclass(frozen=True)
class TextReading:
    """What a free-text sig says: a value, or why it could not be read."""

    value: float | None
    unit: str | None = None  # for doses: mg, mcg, g, ml, tablet
    problem: str | None = None


_BLANKS = re.compile(r"\s+")  # a single quantifier over one class: linear


def was_cut(text: str | None) -> bool:
    """True when only the first MAX_SIG_CHARS characters of the sig are read."""
    return bool(text) and len(text) > MAX_SIG_CHARS  # type: ignore[arg-type]


def without_spelled_numbers(text: str) -> str:
    """The sig as read: its first MAX_SIG_CHARS characters, blanks collapsed, and a number
    repeated in words after its digits removed, for any number: "12 (twelve) hours" ->
    "12 hours", "24 (twenty-four) hours" -> "24 hours"."""

    def drop(m: re.Match[str]) -> str:
        words = re.split(r"[ -]", m.group(2).lower())
        return m.group(1) if all(w in _SPELLING_WORDS for w in words) else m.group(0)

    return _DIGITS_THEN_WORDS.sub(drop, _BLANKS.sub(" ", text[:MAX_SIG_CHARS]))


def frequency_from_text(text: str | None) -> TextReading:
    """Administrations per day from a sig such as "5 mg twice daily"."""
    if not text:
        return TextReading(None, problem="no frequency")
    text = without_spelled_numbers(text)
    found: set[float] = set()
    times_of_day: set[str] = set()
    for pattern, value in _FREQUENCY_PATTERNS:
        for m in pattern.finditer(text):
            if value == "times":
                found.add(_number(m.group(1)))
            elif value == "every-hours":
                hours = _number(m.group(1))
                if hours > 0:
                    found.add(24 / hours)
            elif isinstance(value, str):
                times_of_day.add(value)
            else:
                found.add(float(value))  # type: ignore[arg-type]
    # "every morning and evening" is twice a day; "every morning" alone is once.
    if "two-times-of-day" in times_of_day:
        found.add(2.0)
    elif times_of_day:
        found.add(1.0)
    if not found:
        return TextReading(None, problem=f"no frequency in text {text!r}")
    if len(found) > 1:
        return TextReading(None, problem=f"conflicting frequencies in text {text!r}")
    return TextReading(found.pop())


def dose_from_text(text: str | None) -> TextReading:
    """The dose per administration in a sig; a mass wins over a tablet count."""
    if not text:
        return TextReading(None, problem="no dose")
    text = without_spelled_numbers(text)
    if _DOSE_RANGE.search(text):
        return TextReading(None, problem=f"the dose in text {text!r} is a range, not a single dose")
    masses: set[tuple[float, str]] = set()
    others: set[tuple[float, str]] = set()
    for m in _DOSE.finditer(text):
        unit = _normalize_unit(m.group(2))
        # "mg/mL" is a concentration, not a dose
        if text[m.end() : m.end() + 3].lstrip().startswith("/"):
            continue
        (masses if unit in ("mg", "mcg", "g") else others).add((_number(m.group(1)), unit))
    chosen = masses or others
    if not chosen:
        return TextReading(None, problem=f"no dose in text {text!r}")
    if len(chosen) > 1:
        return TextReading(None, problem=f"more than one dose in text {text!r}")
    value, unit = chosen.pop()
    return TextReading(value, unit)


def says_as_needed(text: str | None) -> bool:
    return bool(text and _AS_NEEDED.search(text[:MAX_SIG_CHARS]))


def _normalize_unit(unit: str) -> str:
    u = unit.lower()
    if u.startswith("mg") or u.startswith("milligram"):
        return "mg"
    if u in ("mcg", "ug", "µg") or u.startswith("microgram"):
        return "mcg"
    if u in ("g",) or u.startswith("gram"):
        return "g"
    if u.startswith("ml") or u.startswith("milliliter"):
        return "ml"
    return "tablet"
