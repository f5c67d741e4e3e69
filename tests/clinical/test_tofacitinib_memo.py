"""Memoized tofacitinib matching answers as the matching itself does."""

from __future__ import annotations

from cdshooks.clinical import tofacitinib as tofa
from tests.clinical.records import med, read_order
from tests.clinical.records import record as make_record
from tests.clinical.records import tofa as tofa_order


def test_record_orders_are_the_tofacitinib_orders_in_record_order():
    orders = (
        med("prednisone 10 MG Oral Tablet", 30, 10),
        tofa_order(200, oid="t-old"),
        med("Xeljanz XR 11 MG", 10, status="completed", oid="t-xr"),
        med("omeprazole 20 MG Capsule", 5),
    )
    record = make_record(meds=orders)
    expected = tuple(o for o in record.medications if tofa.product(o) is not None)
    assert [o.id for o in expected] == ["t-old", "t-xr"]
    assert tofa.record_orders(record) == expected
    assert tofa.record_orders(record) is tofa.record_orders(record)  # computed once


def test_product_depends_only_on_codes_and_names():
    a = read_order(med("Xeljanz XR 11 MG", 10, oid="a"))
    b = read_order(med("Xeljanz XR 11 MG", 400, status="stopped", oid="b"))
    assert tofa.product(a) == tofa.product(b)
    assert tofa.product(a).extended_release
    assert tofa.product(read_order(med("Xeljanz 5 MG", 10))).extended_release is False
