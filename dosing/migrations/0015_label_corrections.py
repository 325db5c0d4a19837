"""Issue 22, item 8: content corrected against the reference (actemra-us-label.md).

Each change below quotes the reference sentence behind it. Version 1 (the unreviewed seed) is
rebuilt only where it is the only published version and nobody has edited the draft
(publishing.reseed_initial_version); otherwise the corrections wait in the draft for a reviewer.
"""

from __future__ import annotations

from decimal import Decimal as D

from django.db import migrations
from django.utils import timezone

REASON = "Corrected against the reference by migration 0015 (issue 22)"
LABS = "2.1, 2.9, 5.3, 5.4"
JIA_NO_REDUCTION = "dose reduction has not been studied in PJIA and SJIA"

# --- Lab rules: changed rows (code -> fields) ---------------------------------------------------
LAB_CHANGES = {
    # "GCA: the RA table's hold and resume steps apply, but the GCA IV dose is 6 mg/kg (600 mg
    # maximum): a resume wording that says "increase to 8 mg/kg" is wrong for GCA. The GCA resume
    # dose itself (4 mg/kg or 6 mg/kg) is OPEN: say "resume, at a dose decided with the prescriber
    # (the label's GCA dose is 6 mg/kg)"." (SSc-ILD has no intravenous dose.)
    "gca-ssc-ild-anc-500-1000-iv": {
        "message": "hold; when ANC is above 1,000 cells/mm³ resume, at a dose decided with the "
        "prescriber (the label's GCA dose is 6 mg/kg, at most 600 mg)."
    },
    "gca-ssc-ild-platelets-50k-100k-iv": {
        "message": "hold; when platelets are above 100,000 cells/mm³ resume, at a dose decided "
        "with the prescriber (the label's GCA dose is 6 mg/kg, at most 600 mg)."
    },
    # ""Levels similar to RA" means the hold starts where RA's hold starts: ALT/AST above 3 × ULN,
    # or above 1 × ULN only when the rise persists (...); a single value of 1 to 3 × ULN keeps the
    # dose." The old row held any value above 1 × ULN: it now starts at 3 × ULN.
    "jia-alt-ast-1-5": {
        "code": "jia-alt-ast-3-5",
        "above": D(3),
        "message": "hold until below 3 × ULN: PJIA and SJIA are interrupted at levels similar "
        f"to RA. {JIA_NO_REDUCTION.capitalize()}; whether to discontinue for a lab abnormality "
        "is a clinical decision for the individual patient.",
    },
    # "COVID-19: not recommended to **initiate** if ANC < 1000 or ALT or AST > 10 × ULN; a
    # platelet count below 50,000 means treatment is not recommended at any infusion (first or
    # second)." The ANC and ALT/AST limits applied at the second infusion too.
    "covid-anc": {
        "context": "starting",
        "message": "not recommended to start when ANC is below 1,000 cells/mm³.",
    },
    "covid-alt-ast": {
        "context": "starting",
        "message": "not recommended to start when ALT or AST is above 10 × ULN.",
    },
    "covid-platelets": {
        "message": "not recommended when platelets are below 50,000 cells/mm³, at the first or "
        "the second infusion."
    },
}

# --- Lab rules: new rows ----------------------------------------------------------------------
# (code, lab, context, indications, above, above_incl, below, below_incl, action, persistence,
#  message, evidence)
LAB_NEW = [
    # "a single value of 1 to 3 × ULN keeps the dose" (PJIA/SJIA, PI-old).
    (
        "jia-alt-ast-1-3", "alt_ast", "on_therapy", ["pjia", "sjia"], D(1), False, D(3), True,
        "give", "unconfirmed",
        "a single value of 1 to 3 × ULN keeps the dose: repeat the test. If the rise persists, "
        "hold until ALT and AST are normal.",
        "PI-old",
    ),
    # "above 1 × ULN only when the rise persists (RA then reduces or holds; a child, who has no
    # reduced dose, holds)".
    (
        "jia-alt-ast-1-3-persistent", "alt_ast", "on_therapy", ["pjia", "sjia"], D(1), False,
        D(3), True, "hold", "persistent",
        f"hold until ALT and AST are normal: {JIA_NO_REDUCTION}, so there is no reduced dose.",
        "PI-old",
    ),
    # "Neutrophils and platelets otherwise monitored per standard clinical practice; ALT/AST
    # monitored during treatment." (COVID-19, PI): on therapy the initiation limits do not stop.
    (
        "covid-anc-on-therapy", "anc", "on_therapy", ["covid-19"], None, False, D(1000), False,
        "give", "any",
        "the label's limit of 1,000 cells/mm³ is for starting treatment; at the second "
        "infusion, neutrophils are monitored per standard clinical practice.",
        "PI",
    ),
    (
        "covid-alt-ast-on-therapy", "alt_ast", "on_therapy", ["covid-19"], D(10), False, None,
        False, "give", "any",
        "the label's limit of 10 × ULN is for starting treatment; ALT and AST are monitored "
        "during treatment.",
        "PI",
    ),
]  # fmt: skip

