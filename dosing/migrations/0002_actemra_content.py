"""The ACTEMRA US label content, restated from shared/reference/actemra-us-label.md.

Every row carries the PI section the reference gives and its evidence level; OPEN rows are flagged
for review. After this migration the app is complete: no second loading step.
"""

from __future__ import annotations

from decimal import Decimal as D

from django.db import migrations
from django.utils import timezone

LABEL_URL = (
    "https://dailymed.nlm.nih.gov/dailymed/drugInfo.cfm?setid=2e5365ff-cb2a-4b16-b2c7-e35c6bf2de13"
)

ALL = ["ra", "gca", "ssc-ild", "pjia", "sjia", "crs", "covid-19"]
CHRONIC = ["ra", "gca", "ssc-ild", "pjia", "sjia"]
DOSING = "2"
LABS = "2.1, 2.9, 5.3, 5.4"
PREP = "2 (preparation)"

INDICATIONS = [
    {
        "slug": "ra",
        "name": "Rheumatoid arthritis",
        "population": "Adults with an inadequate response to one or more disease-modifying antirheumatic drugs (DMARDs).",
        "min_age_years": D(18),
        "adult_only": True,
        "evidence": "PI",
    },
    {
        "slug": "gca",
        "name": "Giant cell arteritis",
        "population": "Adults.",
        "min_age_years": D(18),
        "adult_only": True,
        "evidence": "PI",
    },
    {
        "slug": "ssc-ild",
        "name": "Systemic sclerosis–associated interstitial lung disease",
        "population": "Adults.",
        "min_age_years": D(18),
        "adult_only": True,
        "evidence": "PI",
    },
    {
        "slug": "pjia",
        "name": "Polyarticular juvenile idiopathic arthritis",
        "population": "Patients 2 years of age and older.",
        "min_age_years": D(2),
        "adult_only": False,
        "evidence": "PI",
    },
    {
        "slug": "sjia",
        "name": "Systemic juvenile idiopathic arthritis",
        "population": "Patients 2 years of age and older.",
        "min_age_years": D(2),
        "adult_only": False,
        "evidence": "PI-old",
    },
    {
        "slug": "crs",
        "name": "CAR T cell–induced cytokine release syndrome",
        "population": "Adults and patients 2 years of age and older.",
        "min_age_years": D(2),
        "adult_only": False,
        "evidence": "PI-old",
    },
    {
        "slug": "covid-19",
        "name": "COVID-19 in hospitalized adults",
        "population": "Hospitalized adults receiving systemic corticosteroids and needing supplemental oxygen, non-invasive or invasive mechanical ventilation, or ECMO.",
        "min_age_years": D(18),
        "adult_only": True,
        "evidence": "PI",
    },
]

RA_WITH = "Alone or with methotrexate or other non-biologic DMARDs. Avoid biologic DMARDs (TNF antagonists, IL-1R antagonists, anti-CD20, co-stimulation modulators)."
JIA_WITH = "Alone or with methotrexate. Avoid biologic DMARDs (TNF antagonists, IL-1R antagonists, anti-CD20, co-stimulation modulators)."
GCA_WITH = "With a tapering course of glucocorticoids; may continue alone after the taper."
CRS_REPEAT = "if no clinical improvement in signs and symptoms"
COVID_REPEAT = "if clinical signs or symptoms worsen or do not improve"

