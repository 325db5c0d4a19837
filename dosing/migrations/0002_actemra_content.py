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
    # slug, name, population, min age, adult only, evidence
    (
        "ra",
        "Rheumatoid arthritis",
        "Adults with an inadequate response to one or more disease-modifying antirheumatic drugs (DMARDs).",
        D(18),
        True,
        "PI",
    ),
    ("gca", "Giant cell arteritis", "Adults.", D(18), True, "PI"),
    (
        "ssc-ild",
        "Systemic sclerosis–associated interstitial lung disease",
        "Adults.",
        D(18),
        True,
        "PI",
    ),
    (
        "pjia",
        "Polyarticular juvenile idiopathic arthritis",
        "Patients 2 years of age and older.",
        D(2),
        False,
        "PI",
    ),
    (
        "sjia",
        "Systemic juvenile idiopathic arthritis",
        "Patients 2 years of age and older.",
        D(2),
        False,
        "PI-old",
    ),
    (
        "crs",
        "CAR T cell–induced cytokine release syndrome",
        "Adults and patients 2 years of age and older.",
        D(2),
        False,
        "PI-old",
    ),
    (
        "covid-19",
        "COVID-19 in hospitalized adults",
        "Hospitalized adults receiving systemic corticosteroids and needing supplemental oxygen, non-invasive or invasive mechanical ventilation, or ECMO.",
        D(18),
        True,
        "PI",
    ),
]

RA_WITH = "Alone or with methotrexate or other non-biologic DMARDs. Avoid biologic DMARDs (TNF antagonists, IL-1R antagonists, anti-CD20, co-stimulation modulators)."
JIA_WITH = "Alone or with methotrexate. Avoid biologic DMARDs (TNF antagonists, IL-1R antagonists, anti-CD20, co-stimulation modulators)."
GCA_WITH = "With a tapering course of glucocorticoids; may continue alone after the taper."
CRS_REPEAT = "if no clinical improvement in signs and symptoms"
COVID_REPEAT = "if clinical signs or symptoms worsen or do not improve"

