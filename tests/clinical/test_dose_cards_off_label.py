"""Cards that discuss the tofacitinib regimen say that the use is off-label (clinical-rules.md, Context)."""

import pytest

from cdshooks.cards import render_card
from tests import fixturekit as k
from tests.clinical.dose_kit import by_topic, record


@pytest.mark.parametrize(
    "dose, per_day, topic",
    [(5, 2, "dose-guidance"), (5, 1, "dose-guidance"), (10, 2, "dose-escalation"), (15, 2, "dose-above-max")],
)
def test_regimen_cards_say_off_label(dose, per_day, topic):
    draft = k.tofacitinib_draft(dosages=[k.dosage(dose, "mg", per_day)])
    [finding] = by_topic(record(drafts=[draft]), topic)
    assert "off-label" in render_card(finding)["detail"].lower()
