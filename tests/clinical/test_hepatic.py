"""Child-Pugh class from Conditions: cirrhosis = B unless a class is stated; hepatic failure = C."""

import pytest

from cdshooks.clinical import hepatic
from tests import fixturekit as k
from tests.clinical.dose_kit import record


def _assess(*conditions):
    return hepatic.assess(record(k.base_resources() + list(conditions)))


@pytest.mark.parametrize(
    "text, icd, snomed, expected",
    [
        ("Cirrhosis of liver", "K74.60", None, "B"),
        ("Other cirrhosis of liver", "K74.69", None, "B"),
        ("Cirrhosis", None, "19943007", "B"),
        ("Cirrhosis, Child-Pugh class B", "K74.60", None, "B"),
        ("Cirrhosis of liver, Child-Pugh C", "K74.60", None, "C"),
        ("Hepatic failure", "K72.90", None, "C"),
        ("Chronic hepatic failure", "K72.10", None, "C"),
        ("Liver failure", None, "59927004", "C"),
        ("Child Pugh B liver disease", None, None, "B"),
    ],
)
def test_classes(text, icd, snomed, expected):
    hi = _assess(k.condition("h", text, icd, snomed))
    assert hi is not None and hi.child_pugh == expected
    assert hi.basis and text.split(",")[0] in hi.basis[0]


def test_child_pugh_a_and_unrelated_conditions_do_not_count():
    assert _assess(k.condition("h", "Cirrhosis, Child-Pugh A", "K74.60")) is None
    assert _assess(k.condition("h", "Fatty liver", "K76.0")) is None
    assert hepatic.assess(record()) is None


def test_refuted_and_resolved_conditions_do_not_count():
    assert _assess(k.condition("h", "Hepatic failure", "K72.90", verification="refuted")) is None
    assert _assess(k.condition("h", "Hepatic failure", "K72.90", clinical="resolved")) is None


def test_worst_class_wins():
    hi = _assess(k.condition("a", "Cirrhosis", "K74.60"), k.condition("b", "Hepatic failure", "K72.90"))
    assert hi.child_pugh == "C" and hi.severe and len(hi.conditions) == 2