# Keys are the DoseRule fields; max_weight_kg is the band's exclusive upper bound.
DOSE_RULES = [
    {
        "indication": "ra",
        "route": "iv",
        "step": "starting",
        "min_weight_kg": None,
        "max_weight_kg": None,
        "mg_per_kg": D(4),
        "flat_mg": None,
        "interval_days": 28,
        "additional_doses_max": None,
        "min_hours_apart": None,
        "repeat_condition": "",
        "max_mg": D(800),
        "next_step": "Increase to 8 mg/kg every 4 weeks based on clinical response.",
        "concomitant": RA_WITH,
        "evidence": "PI",
    },
    {
        "indication": "ra",
        "route": "iv",
        "step": "increased",
        "min_weight_kg": None,
        "max_weight_kg": None,
        "mg_per_kg": D(8),
        "flat_mg": None,
        "interval_days": 28,
        "additional_doses_max": None,
        "min_hours_apart": None,
        "repeat_condition": "",
        "max_mg": D(800),
        "next_step": "",
        "concomitant": RA_WITH,
        "evidence": "PI",
    },
    {
        "indication": "ra",
        "route": "sc",
        "step": "starting",
        "min_weight_kg": None,
        "max_weight_kg": D(100),
        "mg_per_kg": None,
        "flat_mg": D(162),
        "interval_days": 14,
        "additional_doses_max": None,
        "min_hours_apart": None,
        "repeat_condition": "",
        "max_mg": None,
        "next_step": "Increase to every week based on clinical response.",
        "concomitant": RA_WITH,
        "evidence": "PI",
    },
    {
        "indication": "ra",
        "route": "sc",
        "step": "starting",
        "min_weight_kg": D(100),
        "max_weight_kg": None,
        "mg_per_kg": None,
        "flat_mg": D(162),
        "interval_days": 7,
        "additional_doses_max": None,
        "min_hours_apart": None,
        "repeat_condition": "",
        "max_mg": None,
        "next_step": "",
        "concomitant": RA_WITH,
        "evidence": "PI",
    },
    {
        "indication": "ra",
        "route": "sc",
        "step": "increased",
        "min_weight_kg": None,
        "max_weight_kg": D(100),
        "mg_per_kg": None,
        "flat_mg": D(162),
        "interval_days": 7,
        "additional_doses_max": None,
        "min_hours_apart": None,
        "repeat_condition": "",
        "max_mg": None,
        "next_step": "",
        "concomitant": RA_WITH,
        "evidence": "PI",
    },
    {
        "indication": "ra",
        "route": "sc",
        "step": "increased",
        "min_weight_kg": D(100),
        "max_weight_kg": None,
        "mg_per_kg": None,
        "flat_mg": D(162),
        "interval_days": 7,
        "additional_doses_max": None,
        "min_hours_apart": None,
        "repeat_condition": "",
        "max_mg": None,
        "next_step": "Already every week from the start at 100 kg and above: the label has no further increase.",
        "concomitant": RA_WITH,
        "evidence": "PI",
    },
    {
        "indication": "gca",
        "route": "iv",
        "step": "starting",
        "min_weight_kg": None,
        "max_weight_kg": None,
        "mg_per_kg": D(6),
        "flat_mg": None,
        "interval_days": 28,
        "additional_doses_max": None,
        "min_hours_apart": None,
        "repeat_condition": "",
        "max_mg": D(600),
        "next_step": "",
        "concomitant": GCA_WITH,
        "evidence": "2nd",
    },
    {
        "indication": "gca",
        "route": "sc",
        "step": "starting",
        "min_weight_kg": None,
        "max_weight_kg": None,
        "mg_per_kg": None,
        "flat_mg": D(162),
        "interval_days": 7,
        "additional_doses_max": None,
        "min_hours_apart": None,
        "repeat_condition": "",
        "max_mg": None,
        "next_step": "Every other week may be prescribed on clinical grounds.",
        "concomitant": GCA_WITH,
        "evidence": "PI",
    },
    {
        "indication": "ssc-ild",
        "route": "sc",
        "step": "starting",
        "min_weight_kg": None,
        "max_weight_kg": None,
        "mg_per_kg": None,
        "flat_mg": D(162),
        "interval_days": 7,
        "additional_doses_max": None,
        "min_hours_apart": None,
        "repeat_condition": "",
        "max_mg": None,
        "next_step": "",
        "concomitant": "",
        "evidence": "PI",
    },
    {
        "indication": "pjia",
        "route": "iv",
        "step": "starting",
        "min_weight_kg": None,
        "max_weight_kg": D(30),
        "mg_per_kg": D(10),
        "flat_mg": None,
        "interval_days": 28,
        "additional_doses_max": None,
        "min_hours_apart": None,
        "repeat_condition": "",
        "max_mg": None,
        "next_step": "",
        "concomitant": JIA_WITH,
        "evidence": "PI",
    },
    {
        "indication": "pjia",
        "route": "iv",
        "step": "starting",
        "min_weight_kg": D(30),
        "max_weight_kg": None,
        "mg_per_kg": D(8),
        "flat_mg": None,
        "interval_days": 28,
        "additional_doses_max": None,
        "min_hours_apart": None,
        "repeat_condition": "",
        "max_mg": None,
        "next_step": "",
        "concomitant": JIA_WITH,
        "evidence": "PI",
    },
    {
        "indication": "pjia",
        "route": "sc",
        "step": "starting",
        "min_weight_kg": None,
        "max_weight_kg": D(30),
        "mg_per_kg": None,
        "flat_mg": D(162),
        "interval_days": 21,
        "additional_doses_max": None,
        "min_hours_apart": None,
        "repeat_condition": "",
        "max_mg": None,
        "next_step": "",
        "concomitant": JIA_WITH,
        "evidence": "PI",
    },
    {
        "indication": "pjia",
        "route": "sc",
        "step": "starting",
        "min_weight_kg": D(30),
        "max_weight_kg": None,
        "mg_per_kg": None,
        "flat_mg": D(162),
        "interval_days": 14,
        "additional_doses_max": None,
        "min_hours_apart": None,
        "repeat_condition": "",
        "max_mg": None,
        "next_step": "",
        "concomitant": JIA_WITH,
        "evidence": "2nd",
    },
    {
        "indication": "sjia",
        "route": "iv",
        "step": "starting",
        "min_weight_kg": None,
        "max_weight_kg": D(30),
        "mg_per_kg": D(12),
        "flat_mg": None,
        "interval_days": 14,
        "additional_doses_max": None,
        "min_hours_apart": None,
        "repeat_condition": "",
        "max_mg": None,
        "next_step": "",
        "concomitant": JIA_WITH,
        "evidence": "PI-old",
    },
    {
        "indication": "sjia",
        "route": "iv",
        "step": "starting",
        "min_weight_kg": D(30),
        "max_weight_kg": None,
        "mg_per_kg": D(8),
        "flat_mg": None,
        "interval_days": 14,
        "additional_doses_max": None,
        "min_hours_apart": None,
        "repeat_condition": "",
        "max_mg": None,
        "next_step": "",
        "concomitant": JIA_WITH,
        "evidence": "PI-old",
    },
    {
        "indication": "sjia",
        "route": "sc",
        "step": "starting",
        "min_weight_kg": None,
        "max_weight_kg": D(30),
        "mg_per_kg": None,
        "flat_mg": D(162),
        "interval_days": 14,
        "additional_doses_max": None,
        "min_hours_apart": None,
        "repeat_condition": "",
        "max_mg": None,
        "next_step": "",
        "concomitant": JIA_WITH,
        "evidence": "2nd",
    },
    {
        "indication": "sjia",
        "route": "sc",
        "step": "starting",
        "min_weight_kg": D(30),
        "max_weight_kg": None,
        "mg_per_kg": None,
        "flat_mg": D(162),
        "interval_days": 7,
        "additional_doses_max": None,
        "min_hours_apart": None,
        "repeat_condition": "",
        "max_mg": None,
        "next_step": "",
        "concomitant": JIA_WITH,
        "evidence": "2nd",
    },
    {
        "indication": "crs",
        "route": "iv",
        "step": "starting",
        "min_weight_kg": None,
        "max_weight_kg": D(30),
        "mg_per_kg": D(12),
        "flat_mg": None,
        "interval_days": None,
        "additional_doses_max": 3,
        "min_hours_apart": 8,
        "repeat_condition": CRS_REPEAT,
        "max_mg": D(800),
        "next_step": "",
        "concomitant": "Alone or with corticosteroids.",
        "evidence": "PI-old",
    },
    {
        "indication": "crs",
        "route": "iv",
        "step": "starting",
        "min_weight_kg": D(30),
        "max_weight_kg": None,
        "mg_per_kg": D(8),
        "flat_mg": None,
        "interval_days": None,
        "additional_doses_max": 3,
        "min_hours_apart": 8,
        "repeat_condition": CRS_REPEAT,
        "max_mg": D(800),
        "next_step": "",
        "concomitant": "Alone or with corticosteroids.",
        "evidence": "PI-old",
    },
    {
        "indication": "covid-19",
        "route": "iv",
        "step": "starting",
        "min_weight_kg": None,
        "max_weight_kg": None,
        "mg_per_kg": D(8),
        "flat_mg": None,
        "interval_days": None,
        "additional_doses_max": 1,
        "min_hours_apart": 8,
        "repeat_condition": COVID_REPEAT,
        "max_mg": D(800),
        "next_step": "",
        "concomitant": "With systemic corticosteroids.",
        "evidence": "PI",
    },
]

