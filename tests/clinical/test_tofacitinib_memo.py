"""Memoized tofacitinib matching answers as the matching itself does."""

from __future__ import annotations

from cdshooks.clinical import tofacitinib as tofa
from cdshooks.data.record import PatientRecord
from tests.clinical.records import NOW, med
from tests.clinical.records import tofa as tofa_order


def test_record_orders_are_the_tofacitinib_orders_in_record_order():
    orders = (
        med("prednisone 10 MG Oral Tablet", 30, 10),
        tofa_order(200, oid="t-old"),
        med("Xeljanz XR 11 MG", 10, status="completed", oid="t-xr"),
        med("omeprazole 20 MG Capsule", 5),
    )
    record = PatientRecord(patient_id="p1", now=NOW, medications=orders)
    expected = tuple(o for o in orders if tofa.product(o) is not None)
    assert [o.id for o in expected] == ["t-old", "t-xr"]
    assert tofa.record_orders(record) == expected
    assert tofa.record_orders(record) is tofa.record_orders(record)  # computed once


def test_product_depends_only_on_codes_and_names():
    a = med("Xeljanz XR 11 MG", 10, oid="a")
    b = med("Xeljanz XR 11 MG", 400, status="stopped", oid="b")
    assert tofa.product(a) == tofa.product(b)
    assert tofa.product(a).extended_release
    assert tofa.product(med("Xeljanz 5 MG", 10)).extended_release is False
