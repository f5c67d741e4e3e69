from datetime import UTC, datetime

from cdshooks.clinical import tofacitinib as tofa
from cdshooks.data.record import Coding, MedicationOrder
from cdshooks.terminology.lookup import RXNORM
from tests.clinical.records import build

NOW = datetime(2026, 1, 15, 12, tzinfo=UTC)


def order(names=(), codes=(), status="active", authored=None, draft=False, oid="m1"):
    return MedicationOrder(
        id=oid,
        status=status,
        intent="order",
        authored_on=authored,
        codings=tuple(Coding(RXNORM, c) for c in codes),
        names=tuple(names),
        dosage_instructions=(),
        is_draft=draft,
    )


def request(name, status="active", authored=None, oid="m1"):
    """A MedicationRequest named `name` only (no code), for a record built by the builder."""
    r = {"resourceType": "MedicationRequest", "id": oid, "status": status, "intent": "order",
         "medicationCodeableConcept": {"text": name}}
    if authored is not None:
        r["authoredOn"] = authored.isoformat()
    return r


def test_product_by_code_knows_xr_and_strength():
    p = tofa.product(order(codes=["1741046"]))
    assert p is not None and p.extended_release and p.strength_mg == 11


def test_product_by_brand_text_reads_strength_and_xr_marker():
    p = tofa.product(order(names=["XELJANZ XR 22mg tablet"]))
    assert p is not None and p.extended_release and p.strength_mg == 22


def test_solution_strength_is_per_ml():
    p = tofa.product(order(names=["tofacitinib 1 mg/mL oral solution"]))
    assert p is not None and p.solution and p.strength_mg == 1.0


def test_other_drug_is_not_tofacitinib():
    assert tofa.product(order(names=["tacrolimus 1 mg capsule"])) is None
    assert tofa.product(order(codes=["42316"])) is None


def test_start_date_is_earliest_counted_order_and_renewal_does_not_restart():
    first = request("tofacitinib 5 mg", status="completed", authored=datetime(2025, 6, 1, tzinfo=UTC), oid="a")
    renewal = request("tofacitinib 5 mg", authored=datetime(2025, 12, 1, tzinfo=UTC), oid="b")
    stopped = request("tofacitinib 5 mg", status="stopped", authored=datetime(2024, 1, 1, tzinfo=UTC), oid="c")
    rec = build([first, renewal, stopped], now=NOW)
    assert tofa.start_date(rec) == datetime(2025, 6, 1, tzinfo=UTC)
    assert not tofa.is_new_start(rec) and tofa.in_context(rec)


def test_new_start_starts_now_and_context_needs_a_selected_draft():
    draft = request("tofacitinib 5 mg tablet", status="draft")
    rec = build(drafts=[draft], now=NOW)
    assert tofa.is_new_start(rec) and tofa.start_date(rec) == NOW and tofa.in_context(rec)
    unselected = build(drafts=[draft], selected=(), now=NOW)
    assert not tofa.in_context(unselected)