# --- Advisories --------------------------------------------------------------------------------
ADVISORY_CHANGES = {
    # "Patients, except those with COVID-19, should be tested for latent TB before use **and
    # during therapy**; treat latent TB before starting; monitor every patient for active TB
    # during and after treatment, even after a negative latent test (2nd for ACTEMRA ...)".
    "latent-tuberculosis": {
        "context": "any",
        "evidence": "2nd",
        "message": "Test for latent tuberculosis before starting and during therapy, and treat "
        "latent tuberculosis before starting. Monitor for active tuberculosis during and after "
        "treatment, even after a negative latent test.",
    },
    # "no live vaccines (5.9: not limited to any indication)".
    "no-live-vaccines": {
        "label_section": "5.9",
        "indications": ["ra", "gca", "ssc-ild", "pjia", "sjia", "crs", "covid-19"],
    },
    # "Not approved: ... COVID-19 under 18 years (a paediatric emergency use authorization
    # existed in 2022; status OPEN)." A standing fact about the indication, not a finding about
    # this patient: information (not charted for every adult). A patient under 18 gets the
    # calculator's own age finding (not recommended), which is charted.
    "covid-under-18": {"severity": "info"},
    # "Monitoring: RA, GCA, SSc-ILD: neutrophils and platelets 4–8 weeks after starting, then
    # about every 3 months (PI-old); ALT/AST schedule OPEN." PJIA and SJIA have their own.
    "monitoring": {"indications": ["ra", "gca", "ssc-ild"]},
    "monitoring-liver": {"indications": ["ra", "gca", "ssc-ild"]},
}

# (code, indications, message, evidence, needs_review)
ADVISORY_NEW = [
    # "PJIA: neutrophils, platelets, ALT and AST at the second infusion, then every 4 to 8 weeks."
    # The reference gives this sentence no evidence level of its own: PI-old as the section's
    # other JIA rows, flagged for review.
    (
        "monitoring-pjia",
        ["pjia"],
        "Check neutrophils, platelets, ALT and AST at the second infusion, then every 4 to 8 weeks.",
        "PI-old",
        True,
    ),
    # "SJIA: at the second infusion, then every 2 to 4 weeks (2nd: manufacturer SJIA monitoring
    # page; label sentence not seen)."
    (
        "monitoring-sjia",
        ["sjia"],
        "Check neutrophils, platelets, ALT and AST at the second infusion, then every 2 to 4 weeks.",
        "2nd",
        False,
    ),
]

# --- Resume after a hold -----------------------------------------------------------------------
# "The GCA resume dose itself (4 mg/kg or 6 mg/kg) is OPEN: say "resume, at a dose decided with
# the prescriber (the label's GCA dose is 6 mg/kg)"."
GCA_IV_RESUME = (
    "Resume at a dose decided with the prescriber (the label's GCA dose is 6 mg/kg, at most "
    "600 mg): whether the label's 4 mg/kg resume step applies to GCA is not confirmed."
)

# --- The final concentration limit (new row) ---------------------------------------------------
# "Final concentration: the label's largest labelled dose, 800 mg in 100 mL, is 8 mg/mL. (...)
# Local policy, not label: above 8 mg/mL, say so and ask for pharmacy review (ship flagged OPEN
# for the site to confirm)."
CONCENTRATION_LIMIT = {
    "max_mg_per_ml": D(8),
    "message": "the label's largest labelled dose, 800 mg in 100 mL, is 8 mg/mL, and the label "
    "describes no more concentrated preparation. Ask pharmacy to review before preparing "
    "(local policy, not label).",
    "label_section": "2 (preparation)",
    "evidence": "OPEN",
    "needs_review": True,
}