# indication, route, step, min kg, below kg, mg/kg, flat mg, interval days, extra doses, hours apart,
# repeat condition, max mg, next step, concomitant, evidence
DOSE_RULES = [
    (
        "ra",
        "iv",
        "starting",
        None,
        None,
        D(4),
        None,
        28,
        None,
        None,
        "",
        D(800),
        "Increase to 8 mg/kg every 4 weeks based on clinical response.",
        RA_WITH,
        "PI",
    ),
    (
        "ra",
        "iv",
        "increased",
        None,
        None,
        D(8),
        None,
        28,
        None,
        None,
        "",
        D(800),
        "",
        RA_WITH,
        "PI",
    ),
    (
        "ra",
        "sc",
        "starting",
        None,
        D(100),
        None,
        D(162),
        14,
        None,
        None,
        "",
        None,
        "Increase to every week based on clinical response.",
        RA_WITH,
        "PI",
    ),
    (
        "ra",
        "sc",
        "starting",
        D(100),
        None,
        None,
        D(162),
        7,
        None,
        None,
        "",
        None,
        "",
        RA_WITH,
        "PI",
    ),
    (
        "ra",
        "sc",
        "increased",
        None,
        D(100),
        None,
        D(162),
        7,
        None,
        None,
        "",
        None,
        "",
        RA_WITH,
        "PI",
    ),
    (
        "ra",
        "sc",
        "increased",
        D(100),
        None,
        None,
        D(162),
        7,
        None,
        None,
        "",
        None,
        "Already every week from the start at 100 kg and above: the label has no further increase.",
        RA_WITH,
        "PI",
    ),
    (
        "gca",
        "iv",
        "starting",
        None,
        None,
        D(6),
        None,
        28,
        None,
        None,
        "",
        D(600),
        "",
        GCA_WITH,
        "2nd",
    ),
    (
        "gca",
        "sc",
        "starting",
        None,
        None,
        None,
        D(162),
        7,
        None,
        None,
        "",
        None,
        "Every other week may be prescribed on clinical grounds.",
        GCA_WITH,
        "PI",
    ),
    ("ssc-ild", "sc", "starting", None, None, None, D(162), 7, None, None, "", None, "", "", "PI"),
    (
        "pjia",
        "iv",
        "starting",
        None,
        D(30),
        D(10),
        None,
        28,
        None,
        None,
        "",
        None,
        "",
        JIA_WITH,
        "PI",
    ),
    (
        "pjia",
        "iv",
        "starting",
        D(30),
        None,
        D(8),
        None,
        28,
        None,
        None,
        "",
        None,
        "",
        JIA_WITH,
        "PI",
    ),
    (
        "pjia",
        "sc",
        "starting",
        None,
        D(30),
        None,
        D(162),
        21,
        None,
        None,
        "",
        None,
        "",
        JIA_WITH,
        "PI",
    ),
    (
        "pjia",
        "sc",
        "starting",
        D(30),
        None,
        None,
        D(162),
        14,
        None,
        None,
        "",
        None,
        "",
        JIA_WITH,
        "2nd",
    ),
    (
        "sjia",
        "iv",
        "starting",
        None,
        D(30),
        D(12),
        None,
        14,
        None,
        None,
        "",
        None,
        "",
        JIA_WITH,
        "PI-old",
    ),
    (
        "sjia",
        "iv",
        "starting",
        D(30),
        None,
        D(8),
        None,
        14,
        None,
        None,
        "",
        None,
        "",
        JIA_WITH,
        "PI-old",
    ),
    (
        "sjia",
        "sc",
        "starting",
        None,
        D(30),
        None,
        D(162),
        14,
        None,
        None,
        "",
        None,
        "",
        JIA_WITH,
        "2nd",
    ),
    (
        "sjia",
        "sc",
        "starting",
        D(30),
        None,
        None,
        D(162),
        7,
        None,
        None,
        "",
        None,
        "",
        JIA_WITH,
        "2nd",
    ),
    (
        "crs",
        "iv",
        "starting",
        None,
        D(30),
        D(12),
        None,
        None,
        3,
        8,
        CRS_REPEAT,
        D(800),
        "",
        "Alone or with corticosteroids.",
        "PI-old",
    ),
    (
        "crs",
        "iv",
        "starting",
        D(30),
        None,
        D(8),
        None,
        None,
        3,
        8,
        CRS_REPEAT,
        D(800),
        "",
        "Alone or with corticosteroids.",
        "PI-old",
    ),
    (
        "covid-19",
        "iv",
        "starting",
        None,
        None,
        D(8),
        None,
        None,
        1,
        8,
        COVID_REPEAT,
        D(800),
        "",
        "With systemic corticosteroids.",
        "PI",
    ),
]

