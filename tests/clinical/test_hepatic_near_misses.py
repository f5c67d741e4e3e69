"""Conditions that name cirrhosis or liver failure without being moderate/severe hepatic impairment."""

import pytest

from cdshooks.clinical import hepatic
from tests import fixturekit as k
from tests.clinical.dose_kit import record


@pytest.mark.parametrize(
    "text, icd",
    [
        ("Non-cirrhotic portal hypertension", "K76.6"),
        ("Idiopathic non-cirrhotic portal hypertension", None),
        ("Primary biliary cirrhosis", "K74.3"),  # renamed cholangitis: most patients are not cirrhotic
    ],
)
def test_not_hepatic_impairment(text, icd):
    rec = record(k.base_resources() + [k.condition("h", text, icd)])
    assert hepatic.assess(rec) is None


@pytest.mark.parametrize("text, icd", [("Alcoholic cirrhosis of liver", "K70.30"), ("Cirrhosis of liver", "K74.60")])
def test_cirrhosis_by_other_codes_still_counts_by_name(text, icd):
    hi = hepatic.assess(record(k.base_resources() + [k.condition("h", text, icd)]))
    assert hi is not None and hi.child_pugh == "B"