# --- Monograph: the sections whose words change (slug -> (label_section, body)) ----------------
MONOGRAPH = {
    "dose-modifications": (
        LABS,
        """ANC and platelets are in cells/mm³ (the same as cells/µL); ALT and AST as multiples of the upper
limit of normal (ULN). With several abnormal values the most severe action wins.

- **Before starting** (RA, GCA, SSc-ILD, PJIA, SJIA): do not start if ANC is below 2,000,
  platelets below 100,000, or ALT or AST above 1.5 × ULN.
- **COVID-19:** not recommended to start if ANC is below 1,000 or ALT or AST is above 10 × ULN;
  not recommended at either infusion if platelets are below 50,000. Otherwise neutrophils and
  platelets are monitored per standard clinical practice, and ALT and AST during treatment.
- **On therapy, RA:** see the table below. The same table is believed to cover GCA and SSc-ILD,
  but how the 4 mg/kg step applies to the 6 mg/kg GCA dose (600 mg maximum) is not confirmed
  (flagged for review): after a hold, GCA resumes at a dose decided with the prescriber.
- **Already at the reduced step** (4 mg/kg intravenous, or every other week subcutaneous): a
  persistent ALT or AST rise has no further reduction; the label's remaining step is to hold
  until ALT and AST are normal.
- **PJIA and SJIA:** dose reduction has not been studied. Interrupt (hold) at levels similar to
  RA: ALT or AST above 3 × ULN, or above 1 × ULN when the rise persists (a single value of 1 to
  3 × ULN keeps the dose); ANC 500 to 1,000 and platelets 50,000 to 100,000, as in RA.
  Discontinuation for a lab abnormality is a clinical decision for the individual patient.
- **CRS:** no thresholds are stated; cytopenias and raised enzymes are common in these patients
  (not confirmed: flagged for review).
- **Serious infection:** interrupt until the infection is controlled.""",
    ),
    "boxed-warning": (
        "Boxed warning",
        """Patients treated with ACTEMRA are at increased risk of serious infections that may lead to
hospitalization or death, including tuberculosis (TB), bacterial, invasive fungal, viral and other
opportunistic infections.

- If a serious infection develops, interrupt ACTEMRA until the infection is controlled.
- Test for latent TB before starting and during therapy, and treat latent TB before use (not
  required for COVID-19). "During therapy" is the sentence as a biosimilar's label reproduces it
  (secondary reference for ACTEMRA).
- Monitor all patients for active TB and other infections during and after treatment, even after
  a negative latent TB test.""",
    ),
    "warnings": (
        "4, 5, 5.9",
        """- **Contraindication:** known hypersensitivity to tocilizumab.
- Serious infections; gastrointestinal perforation; hepatotoxicity; changes in laboratory values
  (neutrophils, platelets, lipids, liver enzymes); immunosuppression; hypersensitivity reactions,
  including fatal anaphylaxis; demyelinating disorders; active hepatic disease.
- Do not give live vaccines (any indication).
- **Monitoring, RA, GCA, SSc-ILD:** neutrophils and platelets 4 to 8 weeks after starting, then
  about every 3 months. The ALT and AST schedule is not confirmed (flagged for review).
- **Monitoring, PJIA:** neutrophils, platelets, ALT and AST at the second infusion, then every 4 to
  8 weeks. **SJIA:** at the second infusion, then every 2 to 4 weeks (secondary reference).""",
    ),
}
IV_PREPARATION_ADDITION = """

**Final concentration:** the label's largest labelled dose, 800 mg in 100 mL, is 8 mg/mL. Above
that (an uncapped dose for a heavy patient) the bag is nearly undiluted drug, a preparation the
label does not describe: the calculator says so and asks for pharmacy review (local policy, not
label; flagged for the site to confirm)."""


def _history(apps, name: str, row, kind: str) -> None:  # noqa: ANN001
    """A history record as the admin would leave one, with its indications (m2m) where it has them."""
    model = apps.get_model("dosing", name)
    historical = apps.get_model("dosing", f"Historical{name}")
    fields = [field.attname for field in model._meta.concrete_fields]
    record = historical.objects.create(
        **{field: getattr(row, field) for field in fields},
        history_date=timezone.now(),
        history_type=kind,
        history_change_reason=REASON,
    )
    if name in ("LabRule", "Advisory"):
        through = model.indications.through
        m2m = apps.get_model("dosing", f"Historical{name}_indications")
        owner = f"{name.lower()}_id"
        for link in through.objects.filter(**{owner: row.pk}):
            m2m.objects.create(
                id=link.pk, history=record, indication_id=link.indication_id, **{owner: row.pk}
            )


