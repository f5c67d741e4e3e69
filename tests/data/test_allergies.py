"""AllergyIntolerance: the optional `allergies` prefetch key, read leniently into PatientRecord.allergies."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cdshooks.config import Settings
from cdshooks.data.builder import build_record
from cdshooks.data.gather import Gathered, gather
from cdshooks.data.parsers import Unreadable, allergy
from cdshooks.services import REQUIRED_PREFETCH, prefetch_templates
from tests import fixturekit as k

BASE = "https://fhir.example.org/r4"
NOW = datetime(2026, 1, 15, 12, tzinfo=UTC)
SNOMED = "http://snomed.info/sct"


def test_allergies_is_an_optional_patient_search():
    template = prefetch_templates()["allergies"]
    assert template.startswith("AllergyIntolerance?patient={{context.patientId}}")
    assert "allergies" not in REQUIRED_PREFETCH


@pytest.mark.parametrize(
    "clinical, verification, kept",
    [
        ("active", "confirmed", True),
        (None, None, True),  # no status at all: it may still apply
        ("active", "unconfirmed", True),
        ("inactive", "confirmed", False),
        ("resolved", "confirmed", False),
        ("active", "refuted", False),
        ("active", "entered-in-error", False),
    ],
)
def test_status_filter(clinical, verification, kept):
    a = allergy(k.allergy("a1", "Sulfa drugs", clinical=clinical, verification=verification))
    assert (a is not None) is kept


def test_reads_code_text_and_reaction_substance():
    r = k.allergy("a1", "Allergy to sulfonamide", (SNOMED, "91939003"))
    r["reaction"] = [{"substance": {"text": "Bactrim"}, "manifestation": [{"text": "Rash"}]}]
    a = allergy(r)
    assert a.codings[0].code == "91939003"
    assert a.texts == ("Allergy to sulfonamide", "Bactrim")  # the manifestation names no substance
    assert a.label == "Allergy to sulfonamide"


def test_without_code_or_text_is_unreadable():
    r = k.allergy("a1", "x")
    r["code"] = {}
    with pytest.raises(Unreadable):
        allergy(r)


def test_builder_keeps_this_patients_allergies_and_skips_another_patients():
    mine = k.allergy("a1", "Sulfa")
    theirs = k.allergy("a2", "Sulfa", pid="someone-else")
    refuted = k.allergy("a3", "Sulfa", verification="refuted")
    gathered = Gathered({"allergies": [k.bundle([mine, theirs, refuted])]})
    rec = build_record(gathered, patient_id=k.PATIENT_ID, draft_orders=[], selections=None, now=NOW)
    assert [a.id for a in rec.allergies] == ["a1"]
    assert [s.id for s in rec.skipped] == ["a2"]


def test_fixture_kit_prefetch_has_the_allergies_key():
    pre = k.prefetch([k.patient(), k.allergy("a1", "Sulfa")])
    assert pre["allergies"]["entry"][0]["resource"]["resourceType"] == "AllergyIntolerance"
    assert set(pre) == set(prefetch_templates())


def test_missing_allergies_key_is_fetched_from_the_fhir_server(rsps):
    rsps.get(f"{BASE}/AllergyIntolerance", json=k.bundle([k.allergy("a1", "Sulfa")]))
    pre = k.prefetch([k.patient()])
    del pre["allergies"]
    got = gather(prefetch_templates(), {"patientId": k.PATIENT_ID}, pre, BASE, None,
                 Settings(fhir_allowlist=(BASE,), fetch_budget_seconds=5.0).fetch_policy(), REQUIRED_PREFETCH)
    assert [r["id"] for r in got.resources["allergies"]] == ["a1"]
    assert rsps.calls[0].request.url.startswith(f"{BASE}/AllergyIntolerance?patient={k.PATIENT_ID}")
    assert got.unavailable == frozenset()


def test_unfetchable_allergies_key_is_unavailable_not_an_error(rsps):
    rsps.get(f"{BASE}/AllergyIntolerance", status=403)
    pre = k.prefetch([k.patient()])
    del pre["allergies"]
    got = gather(prefetch_templates(), {"patientId": k.PATIENT_ID}, pre, BASE, None,
                 Settings(fhir_allowlist=(BASE,), fetch_budget_seconds=5.0).fetch_policy(), REQUIRED_PREFETCH)
    assert got.unavailable == frozenset({"allergies"})
    pre_no_server = k.prefetch([k.patient()])
    del pre_no_server["allergies"]
    got = gather(prefetch_templates(), {"patientId": k.PATIENT_ID}, pre_no_server, None, None,
                 Settings().fetch_policy(), REQUIRED_PREFETCH)
    assert got.unavailable == frozenset({"allergies"})