PRESENTATIONS = [
    {"route": "iv", "device": "vial", "strength_mg": D(80), "volume_ml": D(4)},
    {"route": "iv", "device": "vial", "strength_mg": D(200), "volume_ml": D(10)},
    {"route": "iv", "device": "vial", "strength_mg": D(400), "volume_ml": D(20)},
    {"route": "sc", "device": "syringe", "strength_mg": D(162), "volume_ml": D("0.9")},
    {"route": "sc", "device": "autoinjector", "strength_mg": D(162), "volume_ml": D("0.9")},
]

PREPARATION_TEXT = """\
1. Dose volume = dose (mg) ÷ 20 mg/mL (8 mg/kg is 0.4 mL/kg; 12 mg/kg is 0.6 mL/kg).
2. Use 0.9% or 0.45% Sodium Chloride Injection. Final volume: **100 mL** for patients 30 kg and
   above, **50 mL** for patients below 30 kg.
3. First withdraw from the bag a volume of saline equal to the drug volume, then add the drug
   slowly and invert gently. Do not shake (no foaming).
4. Infuse over 60 minutes with an infusion set. Never give as an intravenous push or bolus. Give
   no other drug in the same line.
5. Vials are single-dose and contain no preservative: discard what is left. The label states no
   rounding rule; the calculator shows the vials and the unused amount rather than rounding the dose.

**Diluted solution:** in 0.9% sodium chloride up to 24 hours at 2 to 8 °C or at room temperature;
in 0.45% sodium chloride up to 24 hours at 2 to 8 °C or 4 hours at room temperature. Protect from
light.

**Storage:** 2 to 8 °C, do not freeze, keep in the carton. Subcutaneous devices: let them warm for
about 30 minutes before injecting, and inject the full 0.9 mL.
"""

# Keys are the LabRule fields (indications by slug).
NOT_STARTED = [
    {
        "code": "start-anc",
        "lab": "anc",
        "context": "starting",
        "route": "",
        "indications": CHRONIC,
        "above": None,
        "above_inclusive": False,
        "below": D(2000),
        "below_inclusive": False,
        "action": "not_recommended",
        "reduce_to_mg_per_kg": None,
        "reduce_to_interval_days": None,
        "message": "do not start when ANC is below 2,000 cells/mm³.",
        "evidence": "PI",
    },
    {
        "code": "start-platelets",
        "lab": "platelets",
        "context": "starting",
        "route": "",
        "indications": CHRONIC,
        "above": None,
        "above_inclusive": False,
        "below": D(100000),
        "below_inclusive": False,
        "action": "not_recommended",
        "reduce_to_mg_per_kg": None,
        "reduce_to_interval_days": None,
        "message": "do not start when platelets are below 100,000 cells/mm³.",
        "evidence": "PI",
    },
    {
        "code": "start-alt-ast",
        "lab": "alt_ast",
        "context": "starting",
        "route": "",
        "indications": CHRONIC,
        "above": D("1.5"),
        "above_inclusive": False,
        "below": None,
        "below_inclusive": False,
        "action": "not_recommended",
        "reduce_to_mg_per_kg": None,
        "reduce_to_interval_days": None,
        "message": "do not start when ALT or AST is above 1.5 × ULN.",
        "evidence": "PI",
    },
    {
        "code": "covid-anc",
        "lab": "anc",
        "context": "any",
        "route": "",
        "indications": ["covid-19"],
        "above": None,
        "above_inclusive": False,
        "below": D(1000),
        "below_inclusive": False,
        "action": "not_recommended",
        "reduce_to_mg_per_kg": None,
        "reduce_to_interval_days": None,
        "message": "not recommended when ANC is below 1,000 cells/mm³.",
        "evidence": "PI",
    },
    {
        "code": "covid-platelets",
        "lab": "platelets",
        "context": "any",
        "route": "",
        "indications": ["covid-19"],
        "above": None,
        "above_inclusive": False,
        "below": D(50000),
        "below_inclusive": False,
        "action": "not_recommended",
        "reduce_to_mg_per_kg": None,
        "reduce_to_interval_days": None,
        "message": "not recommended when platelets are below 50,000 cells/mm³.",
        "evidence": "PI",
    },
    {
        "code": "covid-alt-ast",
        "lab": "alt_ast",
        "context": "any",
        "route": "",
        "indications": ["covid-19"],
        "above": D(10),
        "above_inclusive": False,
        "below": None,
        "below_inclusive": False,
        "action": "not_recommended",
        "reduce_to_mg_per_kg": None,
        "reduce_to_interval_days": None,
        "message": "not recommended when ALT or AST is above 10 × ULN.",
        "evidence": "PI",
    },
]


