"""Small in-memory PatientRecords for rule tests (no FHIR JSON, no HTTP)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from cdshooks.data.record import Coding, LabResult, MedicationOrder, PatientRecord, Problem

NOW = datetime(2026, 1, 15, 12, tzinfo=UTC)
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def lab(loinc: str, days_ago: float, value=None, unit=None, *, comparator=None, text=None, status="final", oid=None):
    return LabResult(
        id=oid or f"{loinc}-{days_ago}",
        codings=(Coding(LOINC, loinc),),
        status=status,
        effective=ago(days_ago),
        value=value,
        unit=unit,
        unit_code=unit,
        comparator=comparator,
        value_text=text,
    )


def med(name: str, days_ago: float, dose_mg: float | None = None, per_day: int = 1, *, status="active",
        rxnorm: str | None = None, draft=False, oid=None):
    dosage = []
    if dose_mg is not None:
        dosage = [{
            "doseAndRate": [{"doseQuantity": {"value": dose_mg, "unit": "mg", "code": "mg"}}],
            "timing": {"repeat": {"frequency": per_day, "period": 1, "periodUnit": "d"}},
        }]
    return MedicationOrder(
        id=oid or name.split()[0] + str(days_ago),
        status="draft" if draft else status,
        intent="order",
        authored_on=ago(days_ago),
        codings=(Coding(RXNORM, rxnorm, name),) if rxnorm else (),
        names=(name,),
        dosage_instructions=tuple(dosage),
        is_draft=draft,
    )


def tofa(days_ago: float = 120, *, draft=False, oid=None):
    return med("tofacitinib 5 MG Oral Tablet", days_ago, 5, 2, rxnorm="1357541", draft=draft, oid=oid)


def problem(code: str | None, text: str, clinical="active"):
    return Problem(
        id=text, codings=(Coding(ICD10, code, text),) if code else (), text=text,
        clinical_status=clinical, verification_status="confirmed",
    )


def record(*, meds=(), drafts=(), labs=(), conditions=(), birth=date(1981, 3, 2), now=NOW, **kw) -> PatientRecord:
    return PatientRecord(
        patient_id="p1", now=now, birth_date=birth, sex="female", medications=tuple(meds), drafts=tuple(drafts),
        observations=tuple(labs), conditions=tuple(conditions), **kw,
    )
