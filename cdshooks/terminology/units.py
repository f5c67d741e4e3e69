"""Lab values to the canonical unit of their test (terminology.md, "canonical units").

`to_canonical(test, value, unit, unit_code)` -> Measurement | None. `test` is a
member name of the `lab-tests` value set ("lymphocytes-absolute", "hemoglobin").

Canonical units:
- cell counts (ALC, ANC, WBC, platelets): 10*3/uL (= 10*9/L = K/uL). Rules that
  think in cells/uL (= cells/mm3; ALC < 500) convert with `cells_per_ul()`.
- lymphocytes as a percentage of leukocytes: % (a UCUM fraction, unit "1",
  converts: 0.08 is 8%).
- hemoglobin g/dL; creatinine, lipids mg/dL; eGFR mL/min/{1.73_m2};
  creatinine clearance mL/min; weight kg; ALT/AST/CK U/L; ferritin ng/mL.
- hCG (pregnancy tests, qualitative and quantitative codes): [IU]/L; mIU/mL is
  the same number (5 mIU/mL = 5 IU/L). A molar hCG result (pmol/L) is not
  converted: no factor is given in terminology.md.
- tuberculin skin test (TST) induration: mm. A TST is read in mm only, so a
  number that comes with no unit at all is taken as mm (`UNITLESS`).
- viral loads (CMV, EBV): [IU]/mL; a log10 IU/mL value v means 10^v IU/mL.
  Copies/mL results keep their own unit `{copies}/mL` and are never converted
  to IU (no fixed factor exists: it depends on the assay).

How: a fast table of the spellings labs actually send (checked first, no
library needed), then the UCUM library `ucumvert` for other UCUM codes (loaded
lazily on first need because it takes ~1 s to initialise; results cached; codes
of at most `MAX_UCUM_CHARS` characters).
ucumvert ignores UCUM annotations and treats [IU] as dimensionless, so it is
never asked about viral loads, eGFR, or codes carrying `{...}` or `[IU]`.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass
from typing import Any

from cdshooks.memo import bounded_memo


@dataclass(frozen=True)
class Measurement:
    """A value in the canonical unit of its test."""

    value: float
    unit: str


COUNT = "10*3/uL"
IU_ML = "[IU]/mL"
COPIES_ML = "{copies}/mL"
IU_L = "[IU]/L"
CELLS_PER_UL_PER_COUNT = 1000.0  # 1 x 10*3/uL = 1000 cells/uL = 1000 cells/mm3

# Canonical unit per lab-tests value set member.
CANONICAL: dict[str, str] = {
    "lymphocytes-absolute": COUNT,
    "neutrophils-absolute": COUNT,
    "wbc": COUNT,
    "lymphocytes-percent": "%",
    "platelets": COUNT,
    "hemoglobin": "g/dL",
    "creatinine": "mg/dL",
    "egfr": "mL/min/{1.73_m2}",
    "creatinine-clearance": "mL/min",
    "body-weight": "kg",
    "alt": "U/L",
    "ast": "U/L",
    "ck": "U/L",
    "cholesterol-total": "mg/dL",
    "ldl": "mg/dL",
    "hdl": "mg/dL",
    "triglycerides": "mg/dL",
    "ferritin": "ng/mL",
    "cmv-dna-quant": IU_ML,
    "cmv-dna-copies": COPIES_ML,
    "ebv-dna-quant": IU_ML,
    "hbv-dna": IU_ML,
    "hcg-qualitative": IU_L,
    "hcg-quantitative": IU_L,
    "tst": "mm",
}
# Tests read in one unit only: a number reported without any unit is in that unit.
UNITLESS: dict[str, str] = {"tst": "mm"}
VIRAL_LOAD_TESTS = frozenset({"cmv-dna-quant", "cmv-dna-copies", "ebv-dna-quant", "hbv-dna"})

# Known spellings, after `_normalize` (lower case, no spaces, micro -> u,
# ^ -> *, leading "x" dropped), as factor to the canonical unit.
_CREATININE_UMOL_PER_MG_DL = 88.4
_HB_G_DL_PER_MMOL_L = 1.611
_LB_KG = 0.45359237
_COUNT_SPELLINGS = {
    **dict.fromkeys(
        ["10*3/ul", "10*3/mm3", "k/ul", "k/mm3", "thou/ul", "thou/mm3", "thous/ul", "10e3/ul",
         "10*3cells/ul", "10*3{cells}/ul", "10*9/l", "10e9/l", "10*9cells/l", "10*9{cells}/l",
         "giga/l", "gpt/l", "/nl"],
        1.0,
    ),
    **dict.fromkeys(
        ["cells/ul", "{cells}/ul", "/ul", "cells/mm3", "{cells}/mm3", "/mm3", "cell/ul",
         "cells/cumm", "/cumm", "10*6/l", "10*6cells/l"],
        1 / CELLS_PER_UL_PER_COUNT,
    ),
}
_MASS_MG_DL = {"mg/dl": 1.0, "mg/100ml": 1.0, "mg%": 1.0, "mg/l": 0.1, "g/l": 100.0}
_SPELLINGS: dict[str, dict[str, float]] = {
    COUNT: _COUNT_SPELLINGS,
    "g/dL": {"g/dl": 1.0, "g/100ml": 1.0, "g%": 1.0, "g/l": 0.1, "mg/dl": 0.001,
             "mmol/l": _HB_G_DL_PER_MMOL_L},
    "mg/dL": _MASS_MG_DL,
    "mL/min/{1.73_m2}": dict.fromkeys(
        ["ml/min/{1.73_m2}", "ml/min/1.73_m2", "ml/min/1.73m2", "ml/min/1.73m*2", "ml/min/{1.73m2}",
         "ml/min/1.73sqm", "ml/min/1.73msq", "ml/min/[1.73m2]", "ml/min/1.73"],
        1.0,
    ),
    "mL/min": {"ml/min": 1.0, "ml/s": 60.0},
    "kg": {"kg": 1.0, "g": 0.001, "lb": _LB_KG, "lbs": _LB_KG, "[lb_av]": _LB_KG, "pound": _LB_KG,
           "pounds": _LB_KG},
    "U/L": {"u/l": 1.0, "iu/l": 1.0, "[iu]/l": 1.0, "units/l": 1.0, "unit/l": 1.0},
    "ng/mL": {"ng/ml": 1.0, "ug/l": 1.0},
    IU_ML: {"iu/ml": 1.0, "[iu]/ml": 1.0, "iu/l": 0.001, "[iu]/l": 0.001},
    # hCG: IU/L = mIU/mL; labs also write mU/mL (and U/L) for the same international units.
    IU_L: {"[iu]/l": 1.0, "iu/l": 1.0, "m[iu]/ml": 1.0, "miu/ml": 1.0, "mu/ml": 1.0, "u/l": 1.0,
           "m[iu]/l": 0.001, "miu/l": 0.001, "[iu]/ml": 1000.0, "iu/ml": 1000.0},
    COPIES_ML: {"copies/ml": 1.0, "{copies}/ml": 1.0, "cp/ml": 1.0, "copy/ml": 1.0},
    "%": {"%": 1.0, "percent": 1.0, "pct": 1.0, "%{leukocytes}": 1.0, "%{wbcs}": 1.0, "%{wbc}": 1.0},
    "mm": {"mm": 1.0, "[mm]": 1.0, "millimeter": 1.0, "millimeters": 1.0, "millimetre": 1.0, "millimetres": 1.0,
           "cm": 10.0},
}
# Creatinine by substance: umol/L and mmol/L (the UCUM library cannot cross mass/substance).
_CREATININE_SUBSTANCE = {"umol/l": 1 / _CREATININE_UMOL_PER_MG_DL,
                         "mmol/l": 1000 / _CREATININE_UMOL_PER_MG_DL}

# "log IU/mL", "log10 IU/mL", "log(IU/mL)", "{log_IU}/mL", "[log10'IU]/mL", "lg copies/mL".
_LOG_PREFIX = re.compile(r"^[{\[(]*(?:log10|log|lg)[_'(\[{]*")
_MICRO = str.maketrans({"\u00b5": "u", "\u03bc": "u"})
_SUPERSCRIPT = str.maketrans({"\u00b3": "*3", "\u2076": "*6", "\u2079": "*9", "\u00b2": "2"})
# US labs write micro as "mc" (K/mcL, cells/mcL, mcmol/L) or spell it out (micromol/L).
_MC_MICRO = re.compile(r"micro|mc(?=(?:l|g|mol|kat)\b)")


def _normalize(unit: str) -> str:
    s = unit.strip().translate(_MICRO).translate(_SUPERSCRIPT).lower().replace(" ", "").replace("^", "*")
    s = _MC_MICRO.sub("u", s.replace("×", "x"))  # noqa: RUF001
    if s.startswith("x10"):
        s = s[1:]
    return s.replace("10e", "10*") if s.startswith("10e") else s


def _is_log(normalized: str) -> bool:
    return bool(_LOG_PREFIX.match(normalized))


def _strip_log(normalized: str) -> str:
    rest = _LOG_PREFIX.sub("", normalized)
    return rest.replace(")", "").replace("]", "").replace("}", "").replace("'", "")


def _table_factor(test: str, canonical: str, normalized: str) -> float | None:
    if test == "creatinine" and normalized in _CREATININE_SUBSTANCE:
        return _CREATININE_SUBSTANCE[normalized]
    return _SPELLINGS.get(canonical, {}).get(normalized)


def _viral_load(test: str, value: float, spellings: list[str]) -> Measurement | None:
    """Viral loads: IU/mL, log10 IU/mL, copies/mL (and log copies), never mixed."""
    log = any(_is_log(s) for s in spellings)  # a log marker in code or text wins
    for s in spellings:
        base = _strip_log(s) if _is_log(s) else s
        for canonical in (IU_ML, COPIES_ML):
            factor = _SPELLINGS[canonical].get(base)
            if factor is None:
                continue
            if test == "cmv-dna-copies" and canonical == IU_ML:
                continue  # 29604-6 is a copies/mL code: an IU result under it is not trusted
            if log:
                if value > 15:  # 10^15 copies is beyond any assay: not a log value
                    return None
                return Measurement(factor * 10 ** value, canonical)
            return Measurement(value * factor, canonical)
    return None


# The UCUM library's parser takes time superlinear in the code's length (4,000 "(" took
# 8 s): longer codes are not asked about. Lab UCUM codes are short ("10*3/uL", "umol/L",
# "mL/min/{1.73_m2}" is 16); 40 characters leave room for any real one.
MAX_UCUM_CHARS = 40

_ucum_lock = threading.Lock()
_registry: Any = None


def _ucum_registry() -> Any:
    """The ucumvert registry, built once on first use (it is slow to initialise)."""
    global _registry
    with _ucum_lock:
        if _registry is None:
            from ucumvert import PintUcumRegistry

            _registry = PintUcumRegistry()
        return _registry


@bounded_memo(512)
def _ucum_factor(code: str, canonical: str) -> float | None:
    """Factor from a UCUM code to the canonical unit, or None (cached, also misses)."""
    if len(code) > MAX_UCUM_CHARS:
        return None
    if "{" in code or "[iu]" in code.lower() or "{" in canonical or "[IU]" in canonical:
        return None  # annotations and IU are invisible to the library: never guess
    try:
        reg = _ucum_registry()
        factor = (1 * reg.from_ucum(code)).to(reg.from_ucum(canonical)).magnitude
    except Exception:  # noqa: BLE001 - invalid UCUM, dimension mismatch, library quirks: not convertible
        return None
    return float(factor) if math.isfinite(factor) and factor > 0 else None


@bounded_memo(2048)
def _factor(test: str, unit: str | None, unit_code: str | None) -> float | None:
    canonical = CANONICAL[test]
    candidates = [u for u in (unit_code, unit) if u and u.strip()]
    for raw in candidates:
        factor = _table_factor(test, canonical, _normalize(raw))
        if factor is not None:
            return factor
    if test == "egfr":
        return None  # the library drops {1.73_m2}: it would accept a plain mL/min
    for raw in candidates:
        factor = _ucum_factor(raw.strip().translate(_MICRO), canonical)  # UCUM writes micro as "u"
        if factor is not None:
            return factor
    return None


def to_canonical(
    test: str, value: float, unit: str | None, unit_code: str | None = None
) -> Measurement | None:
    """`value` in the canonical unit of `test`, or None when it cannot be converted."""
    if test not in CANONICAL or value is None:
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(value):
        return None
    if test in UNITLESS and not any(u and u.strip() for u in (unit, unit_code)):
        return Measurement(value, UNITLESS[test])
    if test in VIRAL_LOAD_TESTS:
        spellings = [_normalize(u) for u in (unit_code, unit) if u and u.strip()]
        return _viral_load(test, value, spellings)
    factor = _factor(test, unit, unit_code)
    if factor is None:
        return None
    return Measurement(value * factor, CANONICAL[test])


_DISPLAY = {
    COUNT: "x10^3/µL", IU_ML: "IU/mL", IU_L: "IU/L", COPIES_ML: "copies/mL", "mL/min/{1.73_m2}": "mL/min/1.73 m²",
}


def display_unit(unit: str) -> str:
    """The canonical unit as clinicians write it ("x10^3/µL", "IU/mL")."""
    return _DISPLAY.get(unit, unit)


def cells_per_ul(m: Measurement | None) -> float | None:
    """A cell count in cells/uL (= cells/mm3), the unit of the USPI thresholds."""
    if m is None or m.unit != COUNT:
        return None
    return m.value * CELLS_PER_UL_PER_COUNT