def _on_therapy(prefix: str, indications: list[str], evidence: str) -> list[dict]:
    """The RA modification table (PI-old); GCA and SSc-ILD reuse it as OPEN content."""
    return [
        {
            "code": f"{prefix}-alt-ast-1-3-iv",
            "lab": "alt_ast",
            "context": "on_therapy",
            "route": "iv",
            "indications": indications,
            "above": D(1),
            "above_inclusive": False,
            "below": D(3),
            "below_inclusive": True,
            "action": "reduce",
            "reduce_to_mg_per_kg": D(4),
            "reduce_to_interval_days": None,
            "message": "adjust concomitant DMARDs; if persistent, reduce to 4 mg/kg or hold until ALT and AST are normal.",
            "evidence": evidence,
        },
        {
            "code": f"{prefix}-alt-ast-1-3-sc",
            "lab": "alt_ast",
            "context": "on_therapy",
            "route": "sc",
            "indications": indications,
            "above": D(1),
            "above_inclusive": False,
            "below": D(3),
            "below_inclusive": True,
            "action": "reduce",
            "reduce_to_mg_per_kg": None,
            "reduce_to_interval_days": 14,
            "message": "adjust concomitant DMARDs; if persistent, reduce to every other week or hold until normal; resume every other week, then every week as appropriate.",
            "evidence": evidence,
        },
        {
            "code": f"{prefix}-alt-ast-3-5",
            "lab": "alt_ast",
            "context": "on_therapy",
            "route": "",
            "indications": indications,
            "above": D(3),
            "above_inclusive": False,
            "below": D(5),
            "below_inclusive": True,
            "action": "hold",
            "reduce_to_mg_per_kg": None,
            "reduce_to_interval_days": None,
            "message": "confirm by repeat test; hold until below 3 × ULN, then follow the advice for above 1 to 3 × ULN. Persistently above 3 × ULN: discontinue.",
            "evidence": evidence,
        },
        {
            "code": f"{prefix}-alt-ast-above-5",
            "lab": "alt_ast",
            "context": "on_therapy",
            "route": "",
            "indications": indications,
            "above": D(5),
            "above_inclusive": False,
            "below": None,
            "below_inclusive": False,
            "action": "discontinue",
            "reduce_to_mg_per_kg": None,
            "reduce_to_interval_days": None,
            "message": "discontinue (above 5 × ULN).",
            "evidence": evidence,
        },
        {
            "code": f"{prefix}-anc-500-1000-iv",
            "lab": "anc",
            "context": "on_therapy",
            "route": "iv",
            "indications": indications,
            "above": D(500),
            "above_inclusive": True,
            "below": D(1000),
            "below_inclusive": True,
            "action": "hold",
            "reduce_to_mg_per_kg": None,
            "reduce_to_interval_days": None,
            "message": "hold; when ANC is above 1,000 cells/mm³ resume at 4 mg/kg and increase to 8 mg/kg as clinically appropriate.",
            "evidence": evidence,
        },
        {
            "code": f"{prefix}-anc-500-1000-sc",
            "lab": "anc",
            "context": "on_therapy",
            "route": "sc",
            "indications": indications,
            "above": D(500),
            "above_inclusive": True,
            "below": D(1000),
            "below_inclusive": True,
            "action": "hold",
            "reduce_to_mg_per_kg": None,
            "reduce_to_interval_days": None,
            "message": "hold; when ANC is above 1,000 cells/mm³ resume every other week, then every week as clinically appropriate.",
            "evidence": evidence,
        },
        {
            "code": f"{prefix}-anc-below-500",
            "lab": "anc",
            "context": "on_therapy",
            "route": "",
            "indications": indications,
            "above": None,
            "above_inclusive": False,
            "below": D(500),
            "below_inclusive": False,
            "action": "discontinue",
            "reduce_to_mg_per_kg": None,
            "reduce_to_interval_days": None,
            "message": "discontinue (ANC below 500 cells/mm³).",
            "evidence": evidence,
        },
        {
            "code": f"{prefix}-platelets-50k-100k-iv",
            "lab": "platelets",
            "context": "on_therapy",
            "route": "iv",
            "indications": indications,
            "above": D(50000),
            "above_inclusive": True,
            "below": D(100000),
            "below_inclusive": True,
            "action": "hold",
            "reduce_to_mg_per_kg": None,
            "reduce_to_interval_days": None,
            "message": "hold; when platelets are above 100,000 cells/mm³ resume at 4 mg/kg and increase to 8 mg/kg as clinically appropriate.",
            "evidence": evidence,
        },
        {
            "code": f"{prefix}-platelets-50k-100k-sc",
            "lab": "platelets",
            "context": "on_therapy",
            "route": "sc",
            "indications": indications,
            "above": D(50000),
            "above_inclusive": True,
            "below": D(100000),
            "below_inclusive": True,
            "action": "hold",
            "reduce_to_mg_per_kg": None,
            "reduce_to_interval_days": None,
            "message": "hold; when platelets are above 100,000 cells/mm³ resume every other week, then every week as clinically appropriate.",
            "evidence": evidence,
        },
        {
            "code": f"{prefix}-platelets-below-50k",
            "lab": "platelets",
            "context": "on_therapy",
            "route": "",
            "indications": indications,
            "above": None,
            "above_inclusive": False,
            "below": D(50000),
            "below_inclusive": False,
            "action": "discontinue",
            "reduce_to_mg_per_kg": None,
            "reduce_to_interval_days": None,
            "message": "discontinue (platelets below 50,000 cells/mm³).",
            "evidence": evidence,
        },
    ]


