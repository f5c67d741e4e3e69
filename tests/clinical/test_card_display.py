"""Card text shows values as clinicians write them (issue 12, display).

UCUM codes become readable units, a below-limit result keeps its "<" (no
HTML entity), and a converted value shows the reported one beside it.
"""

from __future__ import annotations

import pytest

from tests import fixturekit as k


def _texts(make_app, request: dict) -> list[str]:
    service = k.SERVICE_FOR_HOOK[request["hook"]]
    resp = make_app(now=k.AS_OF).test_client().post(f"/cds-services/{service}", json=request)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    cards = resp.get_json()["cards"]
    assert cards
    return [c["summary"] for c in cards] + [c.get("detail", "") for c in cards]


def _on_tofacitinib(*extra: dict, drop: tuple[str, ...] = ()) -> dict:
    resources = k.without(k.base_resources(on_tofacitinib=True), *drop) + list(extra)
    return k.patient_view(resources)


def test_hemoglobin_in_mmol_per_l_shows_the_reported_value(make_app):
    hb = k.observation("o-hb", "718-7", 7.4, "mmol/L", 3)
    text = "\n".join(_texts(make_app, _on_tofacitinib(hb, drop=("o-hb",))))
    assert "11.92 g/dL (reported 7.4 mmol/L)" in text


def test_below_limit_cmv_result_has_no_html_entity(make_app):
    cmv = k.observation("o-cmv", "72493-0", 35, "IU/mL", 2, comparator="<", ucum="[IU]/mL")
    text = "\n".join(_texts(make_app, _on_tofacitinib(cmv, drop=("o-cmv",))))
    assert "<35 IU/mL" in text
    assert "&lt;" not in text and "[IU]" not in text


def test_egfr_unit_is_written_as_people_write_it(make_app):
    # No weight: the eGFR approximation is used and shown on the renal card.
    egfr = k.observation("o-egfr", "98979-8", 42, "mL/min/{1.73_m2}", 5)
    req = k.order_select(drafts=[k.tofacitinib_draft()],
                         resources=k.without(k.base_resources(), "o-weight", "o-egfr") + [egfr])
    text = "\n".join(_texts(make_app, req))
    assert "42 mL/min/1.73 m²" in text
    assert "{1.73" not in text and "1.73\\_m2" not in text


@pytest.mark.parametrize("unit", ["10*3/uL", "10*9/L"])
def test_counts_are_shown_readably(make_app, unit):
    alc = k.observation("o-alc", "731-0", 0.7, unit, 3)
    req = k.order_select(drafts=[k.tofacitinib_draft()], resources=k.without(k.base_resources(), "o-alc") + [alc])
    text = "\n".join(_texts(make_app, req))
    assert "700 cells/µL" in text and "0.7 x10^3/µL" in text
    assert "10*3" not in text and "10*9" not in text