def _apply(apps, name: str, code: str, changes: dict, indications: dict) -> None:  # noqa: ANN001
    row = apps.get_model("dosing", name).objects.get(code=code)
    slugs = changes.pop("indications", None)
    for field, value in changes.items():
        setattr(row, field, value)
    row.save()
    if slugs is not None:
        row.indications.set([indications[slug] for slug in slugs])
    _history(apps, name, row, "~")


def _labs(apps, indications: dict) -> None:  # noqa: ANN001
    for code, changes in LAB_CHANGES.items():
        _apply(apps, "LabRule", code, dict(changes), indications)
    LabRule = apps.get_model("dosing", "LabRule")  # noqa: N806
    for row in LAB_NEW:
        code, lab, context, slugs, above, above_incl, below, below_incl = row[:8]
        action, persistence, message, evidence = row[8:]
        rule = LabRule.objects.create(
            code=code,
            lab=lab,
            context=context,
            route="",
            above=above,
            above_inclusive=above_incl,
            below=below,
            below_inclusive=below_incl,
            action=action,
            persistence=persistence,
            message=message,
            label_section=LABS,
            evidence=evidence,
            needs_review=evidence == "OPEN",
        )
        rule.indications.set([indications[slug] for slug in slugs])
        _history(apps, "LabRule", rule, "+")


def _advisories(apps, indications: dict) -> None:  # noqa: ANN001
    for code, changes in ADVISORY_CHANGES.items():
        _apply(apps, "Advisory", code, dict(changes), indications)
    Advisory = apps.get_model("dosing", "Advisory")  # noqa: N806
    order = Advisory.objects.get(code="monitoring").order
    for code, slugs, message, evidence, review in ADVISORY_NEW:
        advisory = Advisory.objects.create(
            code=code,
            severity="info",
            route="",
            context="any",
            message=message,
            order=order,
            label_section=LABS,
            evidence=evidence,
            needs_review=review,
        )
        advisory.indications.set([indications[slug] for slug in slugs])
        _history(apps, "Advisory", advisory, "+")


def _preparation_and_text(apps) -> None:  # noqa: ANN001
    ResumeRule = apps.get_model("dosing", "ResumeRule")  # noqa: N806
    resume = ResumeRule.objects.get(indication__slug="gca", route="iv")
    resume.next_step = GCA_IV_RESUME
    resume.save()
    _history(apps, "ResumeRule", resume, "~")

    preparation = apps.get_model("dosing", "Preparation").objects.get()
    limit = apps.get_model("dosing", "ConcentrationLimit").objects.create(
        preparation=preparation, **CONCENTRATION_LIMIT
    )
    _history(apps, "ConcentrationLimit", limit, "+")

    MonographSection = apps.get_model("dosing", "MonographSection")  # noqa: N806
    for slug, (label_section, body) in MONOGRAPH.items():
        section = MonographSection.objects.get(slug=slug)
        section.label_section, section.body = label_section, body
        section.save()
        _history(apps, "MonographSection", section, "~")
    section = MonographSection.objects.get(slug="iv-preparation")
    section.body += IV_PREPARATION_ADDITION
    section.save()
    _history(apps, "MonographSection", section, "~")


def correct(apps, schema_editor) -> None:  # noqa: ANN001
    from dosing.publishing import reseed_initial_version

    Indication = apps.get_model("dosing", "Indication")  # noqa: N806
    if not Indication.objects.exists():
        return  # no seeded content to correct
    indications = {i.slug: i for i in Indication.objects.all()}
    _labs(apps, indications)
    _advisories(apps, indications)
    _preparation_and_text(apps)
    # Signals do not run in migrations: mark the draft changed, as an admin edit would.
    version = apps.get_model("dosing", "ContentVersion").objects.order_by("pk").first()
    if version is not None:
        version.number += 1
        version.changed_at = timezone.now()
        version.save()
    reseed_initial_version(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("dosing", "0014_concentration_limit"),
    ]

    operations = [migrations.RunPython(correct, migrations.RunPython.noop)]