JIA_HOLD = "dose reduction has not been studied in PJIA and SJIA: interrupt (hold) at levels similar to RA."
JIA_SEVERE = "hold. Dose reduction has not been studied in PJIA and SJIA; whether to discontinue for a lab abnormality is a clinical decision for the individual patient."
JIA_ON_THERAPY = [
    {
        "code": "jia-alt-ast-1-5",
        "lab": "alt_ast",
        "context": "on_therapy",
        "route": "",
        "indications": ["pjia", "sjia"],
        "above": D(1),
        "above_inclusive": False,
        "below": D(5),
        "below_inclusive": True,
        "action": "hold",
        "reduce_to_mg_per_kg": None,
        "reduce_to_interval_days": None,
        "message": JIA_HOLD,
        "evidence": "PI-old",
    },
    {
        "code": "jia-alt-ast-above-5",
        "lab": "alt_ast",
        "context": "on_therapy",
        "route": "",
        "indications": ["pjia", "sjia"],
        "above": D(5),
        "above_inclusive": False,
        "below": None,
        "below_inclusive": False,
        "action": "hold",
        "reduce_to_mg_per_kg": None,
        "reduce_to_interval_days": None,
        "message": JIA_SEVERE,
        "evidence": "PI-old",
    },
    {
        "code": "jia-anc-500-1000",
        "lab": "anc",
        "context": "on_therapy",
        "route": "",
        "indications": ["pjia", "sjia"],
        "above": D(500),
        "above_inclusive": True,
        "below": D(1000),
        "below_inclusive": True,
        "action": "hold",
        "reduce_to_mg_per_kg": None,
        "reduce_to_interval_days": None,
        "message": JIA_HOLD,
        "evidence": "PI-old",
    },
    {
        "code": "jia-anc-below-500",
        "lab": "anc",
        "context": "on_therapy",
        "route": "",
        "indications": ["pjia", "sjia"],
        "above": None,
        "above_inclusive": False,
        "below": D(500),
        "below_inclusive": False,
        "action": "hold",
        "reduce_to_mg_per_kg": None,
        "reduce_to_interval_days": None,
        "message": JIA_SEVERE,
        "evidence": "PI-old",
    },
    {
        "code": "jia-platelets-50k-100k",
        "lab": "platelets",
        "context": "on_therapy",
        "route": "",
        "indications": ["pjia", "sjia"],
        "above": D(50000),
        "above_inclusive": True,
        "below": D(100000),
        "below_inclusive": True,
        "action": "hold",
        "reduce_to_mg_per_kg": None,
        "reduce_to_interval_days": None,
        "message": JIA_HOLD,
        "evidence": "PI-old",
    },
    {
        "code": "jia-platelets-below-50k",
        "lab": "platelets",
        "context": "on_therapy",
        "route": "",
        "indications": ["pjia", "sjia"],
        "above": None,
        "above_inclusive": False,
        "below": D(50000),
        "below_inclusive": False,
        "action": "hold",
        "reduce_to_mg_per_kg": None,
        "reduce_to_interval_days": None,
        "message": JIA_SEVERE,
        "evidence": "PI-old",
    },
]

LAB_RULES = (
    NOT_STARTED
    + _on_therapy("ra", ["ra"], "PI-old")
    + _on_therapy("gca-ssc-ild", ["gca", "ssc-ild"], "OPEN")
    + JIA_ON_THERAPY
)