PRESENTATIONS = [
    ("iv", "vial", D(80), D(4)),
    ("iv", "vial", D(200), D(10)),
    ("iv", "vial", D(400), D(20)),
    ("sc", "syringe", D(162), D("0.9")),
    ("sc", "autoinjector", D(162), D("0.9")),
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

# code, lab, context, route, indications, above, above incl., below, below incl., action,
# reduce mg/kg, reduce interval days, message, evidence
NOT_STARTED = [
    (
        "start-anc",
        "anc",
        "starting",
        "",
        CHRONIC,
        None,
        False,
        D(2000),
        False,
        "not_recommended",
        None,
        None,
        "do not start when ANC is below 2,000 cells/mm³.",
        "PI",
    ),
    (
        "start-platelets",
        "platelets",
        "starting",
        "",
        CHRONIC,
        None,
        False,
        D(100000),
        False,
        "not_recommended",
        None,
        None,
        "do not start when platelets are below 100,000 cells/mm³.",
        "PI",
    ),
    (
        "start-alt-ast",
        "alt_ast",
        "starting",
        "",
        CHRONIC,
        D("1.5"),
        False,
        None,
        False,
        "not_recommended",
        None,
        None,
        "do not start when ALT or AST is above 1.5 × ULN.",
        "PI",
    ),
    (
        "covid-anc",
        "anc",
        "any",
        "",
        ["covid-19"],
        None,
        False,
        D(1000),
        False,
        "not_recommended",
        None,
        None,
        "not recommended when ANC is below 1,000 cells/mm³.",
        "PI",
    ),
    (
        "covid-platelets",
        "platelets",
        "any",
        "",
        ["covid-19"],
        None,
        False,
        D(50000),
        False,
        "not_recommended",
        None,
        None,
        "not recommended when platelets are below 50,000 cells/mm³.",
        "PI",
    ),
    (
        "covid-alt-ast",
        "alt_ast",
        "any",
        "",
        ["covid-19"],
        D(10),
        False,
        None,
        False,
        "not_recommended",
        None,
        None,
        "not recommended when ALT or AST is above 10 × ULN.",
        "PI",
    ),
]


def _on_therapy(prefix: str, indications: list[str], evidence: str) -> list[tuple]:
    """The RA modification table (PI-old); GCA and SSc-ILD reuse it as OPEN content."""
    return [
        (
            f"{prefix}-alt-ast-1-3-iv",
            "alt_ast",
            "on_therapy",
            "iv",
            indications,
            D(1),
            False,
            D(3),
            True,
            "reduce",
            D(4),
            None,
            "adjust concomitant DMARDs; if persistent, reduce to 4 mg/kg or hold until ALT and AST are normal.",
            evidence,
        ),
        (
            f"{prefix}-alt-ast-1-3-sc",
            "alt_ast",
            "on_therapy",
            "sc",
            indications,
            D(1),
            False,
            D(3),
            True,
            "reduce",
            None,
            14,
            "adjust concomitant DMARDs; if persistent, reduce to every other week or hold until normal; resume every other week, then every week as appropriate.",
            evidence,
        ),
        (
            f"{prefix}-alt-ast-3-5",
            "alt_ast",
            "on_therapy",
            "",
            indications,
            D(3),
            False,
            D(5),
            True,
            "hold",
            None,
            None,
            "confirm by repeat test; hold until below 3 × ULN, then follow the advice for above 1 to 3 × ULN. Persistently above 3 × ULN: discontinue.",
            evidence,
        ),
        (
            f"{prefix}-alt-ast-above-5",
            "alt_ast",
            "on_therapy",
            "",
            indications,
            D(5),
            False,
            None,
            False,
            "discontinue",
            None,
            None,
            "discontinue (above 5 × ULN).",
            evidence,
        ),
        (
            f"{prefix}-anc-500-1000-iv",
            "anc",
            "on_therapy",
            "iv",
            indications,
            D(500),
            True,
            D(1000),
            True,
            "hold",
            None,
            None,
            "hold; when ANC is above 1,000 cells/mm³ resume at 4 mg/kg and increase to 8 mg/kg as clinically appropriate.",
            evidence,
        ),
        (
            f"{prefix}-anc-500-1000-sc",
            "anc",
            "on_therapy",
            "sc",
            indications,
            D(500),
            True,
            D(1000),
            True,
            "hold",
            None,
            None,
            "hold; when ANC is above 1,000 cells/mm³ resume every other week, then every week as clinically appropriate.",
            evidence,
        ),
        (
            f"{prefix}-anc-below-500",
            "anc",
            "on_therapy",
            "",
            indications,
            None,
            False,
            D(500),
            False,
            "discontinue",
            None,
            None,
            "discontinue (ANC below 500 cells/mm³).",
            evidence,
        ),
        (
            f"{prefix}-platelets-50k-100k-iv",
            "platelets",
            "on_therapy",
            "iv",
            indications,
            D(50000),
            True,
            D(100000),
            True,
            "hold",
            None,
            None,
            "hold; when platelets are above 100,000 cells/mm³ resume at 4 mg/kg and increase to 8 mg/kg as clinically appropriate.",
            evidence,
        ),
        (
            f"{prefix}-platelets-50k-100k-sc",
            "platelets",
            "on_therapy",
            "sc",
            indications,
            D(50000),
            True,
            D(100000),
            True,
            "hold",
            None,
            None,
            "hold; when platelets are above 100,000 cells/mm³ resume every other week, then every week as clinically appropriate.",
            evidence,
        ),
        (
            f"{prefix}-platelets-below-50k",
            "platelets",
            "on_therapy",
            "",
            indications,
            None,
            False,
            D(50000),
            False,
            "discontinue",
            None,
            None,
            "discontinue (platelets below 50,000 cells/mm³).",
            evidence,
        ),
    ]


JIA_HOLD = "dose reduction has not been studied in PJIA and SJIA: interrupt (hold) at levels similar to RA."
JIA_SEVERE = "hold. Dose reduction has not been studied in PJIA and SJIA; whether to discontinue for a lab abnormality is a clinical decision for the individual patient."
JIA_ON_THERAPY = [
    (
        "jia-alt-ast-1-5",
        "alt_ast",
        "on_therapy",
        "",
        ["pjia", "sjia"],
        D(1),
        False,
        D(5),
        True,
        "hold",
        None,
        None,
        JIA_HOLD,
        "PI-old",
    ),
    (
        "jia-alt-ast-above-5",
        "alt_ast",
        "on_therapy",
        "",
        ["pjia", "sjia"],
        D(5),
        False,
        None,
        False,
        "hold",
        None,
        None,
        JIA_SEVERE,
        "PI-old",
    ),
    (
        "jia-anc-500-1000",
        "anc",
        "on_therapy",
        "",
        ["pjia", "sjia"],
        D(500),
        True,
        D(1000),
        True,
        "hold",
        None,
        None,
        JIA_HOLD,
        "PI-old",
    ),
    (
        "jia-anc-below-500",
        "anc",
        "on_therapy",
        "",
        ["pjia", "sjia"],
        None,
        False,
        D(500),
        False,
        "hold",
        None,
        None,
        JIA_SEVERE,
        "PI-old",
    ),
    (
        "jia-platelets-50k-100k",
        "platelets",
        "on_therapy",
        "",
        ["pjia", "sjia"],
        D(50000),
        True,
        D(100000),
        True,
        "hold",
        None,
        None,
        JIA_HOLD,
        "PI-old",
    ),
    (
        "jia-platelets-below-50k",
        "platelets",
        "on_therapy",
        "",
        ["pjia", "sjia"],
        None,
        False,
        D(50000),
        False,
        "hold",
        None,
        None,
        JIA_SEVERE,
        "PI-old",
    ),
]

LAB_RULES = (
    NOT_STARTED
    + _on_therapy("ra", ["ra"], "PI-old")
    + _on_therapy("gca-ssc-ild", ["gca", "ssc-ild"], "OPEN")
    + JIA_ON_THERAPY
)

# code, severity, route, indications, message, label section, evidence, order
ADVISORIES = [
    (
        "boxed-serious-infections",
        "danger",
        "",
        ALL,
        "Boxed warning: serious infections (tuberculosis, bacterial, invasive fungal, viral and other opportunistic infections) leading to hospitalization or death. If a serious infection develops, interrupt until it is controlled.",
        "Boxed warning",
        "PI",
        1,
    ),
    (
        "latent-tuberculosis",
        "warning",
        "",
        CHRONIC + ["crs"],
        "Test for latent tuberculosis and treat it before starting.",
        "Boxed warning",
        "PI",
        2,
    ),
    (
        "hypersensitivity",
        "warning",
        "",
        ALL,
        "Contraindicated in known hypersensitivity to tocilizumab. Hypersensitivity reactions, including fatal anaphylaxis, have occurred.",
        "4, 5",
        "PI",
        3,
    ),
    (
        "crs-labs-not-stated",
        "warning",
        "",
        ["crs"],
        "No lab thresholds are stated for CRS; cytopenias and raised liver enzymes are common in these patients.",
        LABS,
        "OPEN",
        4,
    ),
    (
        "covid-under-18",
        "warning",
        "",
        ["covid-19"],
        "Not approved under 18 years. A paediatric emergency use authorization existed in 2022; its current status is not confirmed.",
        "1",
        "OPEN",
        5,
    ),
    (
        "jia-weight-fluctuates",
        "info",
        "",
        ["pjia", "sjia"],
        "Do not change the dose on a single visit's weight: weight fluctuates.",
        DOSING,
        "PI-old",
        6,
    ),
    (
        "switch-iv-to-sc-ra",
        "info",
        "sc",
        ["ra"],
        "Switching from intravenous: give the first subcutaneous dose instead of the next scheduled intravenous dose.",
        DOSING,
        "PI",
        7,
    ),
    (
        "switch-iv-to-sc-gca",
        "info",
        "sc",
        ["gca"],
        "Switching from intravenous: give the first subcutaneous dose instead of the next scheduled intravenous dose.",
        DOSING,
        "2nd",
        8,
    ),
    (
        "switch-iv-to-sc-jia",
        "info",
        "sc",
        ["pjia", "sjia"],
        "Switching from intravenous: give the first subcutaneous dose when the next intravenous dose was due, under the supervision of a healthcare professional.",
        DOSING,
        "2nd",
        9,
    ),
    (
        "iv-infusion-only",
        "info",
        "iv",
        ALL,
        "Infuse over 60 minutes with an infusion set. Never give as an intravenous push or bolus; no other drug in the same line.",
        PREP,
        "PI-old",
        10,
    ),
    (
        "sc-device-use",
        "info",
        "sc",
        ALL,
        "Let the syringe or pen warm at room temperature for about 30 minutes before injecting; inject the full 0.9 mL.",
        PREP,
        "PI-old",
        11,
    ),
    (
        "monitoring",
        "info",
        "",
        CHRONIC,
        "Check neutrophils and platelets 4 to 8 weeks after starting, then about every 3 months.",
        LABS,
        "PI-old",
        12,
    ),
    (
        "monitoring-liver",
        "info",
        "",
        CHRONIC,
        "The ALT and AST monitoring schedule is not confirmed.",
        LABS,
        "OPEN",
        13,
    ),
    ("no-live-vaccines", "info", "", CHRONIC, "Do not give live vaccines.", "5", "PI", 14),
    (
        "other-warnings",
        "info",
        "",
        ALL,
        "Other warnings: gastrointestinal perforation, hepatotoxicity and active hepatic disease, demyelinating disorders, changes in neutrophils, platelets, lipids and liver enzymes, immunosuppression.",
        "5",
        "PI",
        15,
    ),
]

# Typo catcher, not a label rule: weights outside these ranges get "check the weight".
PLAUSIBLE_WEIGHTS = [
    (D(0), D(2), D(2), D(20)),
    (D(2), D(6), D(8), D(35)),
    (D(6), D(12), D(14), D(80)),
    (D(12), D(18), D(25), D(150)),
    (D(18), None, D(30), D(300)),
]

SECTIONS = [
    # slug, title, body, label section, evidence
    (
        "indications",
        "Indications",
        """\
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
        "1",
        "PI",
    ),
    (
        "dosage-and-administration",
        "Dosage and administration",
        """\
Weight bands: "below 30 kg" and "30 kg and above" (30.0 kg belongs to the upper band); "below
100 kg" and "100 kg and above" likewise. Intervals: every week is 7 days, every 2 weeks 14, every
3 weeks 21, every 4 weeks 28. Every intravenous dose is a single 60-minute infusion.

The dosing tables below are rendered from the same data the calculator uses.
""",
        DOSING,
        "PI",
    ),
    ("iv-preparation", "Preparing an intravenous dose", PREPARATION_TEXT, PREP, "PI-old"),
    (
        "dose-modifications",
        "Dose modifications for laboratory abnormalities",
        """\
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
        LABS,
        "PI-old",
    ),
    (
        "mechanism-of-action",
        "Mechanism of action",
        """\
Tocilizumab is a humanized monoclonal antibody against the interleukin-6 (IL-6) receptor. It binds
both soluble and membrane-bound IL-6 receptors and inhibits IL-6-mediated signalling.
""",
        "12.1",
        "PI",
    ),
    (
        "use-with-methotrexate",
        "Use with methotrexate and other therapy",
        """\
- **RA, PJIA, SJIA:** ACTEMRA may be used alone or with methotrexate; in RA, other non-biologic
  DMARDs may be used.
- Avoid use with biologic DMARDs (TNF antagonists, IL-1R antagonists, anti-CD20 monoclonal
  antibodies and selective co-stimulation modulators).
- **GCA:** with a tapering course of glucocorticoids; ACTEMRA may continue alone after the taper.
- **COVID-19:** given with systemic corticosteroids.
""",
        DOSING,
        "PI-old",
    ),
    (
        "switching-routes",
        "Switching from intravenous to subcutaneous",
        """\
- **RA** (and GCA, from secondary references): give the first subcutaneous dose instead of the
  next scheduled intravenous dose.
- **PJIA and SJIA:** give the first subcutaneous dose when the next intravenous dose was due,
  under the supervision of a healthcare professional.
""",
        DOSING,
        "PI",
    ),
    (
        "boxed-warning",
        "Boxed warning: serious infections",
        """\
Patients treated with ACTEMRA are at increased risk of serious infections that may lead to
hospitalization or death, including tuberculosis (TB), bacterial, invasive fungal, viral and other
opportunistic infections.

- If a serious infection develops, interrupt ACTEMRA until the infection is controlled.
- Test for latent TB before starting and treat it before use (not required for COVID-19).
- Monitor all patients for signs and symptoms of infection during and after treatment.
""",
        "Boxed warning",
        "PI",
    ),
    (
        "warnings",
        "Contraindication and key warnings",
        """\
- **Contraindication:** known hypersensitivity to tocilizumab.
- Serious infections; gastrointestinal perforation; hepatotoxicity; changes in laboratory values
  (neutrophils, platelets, lipids, liver enzymes); immunosuppression; hypersensitivity reactions,
  including fatal anaphylaxis; demyelinating disorders; active hepatic disease.
- Do not give live vaccines.
- **Monitoring:** neutrophils and platelets 4 to 8 weeks after starting, then about every
  3 months. The ALT and AST schedule is not confirmed (flagged for review).
""",
        "4, 5",
        "PI",
    ),
    (
        "other-names",
        "Other names and biosimilars",
        """\
Brand ACTEMRA; generic tocilizumab. An interleukin-6 (IL-6) receptor antagonist.

US biosimilars (the same molecule, each with its own label):

- **Tofidence** (tocilizumab-bavi): intravenous only, 2023.
- **Tyenne** (tocilizumab-aazg): intravenous and subcutaneous, 2024.
- **Avtozma** (tocilizumab-anoh): intravenous and subcutaneous, 2025.
""",
        "Title",
        "2nd",
    ),
    ("pronunciation", "Pronunciation", "ACTEMRA is pronounced **ak-TEM-ruh**.\n", "Title", "2nd"),
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
    for order, (slug, title, body, section, evidence) in enumerate(SECTIONS, start=1):
        models["MonographSection"].objects.create(
            drug=drug,
            slug=slug,
            title=title,
            order=order,
            body=body,
            label_section=section,
            evidence=evidence,
            needs_review=evidence == "OPEN",
        )
    indications = {}
    for order, (slug, name, population, min_age, adult_only, evidence) in enumerate(
        INDICATIONS, start=1
    ):
        indications[slug] = models["Indication"].objects.create(
            drug=drug,
            slug=slug,
            name=name,
            population=population,
            min_age_years=min_age,
            adult_only=adult_only,
            order=order,
            label_section="1",
            evidence=evidence,
        )
    for (slug, route, step, low, high, per_kg, flat, interval, extra, hours, condition, cap,
         next_step, concomitant, evidence) in DOSE_RULES:  # fmt: skip
        models["DoseRule"].objects.create(
            indication=indications[slug],
            route=route,
            step=step,
            min_weight_kg=low,
            max_weight_kg=high,
            mg_per_kg=per_kg,
            flat_mg=flat,
            interval_days=interval,
            additional_doses_max=extra,
            min_hours_apart=hours,
            repeat_condition=condition,
            max_mg=cap,
            next_step=next_step,
            concomitant=concomitant,
            label_section=DOSING,
            evidence=evidence,
            needs_review=evidence == "OPEN",
        )
    for route, device, strength, volume in PRESENTATIONS:
        models["Presentation"].objects.create(
            drug=drug,
            route=route,
            device=device,
            strength_mg=strength,
            volume_ml=volume,
            label_section="3",
            evidence="PI",
        )
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
    for (code, lab, context, route, slugs, above, above_incl, below, below_incl, action,
         reduce_mg_per_kg, reduce_interval, message, evidence) in LAB_RULES:  # fmt: skip
        rule = models["LabRule"].objects.create(
            code=code,
            lab=lab,
            context=context,
            route=route,
            above=above,
            above_inclusive=above_incl,
            below=below,
            below_inclusive=below_incl,
            action=action,
            reduce_to_mg_per_kg=reduce_mg_per_kg,
            reduce_to_interval_days=reduce_interval,
            message=message,
            label_section=LABS,
            evidence=evidence,
            needs_review=evidence == "OPEN",
        )
        rule.indications.set([indications[slug] for slug in slugs])
    for code, severity, route, slugs, message, section, evidence, order in ADVISORIES:
        advisory = models["Advisory"].objects.create(
            code=code,
            severity=severity,
            route=route,
            message=message,
            label_section=section,
            evidence=evidence,
            needs_review=evidence == "OPEN",
            order=order,
        )
        advisory.indications.set([indications[slug] for slug in slugs])
    for min_age, max_age, low, high in PLAUSIBLE_WEIGHTS:
        models["PlausibleWeight"].objects.create(
            min_age_years=min_age, max_age_years=max_age, min_weight_kg=low, max_weight_kg=high
        )
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
