"""Topic codes the helpers of the rules need to know (clinical-rules.md): named here, in rules/, only.

The rest of each rule's topic is written where the rule is. Every topic is a
card file `cards/<topic>.toml`; tests/test_topic_contract.py checks both.
"""

from __future__ import annotations

DOSE_GUIDANCE = "dose-guidance"
DOSE_ESCALATION = "dose-escalation"
DOSE_ABOVE_MAX = "dose-above-max"
DOSE_RENAL = "dose-renal"
DOSE_HEPATIC = "dose-hepatic"
DOSE_CYP_INHIBITOR = "dose-cyp-inhibitor"

# Interaction topics and the value sets of their drug classes (clinical-rules.md, Interactions).
# A drug of any of these value sets counts alone; see COMBINATIONS for the classes that also
# count as a pair of drugs.
CLASSES: dict[str, tuple[str, ...]] = {
    DOSE_CYP_INHIBITOR: ("strong-cyp3a4-inhibitors", "moderate-cyp3a4-strong-cyp2c19-inhibitors"),
    "ddi-cyp-inducer": ("strong-cyp3a4-inducers",),
    "ddi-jak-duplicate": ("jak-inhibitors-other",),
    "ddi-biologic": ("biologic-dmards",),
    "ddi-rituximab": ("rituximab",),
    "ddi-immunosuppressant": ("potent-immunosuppressants",),
    "ddi-triple-therapy": ("triple-therapy-agents",),
    "ddi-live-vaccine": ("live-vaccines",),
}

# Two drugs that together count for a topic (clinical-rules.md, `dose-cyp-inhibitor`; USPI: "one
# or more concomitant medications that result in both moderate inhibition of CYP3A4 and potent
# inhibition of CYP2C19"): a drug of the first value set with a drug of the second, two orders.
COMBINATIONS: dict[str, tuple[str, str]] = {
    DOSE_CYP_INHIBITOR: ("moderate-cyp3a4-inhibitors", "strong-cyp2c19-inhibitors"),
}