# Keys are the Advisory fields (indications by slug).
ADVISORIES = [
    {
        "code": "boxed-serious-infections",
        "severity": "danger",
        "route": "",
        "indications": ALL,
        "message": "Boxed warning: serious infections (tuberculosis, bacterial, invasive fungal, viral and other opportunistic infections) leading to hospitalization or death. If a serious infection develops, interrupt until it is controlled.",
        "label_section": "Boxed warning",
        "evidence": "PI",
        "order": 1,
    },
    {
        "code": "latent-tuberculosis",
        "severity": "warning",
        "route": "",
        "indications": CHRONIC + ["crs"],
        "message": "Test for latent tuberculosis and treat it before starting.",
        "label_section": "Boxed warning",
        "evidence": "PI",
        "order": 2,
    },
    {
        "code": "hypersensitivity",
        "severity": "warning",
        "route": "",
        "indications": ALL,
        "message": "Contraindicated in known hypersensitivity to tocilizumab. Hypersensitivity reactions, including fatal anaphylaxis, have occurred.",
        "label_section": "4, 5",
        "evidence": "PI",
        "order": 3,
    },
    {
        "code": "crs-labs-not-stated",
        "severity": "warning",
        "route": "",
        "indications": ["crs"],
        "message": "No lab thresholds are stated for CRS; cytopenias and raised liver enzymes are common in these patients.",
        "label_section": LABS,
        "evidence": "OPEN",
        "order": 4,
    },
    {
        "code": "covid-under-18",
        "severity": "warning",
        "route": "",
        "indications": ["covid-19"],
        "message": "Not approved under 18 years. A paediatric emergency use authorization existed in 2022; its current status is not confirmed.",
        "label_section": "1",
        "evidence": "OPEN",
        "order": 5,
    },
    {
        "code": "jia-weight-fluctuates",
        "severity": "info",
        "route": "",
        "indications": ["pjia", "sjia"],
        "message": "Do not change the dose on a single visit's weight: weight fluctuates.",
        "label_section": DOSING,
        "evidence": "PI-old",
        "order": 6,
    },
    {
        "code": "switch-iv-to-sc-ra",
        "severity": "info",
        "route": "sc",
        "indications": ["ra"],
        "message": "Switching from intravenous: give the first subcutaneous dose instead of the next scheduled intravenous dose.",
        "label_section": DOSING,
        "evidence": "PI",
        "order": 7,
    },
    {
        "code": "switch-iv-to-sc-gca",
        "severity": "info",
        "route": "sc",
        "indications": ["gca"],
        "message": "Switching from intravenous: give the first subcutaneous dose instead of the next scheduled intravenous dose.",
        "label_section": DOSING,
        "evidence": "2nd",
        "order": 8,
    },
    {
        "code": "switch-iv-to-sc-jia",
        "severity": "info",
        "route": "sc",
        "indications": ["pjia", "sjia"],
        "message": "Switching from intravenous: give the first subcutaneous dose when the next intravenous dose was due, under the supervision of a healthcare professional.",
        "label_section": DOSING,
        "evidence": "2nd",
        "order": 9,
    },
    {
        "code": "iv-infusion-only",
        "severity": "info",
        "route": "iv",
        "indications": ALL,
        "message": "Infuse over 60 minutes with an infusion set. Never give as an intravenous push or bolus; no other drug in the same line.",
        "label_section": PREP,
        "evidence": "PI-old",
        "order": 10,
    },
    {
        "code": "sc-device-use",
        "severity": "info",
        "route": "sc",
        "indications": ALL,
        "message": "Let the syringe or pen warm at room temperature for about 30 minutes before injecting; inject the full 0.9 mL.",
        "label_section": PREP,
        "evidence": "PI-old",
        "order": 11,
    },
    {
        "code": "monitoring",
        "severity": "info",
        "route": "",
        "indications": CHRONIC,
        "message": "Check neutrophils and platelets 4 to 8 weeks after starting, then about every 3 months.",
        "label_section": LABS,
        "evidence": "PI-old",
        "order": 12,
    },
    {
        "code": "monitoring-liver",
        "severity": "info",
        "route": "",
        "indications": CHRONIC,
        "message": "The ALT and AST monitoring schedule is not confirmed.",
        "label_section": LABS,
        "evidence": "OPEN",
        "order": 13,
    },
    {
        "code": "no-live-vaccines",
        "severity": "info",
        "route": "",
        "indications": CHRONIC,
        "message": "Do not give live vaccines.",
        "label_section": "5",
        "evidence": "PI",
        "order": 14,
    },
    {
        "code": "other-warnings",
        "severity": "info",
        "route": "",
        "indications": ALL,
        "message": "Other warnings: gastrointestinal perforation, hepatotoxicity and active hepatic disease, demyelinating disorders, changes in neutrophils, platelets, lipids and liver enzymes, immunosuppression.",
        "label_section": "5",
        "evidence": "PI",
        "order": 15,
    },
]

# Typo catcher, not a label rule: weights outside these ranges get "check the weight".
PLAUSIBLE_WEIGHTS = [
    {"min_age_years": D(0), "max_age_years": D(2), "min_weight_kg": D(2), "max_weight_kg": D(20)},
    {"min_age_years": D(2), "max_age_years": D(6), "min_weight_kg": D(8), "max_weight_kg": D(35)},
    {"min_age_years": D(6), "max_age_years": D(12), "min_weight_kg": D(14), "max_weight_kg": D(80)},
    {
        "min_age_years": D(12),
        "max_age_years": D(18),
        "min_weight_kg": D(25),
        "max_weight_kg": D(150),
    },
    {
        "min_age_years": D(18),
        "max_age_years": None,
        "min_weight_kg": D(30),
        "max_weight_kg": D(300),
    },
]

