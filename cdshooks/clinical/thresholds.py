"""Clinical thresholds and windows, with the defaults of clinical-rules.md.

Every number a rule compares against lives here, so a site can review and
override them in one TOML file (env `CDSHOOKS_RULES_CONFIG`), never in code.
Keys in the TOML file are the field names below.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path


@dataclass(frozen=True)
class Thresholds:
    # --- Dosing (IR-equivalent mg/day) ---
    dose_guidance_max_mg_day: float = 10.0
    dose_escalation_max_mg_day: float = 20.0
    # --- Renal ---
    renal_clcr_max_ml_min: float = 50.0  # CLcr (or eGFR approximation) <= this fires
    renal_creatinine_lookback_days: int = 90
    renal_weight_lookback_days: int = 365
    renal_egfr_lookback_days: int = 90
    # --- CMV / EBV ---
    cmv_viremia_iu_ml: float = 500.0
    cmv_lookback_days: int = 30
    cmv_rising_window_days: int = 30
    cmv_pcr_interval_early_days: int = 14
    cmv_pcr_interval_late_days: int = 30
    cmv_early_phase_weeks: int = 12
    cmv_baseline_lookback_days: int = 14
    ebv_viremia_iu_ml: float = 500.0
    ebv_lookback_days: int = 30
    # --- Lab safety (cells/uL = cells/mm3; g/dL) ---
    lab_lookback_days: int = 90
    alc_critical_below: float = 500.0
    alc_info_below: float = 900.0
    anc_critical_below: float = 500.0
    anc_warning_below: float = 1000.0
    hb_warning_below_g_dl: float = 8.0
    hb_fall_g_dl: float = 2.0
    hb_new_start_below_g_dl: float = 9.0
    # liver-injury: ALT or AST above this multiple of the upper limit of normal (the lab's
    # referenceRange.high, else the default ULN; clinical-rules.md, revision 2)
    liver_injury_uln_multiple: float = 3.0
    liver_default_uln_u_l: float = 40.0
    # hbv-positive: an anti-HBc drawn this soon after IVIG may be transferred antibody ("3 months")
    ivig_serology_window_days: int = 90
    pretreatment_hb_lookback_days: int = 90
    # --- Pregnancy (pregnancy-lactation, clinical-rules.md revision 2): a positive hCG within this
    # many days counts; a quantitative hCG is positive above this (5 IU/L = 5 mIU/mL, terminology.md) ---
    hcg_lookback_days: int = 30
    hcg_positive_above_iu_l: float = 5.0
    # --- Risk groups ---
    age_infection_risk_years: int = 65
    age_cv_risk_years: int = 50
    # --- PJP ---
    pjp_prednisone_eq_mg_day: float = 15.0
    pjp_pulse_methylpred_mg_day: float = 250.0
    pjp_pulse_lookback_days: int = 30
    # Body weight for a weight-based (mg/kg) dose: the 1-year window the renal
    # definition uses for weight.
    dose_weight_lookback_days: int = 365
    # --- Screening ---
    tb_screen_lookback_months: int = 12  # a positive IGRA/TST counts at any time: no window
    tst_positive_induration_mm: float = 5.0  # TST positive from this induration (immunosuppressed)
    ltbi_min_treatment_days: int = 28
    baseline_labs_lookback_days: int = 30
    baseline_lipids_lookback_days: int = 90
    # --- Live vaccines (ddi-live-vaccine, new start): start tofacitinib at least this long after a
    # live vaccine (clinical-rules.md: "in the last 4 weeks"; IDSA/ACIP guidance for immunosuppression) ---
    live_vaccine_before_start_weeks: int = 4
    # --- Recent exposure (clinical-rules.md Definitions): a completed order given this recently counts ---
    rituximab_recent_exposure_days: int = 365  # B-cell depletion lasts months (ddi-rituximab, hbv-positive)
    triple_therapy_recent_exposure_days: int = 30  # cyclophosphamide and IVIG for ddi-triple-therapy
    # --- Monitoring windows (days after tofacitinib start) ---
    monitor_first_window_start_day: int = 28
    monitor_first_window_end_day: int = 56
    monitor_cbc_interval_days: int = 90
    monitor_lft_interval_days: int = 90
    monitor_lipid_interval_days: int = 365  # revision 2: lipids at 4-8 weeks, then every 12 months


DEFAULT_THRESHOLDS = Thresholds()

# Keys that existed once: a site file that still sets one is told why it is refused.
RETIRED = {
    "tb_positive_lookback_months": "a positive IGRA/TST counts at any time (clinical-rules.md revision 2, screen-tb)",
}


def load_thresholds(path: str | Path | None) -> Thresholds:
    """Defaults, overridden by the TOML file at `path` (unknown keys are an error)."""
    if not path:
        return DEFAULT_THRESHOLDS
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    known = {f.name: f.type for f in fields(Thresholds)}
    retired = sorted(set(data) & set(RETIRED))
    if retired:
        raise ValueError(
            f"threshold(s) no longer used in {path}: "
            + "; ".join(f"{k}: {RETIRED[k]}" for k in retired)
            + ". Remove them."
        )
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ValueError(f"unknown threshold(s) in {path}: {', '.join(unknown)}")
    return replace(DEFAULT_THRESHOLDS, **data)
