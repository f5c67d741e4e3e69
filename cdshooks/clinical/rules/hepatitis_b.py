"""hbv-positive (clinical-rules.md, revision 2): a positive hepatitis B marker in tofacitinib context.

HBsAg positive at any time: critical (HBV infection). Anti-HBc positive with HBsAg
negative or absent: warning (resolved or occult infection), naming rituximab from the
last 12 months (prophylaxis advised) and IVIG, whose antibodies can make anti-HBc
positive for about 3 months. Both fire at a start or renewal and on patient-view.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from cdshooks.clinical import labs, tofacitinib
from cdshooks.clinical.engine import rule
from cdshooks.clinical.findings import Bullets, Finding, Phrase, Series
from cdshooks.clinical.interacting_drugs import find, match
from cdshooks.clinical.labs import Result
from cdshooks.clinical.suggestions.new_orders import order_labs
from cdshooks.clinical.therapy_status import status
from cdshooks.clinical.thresholds import Thresholds
from cdshooks.data.record import PatientRecord

_GIVEN = frozenset({"active", "completed", "on-hold"})  # IVIG orders that say it was (being) given


def _line(r: Result) -> Phrase:
    return Phrase("marker_line", {"test": r.lab.text or r.test, "result": r.answer or r.value_label, "when": r.when})


@rule("order-select", "order-sign", "patient-view")
def hbv_positive(record: PatientRecord, th: Thresholds) -> Iterable[Finding]:
    """hbv-positive: HBsAg positive (critical), or anti-HBc positive without a positive HBsAg (warning)."""
    if not tofacitinib.in_context(record):
        return
    hbsag = labs.results(record, "hbsag")
    anti_hbc = labs.results(record, "anti-hbc")
    positive_s = [r for r in hbsag if r.is_positive]
    positive_c = [r for r in anti_hbc if r.is_positive]
    if not positive_s and not positive_c:
        return
    therapy = status(record)
    dna = labs.latest(record, "hbv-dna", within_days=th.lab_lookback_days)
    facts = {
        "markers": Bullets(tuple(
            _line(r) for r in (positive_s[:1] + positive_c[:1] + [x for x in hbsag[:1] if not x.is_positive])
        )),
        "therapy": therapy.text,
        "hbv_dna": (
            Phrase("hbv_dna", {"dna": dna.value_label or dna.answer, "when": dna.when})
            if dna
            else Phrase("hbv_dna_none", {"days": th.lab_lookback_days})
        ),
        "rituximab_note": _rituximab_note(record, th),
        "ivig_note": _ivig_note(record, positive_c, th),
        "newer_negative": _newer_negative(positive_s, hbsag),
    }
    tests = ["hbv-dna", "alt"] if dna is None else ["alt"]
    suggestion = order_labs(
        "order-hbv-dna",
        record,
        tests,
        "Hepatitis B marker positive on tofacitinib",
        orders=Phrase("orders_dna_and_liver") if dna is None else Phrase("orders_liver"),
    )
    if positive_s:
        yield Finding(
            "hbv-positive",
            facts={**facts, "marker": Phrase("marker_hbsag", {"when": positive_s[0].when})},
            suggestions=(suggestion,),
        )
    else:
        yield Finding(
            "hbv-positive",
            facts={**facts, "marker": Phrase("marker_anti_hbc", {"when": positive_c[0].when})},
            variant="resolved",
            suggestions=(suggestion,),
        )


def _rituximab_note(record: PatientRecord, th: Thresholds) -> Phrase | None:
    hits = find(record, ("rituximab",), th)
    if not hits:
        return None
    given = Series(tuple(h.described for h in hits), "semicolon")
    return Phrase("rituximab", {"days": th.rituximab_recent_exposure_days, "given": given})


def _ivig_note(record: PatientRecord, positive_c: list[Result], th: Thresholds) -> Phrase | None:
    """IVIG on record: an anti-HBc drawn within the window after it may be transferred antibody."""
    ivig = [o for o in record.medications if o.status in _GIVEN and match(o, ("triple-therapy-agents",)) == "IVIG"]
    if not ivig:
        return None
    window = timedelta(days=th.ivig_serology_window_days)
    dates = [o.authored_on for o in ivig if o.authored_on]
    close = bool(positive_c) and any(d <= positive_c[0].when <= d + window for d in dates)
    when = Series(tuple(
        Phrase("ivig_order", {"order": o.label, "given": o.authored_on or Phrase("date_not_recorded")}) for o in ivig
    ), "semicolon")
    return Phrase("ivig_close" if close else "ivig", {"orders": when, "days": th.ivig_serology_window_days})


def _newer_negative(positive: list[Result], all_results: list[Result]) -> Phrase | None:
    if not positive or not all_results or all_results[0] is positive[0]:
        return None
    newest = all_results[0]
    if newest.is_negative:
        return Phrase("newer_negative", {"when": newest.when})
    return None