SECTIONS = [
    {
        "slug": "indications",
        "title": "Indications",
        "body": """\
ACTEMRA (tocilizumab) is approved in the US for:

- **Rheumatoid arthritis (RA):** adults with an inadequate response to one or more DMARDs.
- **Giant cell arteritis (GCA):** adults.
- **Systemic sclerosis–associated interstitial lung disease (SSc-ILD):** adults (subcutaneous only).
- **Polyarticular juvenile idiopathic arthritis (PJIA):** patients 2 years and older.
- **Systemic juvenile idiopathic arthritis (SJIA):** patients 2 years and older.
- **CAR T cell–induced cytokine release syndrome (CRS):** adults and patients 2 years and older (intravenous only).
- **COVID-19:** hospitalized adults receiving systemic corticosteroids and needing supplemental
  oxygen, non-invasive or invasive mechanical ventilation, or ECMO (intravenous only).

Not approved: subcutaneous use for CRS and COVID-19; intravenous use for SSc-ILD; COVID-19 under
18 years (the status of a 2022 paediatric emergency use authorization is not confirmed).
""",
        "label_section": "1",
        "evidence": "PI",
    },
    {
        "slug": "dosage-and-administration",
        "title": "Dosage and administration",
        "body": """\
Weight bands: "below 30 kg" and "30 kg and above" (30.0 kg belongs to the upper band); "below
100 kg" and "100 kg and above" likewise. Intervals: every week is 7 days, every 2 weeks 14, every
3 weeks 21, every 4 weeks 28. Every intravenous dose is a single 60-minute infusion.

The dosing tables below are rendered from the same data the calculator uses.
""",
        "label_section": DOSING,
        "evidence": "PI",
    },
    {
        "slug": "iv-preparation",
        "title": "Preparing an intravenous dose",
        "body": PREPARATION_TEXT,
        "label_section": PREP,
        "evidence": "PI-old",
    },
    {
        "slug": "dose-modifications",
        "title": "Dose modifications for laboratory abnormalities",
        "body": """\
ANC and platelets are in cells/mm³ (the same as cells/µL); ALT and AST as multiples of the upper
limit of normal (ULN). With several abnormal values the most severe action wins.

- **Before starting** (RA, GCA, SSc-ILD, PJIA, SJIA): do not start if ANC is below 2,000,
  platelets below 100,000, or ALT or AST above 1.5 × ULN.
- **COVID-19:** not recommended if ANC is below 1,000, platelets below 50,000, or ALT or AST above
  10 × ULN.
- **On therapy, RA:** see the table below. The same table is believed to cover GCA and SSc-ILD,
  but how the 4 mg/kg step applies to the 6 mg/kg GCA dose is not confirmed (flagged for review).
- **PJIA and SJIA:** dose reduction has not been studied. Interrupt (hold) at levels similar to
  RA; discontinuation for a lab abnormality is a clinical decision for the individual patient.
- **CRS:** no thresholds are stated; cytopenias and raised enzymes are common in these patients
  (not confirmed: flagged for review).
- **Serious infection:** interrupt until the infection is controlled.
""",
        "label_section": LABS,
        "evidence": "PI-old",
    },
    {
        "slug": "mechanism-of-action",
        "title": "Mechanism of action",
        "body": """\
Tocilizumab is a humanized monoclonal antibody against the interleukin-6 (IL-6) receptor. It binds
both soluble and membrane-bound IL-6 receptors and inhibits IL-6-mediated signalling.
""",
        "label_section": "12.1",
        "evidence": "PI",
    },
    {
        "slug": "use-with-methotrexate",
        "title": "Use with methotrexate and other therapy",
        "body": """\
- **RA, PJIA, SJIA:** ACTEMRA may be used alone or with methotrexate; in RA, other non-biologic
  DMARDs may be used.
- Avoid use with biologic DMARDs (TNF antagonists, IL-1R antagonists, anti-CD20 monoclonal
  antibodies and selective co-stimulation modulators).
- **GCA:** with a tapering course of glucocorticoids; ACTEMRA may continue alone after the taper.
- **COVID-19:** given with systemic corticosteroids.
""",
        "label_section": DOSING,
        "evidence": "PI-old",
    },
    {
        "slug": "switching-routes",
        "title": "Switching from intravenous to subcutaneous",
        "body": """\
- **RA** (and GCA, from secondary references): give the first subcutaneous dose instead of the
  next scheduled intravenous dose.
- **PJIA and SJIA:** give the first subcutaneous dose when the next intravenous dose was due,
  under the supervision of a healthcare professional.
""",
        "label_section": DOSING,
        "evidence": "PI",
    },
    {
        "slug": "boxed-warning",
        "title": "Boxed warning: serious infections",
        "body": """\
Patients treated with ACTEMRA are at increased risk of serious infections that may lead to
hospitalization or death, including tuberculosis (TB), bacterial, invasive fungal, viral and other
opportunistic infections.

- If a serious infection develops, interrupt ACTEMRA until the infection is controlled.
- Test for latent TB before starting and treat it before use (not required for COVID-19).
- Monitor all patients for signs and symptoms of infection during and after treatment.
""",
        "label_section": "Boxed warning",
        "evidence": "PI",
    },
    {
        "slug": "warnings",
        "title": "Contraindication and key warnings",
        "body": """\
- **Contraindication:** known hypersensitivity to tocilizumab.
- Serious infections; gastrointestinal perforation; hepatotoxicity; changes in laboratory values
  (neutrophils, platelets, lipids, liver enzymes); immunosuppression; hypersensitivity reactions,
  including fatal anaphylaxis; demyelinating disorders; active hepatic disease.
- Do not give live vaccines.
- **Monitoring:** neutrophils and platelets 4 to 8 weeks after starting, then about every
  3 months. The ALT and AST schedule is not confirmed (flagged for review).
""",
        "label_section": "4, 5",
        "evidence": "PI",
    },
    {
        "slug": "other-names",
        "title": "Other names and biosimilars",
        "body": """\
Brand ACTEMRA; generic tocilizumab. An interleukin-6 (IL-6) receptor antagonist.

US biosimilars (the same molecule, each with its own label):

- **Tofidence** (tocilizumab-bavi): intravenous only, 2023.
- **Tyenne** (tocilizumab-aazg): intravenous and subcutaneous, 2024.
- **Avtozma** (tocilizumab-anoh): intravenous and subcutaneous, 2025.
""",
        "label_section": "Title",
        "evidence": "2nd",
    },
    {
        "slug": "pronunciation",
        "title": "Pronunciation",
        "body": "ACTEMRA is pronounced **ak-TEM-ruh**.\n",
        "label_section": "Title",
        "evidence": "2nd",
    },
]


