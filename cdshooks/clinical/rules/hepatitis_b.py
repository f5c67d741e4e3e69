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
from cdshooks.clinical.findings import Finding
from cdshooks.clinical.interacting_drugs import find, match
from cdshooks.clinical.labs import Result
from cdshooks.clinical.suggestions.new_orders import order_labs
from cdshooks.clinical.therapy_status import status
from cdshooks.clinical.thresholds import Thresholds
from cdshooks.data.record import PatientRecord
from cdshooks.markdown import bullets, sentence

_GIVEN = frozenset({"active", "completed", "on-hold"})  # IVIG orders that say it was (being) given


def _line(r: Result) -> str:
    return f"{r.lab.text or r.test}: {r.answer or r.value_label} on {r.when.date().isoformat()}"


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
        "markers": bullets(
            _line(r) for r in (positive_s[:1] + positive_c[:1] + [x for x in hbsag[:1] if not x.is_positive])
        ),
        "therapy": therapy.text,
        "hbv_dna": sentence(
            f"Newest HBV DNA: {dna.value_label or dna.answer} on {dna.when.date().isoformat()}."
            if dna
            else f"No HBV DNA within {th.lab_lookback_days} days."
        ),
        "rituximab_note": sentence(_rituximab_note(record, th)),
        "ivig_note": sentence(_ivig_note(record, positive_c, th)),
        "newer_negative": sentence(_newer_negative(positive_s, hbsag)),
    }
    tests = ["hbv-dna", "alt"] if dna is None else ["alt"]
    suggestion = order_labs(
        "order-hbv-dna",
        record,
        tests,
        "Hepatitis B marker positive on tofacitinib",
        orders="HBV DNA and liver tests" if dna is None else "liver tests (HBV DNA is recent)",
    )
    if positive_s:
        yield Finding(
            "hbv-positive",
            facts={**facts, "marker": f"HBsAg positive on {positive_s[0].when.date()}"},
            suggestions=(suggestion,),
        )
    else:
        yield Finding(
            "hbv-positive",
            facts={**facts, "marker": f"anti-HBc positive on {positive_c[0].when.date()}"},
            variant="resolved",
            suggestions=(suggestion,),
        )


def _rituximab_note(record: PatientRecord, th: Thresholds) -> str | None:
    hits = find(record, ("rituximab",), th)
    if not hits:
        return None
    given = "; ".join(h.label for h in hits)
    return (
        f"Rituximab in the last {th.rituximab_recent_exposure_days} days ({given}): antiviral prophylaxis "
        "is advised, as B-cell depletion lasts months."
    )


def _ivig_note(record: PatientRecord, positive_c: list[Result], th: Thresholds) -> str | None:
    """IVIG on record: an anti-HBc drawn within the window after it may be transferred antibody."""
    ivig = [o for o in record.medications if o.status in _GIVEN and match(o, ("triple-therapy-agents",)) == "IVIG"]
    if not ivig:
        return None
    window = timedelta(days=th.ivig_serology_window_days)
    dates = [o.authored_on for o in ivig if o.authored_on]
    close = bool(positive_c) and any(d <= positive_c[0].when <= d + window for d in dates)
    when = "; ".join(
        f"{o.label} ({o.authored_on.date().isoformat() if o.authored_on else 'date not recorded'})" for o in ivig
    )
    if close:
        return (
            f"IVIG on record ({when}) in the {th.ivig_serology_window_days} days before this anti-HBc: the "
            "antibody may have been transferred with the IVIG; repeat anti-HBc later, and check HBV DNA now."
        )
    return (
        f"IVIG on record ({when}): an anti-HBc drawn within {th.ivig_serology_window_days} days after IVIG "
        "may be transferred antibody."
    )


def _newer_negative(positive: list[Result], all_results: list[Result]) -> str | None:
    if not positive or not all_results or all_results[0] is positive[0]:
        return None
    newest = all_results[0]
    if newest.is_negative:
        return (
            f"A newer HBsAg ({newest.when.date().isoformat()}) is negative: HBsAg loss is for hepatology "
            "to confirm; until then the positive result stands."
        )
    return None