def _split_indications(rows: list[dict]) -> list[tuple[dict, list[str]]]:
    """Rows without their "indications" key (a many-to-many, set after create), and the slugs."""
    return [
        ({k: v for k, v in row.items() if k != "indications"}, row["indications"]) for row in rows
    ]


def load(apps, schema_editor) -> None:  # noqa: ANN001
    models = {name: apps.get_model("dosing", name) for name in [
        "Drug", "MonographSection", "Indication", "DoseRule", "Presentation", "Preparation",
        "BagVolume", "LabRule", "Advisory", "PlausibleWeight", "ContentVersion",
    ]}  # fmt: skip
    drug = models["Drug"].objects.create(
        brand_name="ACTEMRA",
        generic_name="tocilizumab",
        pronunciation="ak-TEM-ruh",
        other_names="Tofidence (tocilizumab-bavi)\nTyenne (tocilizumab-aazg)\nAvtozma (tocilizumab-anoh)",
        drug_class="Interleukin-6 (IL-6) receptor antagonist (humanized monoclonal antibody)",
        mechanism="Binds soluble and membrane-bound IL-6 receptors and inhibits IL-6-mediated signalling.",
        label_name="ACTEMRA (tocilizumab) US Prescribing Information, BLA 125276 (DailyMed)",
        label_url=LABEL_URL,
        label_revision=None,
        label_section="Title",
        # The reference gives no revision date: an admin must enter it from the label.
        evidence="OPEN",
        needs_review=True,
    )
    for order, row in enumerate(SECTIONS, start=1):
        models["MonographSection"].objects.create(
            drug=drug, order=order, needs_review=row["evidence"] == "OPEN", **row
        )
    indications = {
        row["slug"]: models["Indication"].objects.create(
            drug=drug, order=order, label_section="1", **row
        )
        for order, row in enumerate(INDICATIONS, start=1)
    }
    for row in DOSE_RULES:
        models["DoseRule"].objects.create(
            label_section=DOSING,
            needs_review=row["evidence"] == "OPEN",
            **{**row, "indication": indications[row["indication"]]},
        )
    for row in PRESENTATIONS:
        models["Presentation"].objects.create(drug=drug, label_section="3", evidence="PI", **row)
    preparation = models["Preparation"].objects.create(
        drug=drug,
        concentration_mg_per_ml=D(20),
        diluents="0.9% or 0.45% Sodium Chloride Injection",
        infusion_minutes=60,
        instructions=PREPARATION_TEXT,
        label_section=PREP,
        evidence="PI-old",
    )
    models["BagVolume"].objects.create(
        preparation=preparation,
        min_weight_kg=None,
        max_weight_kg=D(30),
        bag_ml=D(50),
        label_section=PREP,
        evidence="PI-old",
    )
    models["BagVolume"].objects.create(
        preparation=preparation,
        min_weight_kg=D(30),
        max_weight_kg=None,
        bag_ml=D(100),
        label_section=PREP,
        evidence="PI-old",
    )
    for row, slugs in _split_indications(LAB_RULES):
        rule = models["LabRule"].objects.create(
            label_section=LABS, needs_review=row["evidence"] == "OPEN", **row
        )
        rule.indications.set([indications[slug] for slug in slugs])
    for row, slugs in _split_indications(ADVISORIES):
        advisory = models["Advisory"].objects.create(needs_review=row["evidence"] == "OPEN", **row)
        advisory.indications.set([indications[slug] for slug in slugs])
    for row in PLAUSIBLE_WEIGHTS:
        models["PlausibleWeight"].objects.create(**row)
    models["ContentVersion"].objects.create(number=1)
    record_initial_history(apps)


HISTORY_MODELS = [
    "Drug", "MonographSection", "Indication", "DoseRule", "Presentation", "Preparation",
    "BagVolume", "LabRule", "Advisory", "PlausibleWeight",
]  # fmt: skip


def record_initial_history(apps) -> None:  # noqa: ANN001
    """A "created" history record for every row, so the first admin edit shows its old value."""
    now = timezone.now()
    for name in HISTORY_MODELS:
        model = apps.get_model("dosing", name)
        historical = apps.get_model("dosing", f"Historical{name}")
        fields = [field.attname for field in model._meta.concrete_fields]
        historical.objects.bulk_create(
            historical(
                **{field: getattr(row, field) for field in fields},
                history_date=now,
                history_type="+",
                history_change_reason="Loaded from the reference by migration 0002",
            )
            for row in model.objects.all()
        )


class Migration(migrations.Migration):
    dependencies = [("dosing", "0001_content_model")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
