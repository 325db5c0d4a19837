# The products' content (issue 23), split from 0017's schema: PostgreSQL creates 0017's indexes at
# the end of its transaction and refuses to while rows inserted in it have pending FK checks.

from __future__ import annotations

from django.db import migrations

# Issue 23 items 2 and 4: the products, from shared/reference/tocilizumab-products.md (graded PI /
# 2nd / OPEN). Each product reuses the drug's (ACTEMRA's) dosing rows for the indications and
# routes its label carries; what the reference calls OPEN ships evidence OPEN and flagged.
PRODUCTS_SECTION = "Products"
ROUTES_SECTION = "1"  # each label's section 1 lists its indications
CODES_SECTION = "Codes (for recognising orders)"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
NDC = "http://hl7.org/fhir/sid/ndc"
SAFETY_CHANGES = "https://www.accessdata.fda.gov/scripts/cder/safetylabelingchanges/"

# The biosimilars' interchangeability (Purple Book) is OPEN for all three: each is flagged.
PRODUCTS = [
    {
        "slug": "tofidence",
        "brand_name": "TOFIDENCE",
        "nonproprietary_name": "tocilizumab-bavi",
        "holder": "Biogen, then Organon (US rights from 2025)",
        "biosimilar": True,
        "bla": "761354",
        "label_name": "TOFIDENCE (tocilizumab-bavi) US Prescribing Information, BLA 761354 "
        "(FDA Safety-related Labeling Changes, DrugNameID 2994)",
        "label_url": SAFETY_CHANGES,
        # The manufacturer's page names only 0.9 % (2nd): 0.45 % is never offered by default.
        "diluents": "0.9% Sodium Chloride Injection",
        "evidence": "PI",
        "needs_review": True,
        "order": 1,
    },
    {
        "slug": "tyenne",
        "brand_name": "TYENNE",
        "nonproprietary_name": "tocilizumab-aazg",
        "holder": "Fresenius Kabi USA",
        "biosimilar": True,
        # A second BLA, 761449, shares the label; what it covers is OPEN.
        "bla": "761275",
        "label_name": "TYENNE (tocilizumab-aazg) US Prescribing Information, BLA 761275 "
        "(DailyMed mirror, revised 3/2024)",
        "label_url": "https://fda.report/DailyMed/ad76441d-da59-47df-8d9d-2243005180f0",
        "diluents": "",  # not read in its label: the drug's, with an OPEN notice
        "evidence": "PI",
        "needs_review": True,
        "order": 2,
    },
    {
        "slug": "avtozma",
        "brand_name": "AVTOZMA",
        "nonproprietary_name": "tocilizumab-anoh",
        "holder": "Celltrion USA",
        "biosimilar": True,
        "bla": "",  # OPEN: 761420 in a third-party list; 761498 (21 Jan 2026), scope OPEN
        "label_name": "AVTOZMA (tocilizumab-anoh) US Prescribing Information "
        "(label address OPEN: Drugs@FDA)",
        "label_url": "https://www.accessdata.fda.gov/scripts/cder/daf/",
        "diluents": "",
        "evidence": "2nd",
        "needs_review": True,
        "order": 3,
    },
]

# (indication, route, evidence) per product: the reference's "Indications by product and
# route". No row: not offered (TOFIDENCE SC and CRS, every biosimilar SSc-ILD).
ROUTES = {
    "actemra": [
        ("ra", "iv", "PI"), ("ra", "sc", "PI"), ("gca", "iv", "PI"), ("gca", "sc", "PI"),
        ("ssc-ild", "sc", "PI"), ("pjia", "iv", "PI"), ("pjia", "sc", "PI"),
        ("sjia", "iv", "PI-old"), ("sjia", "sc", "2nd"), ("crs", "iv", "PI-old"),
        ("covid-19", "iv", "PI"),
    ],
    "tofidence": [
        ("ra", "iv", "PI"), ("gca", "iv", "2nd"), ("pjia", "iv", "PI"), ("sjia", "iv", "PI"),
        ("covid-19", "iv", "2nd"),
    ],
    "tyenne": [
        ("ra", "iv", "PI"), ("ra", "sc", "PI"), ("gca", "iv", "PI"), ("gca", "sc", "PI"),
        ("pjia", "iv", "PI"), ("pjia", "sc", "OPEN"),
        # SJIA is on its label (PI); the IV dose text is 2nd-level only.
        ("sjia", "iv", "2nd"), ("sjia", "sc", "OPEN"),
        ("crs", "iv", "PI"), ("covid-19", "iv", "PI"),
    ],
    "avtozma": [
        ("ra", "iv", "2nd"), ("ra", "sc", "2nd"), ("gca", "iv", "2nd"), ("gca", "sc", "2nd"),
        ("pjia", "iv", "2nd"), ("pjia", "sc", "OPEN"), ("sjia", "iv", "2nd"),
        ("sjia", "sc", "OPEN"), ("crs", "iv", "2nd"), ("covid-19", "iv", "2nd"),
    ],
}  # fmt: skip

NOT_READ = "diluted-solution storage, bag materials and the dose-modification tables (section 2.8)"
# (product, code, route, title, text, severity, label section, evidence)
NOTICES = [
    (
        "tyenne", "tyenne-recall-d-0827-2026", "iv", "FDA Class I recall D-0827-2026",
        "TYENNE intravenous products 65219-590, 65219-592 and 65219-594 are under an ongoing "
        "FDA Class I recall (D-0827-2026). Its reason and the lots concerned are not confirmed "
        "here: check the vial's NDC and lot against the FDA enforcement record with pharmacy "
        "before use.",
        "danger", "FDA enforcement D-0827-2026", "PI",
    ),
    (
        "tofidence", "tofidence-preparation-open", "iv", "Preparation not read in its label",
        "TOFIDENCE's manufacturer names only 0.9% Sodium Chloride Injection as its diluent. "
        f"Its label's {NOT_READ} were not read: believed the same as ACTEMRA; verify against "
        "TOFIDENCE's label.",
        "info", "2 (preparation)", "OPEN",
    ),
    (
        "tyenne", "tyenne-preparation-open", "iv", "Preparation not read in its label",
        f"TYENNE's diluent, {NOT_READ} were not read in its label: believed the same as "
        "ACTEMRA; verify against TYENNE's label.",
        "info", "2 (preparation)", "OPEN",
    ),
    (
        "avtozma", "avtozma-preparation-open", "iv", "Preparation not read in its label",
        f"AVTOZMA's diluent, {NOT_READ} were not read in its label: believed the same as "
        "ACTEMRA; verify against AVTOZMA's label.",
        "info", "2 (preparation)", "OPEN",
    ),
]  # fmt: skip

TERM_TYPE_OPEN = "RxNorm term type OPEN"
# (product, system, code, display, needs review): the reference's Codes table, evidence PI
# (openFDA). Which RXCUI is the ingredient, clinical drug or branded product is OPEN.
CODES = [
    ("tofidence", NDC, "64406-022-01",
     "TOFIDENCE 80 mg/4 mL carton (Biogen; marketing ends 2027-08-01)", False),
    ("tofidence", NDC, "78206-201-01", "TOFIDENCE 200 mg/10 mL (Organon; from 2025-07-03)",
     False),
    *[("tofidence", RXNORM, code, f"TOFIDENCE ({TERM_TYPE_OPEN})", True)
      for code in ("2680287", "2680294", "2680296", "2680297", "2680298", "2680299")],
    ("tyenne", NDC, "65219-598-10", "TYENNE 162 mg/0.9 mL prefilled syringe", False),
    *[("tyenne", NDC, code, "TYENNE intravenous (strength per NDC OPEN)", True)
      for code in ("65219-590", "65219-592", "65219-594")],
    *[("tyenne", RXNORM, code, f"TYENNE subcutaneous ({TERM_TYPE_OPEN})", True)
      for code in ("2686045", "2686050", "2686053", "2686057")],
    *[("tyenne", RXNORM, code, f"TYENNE intravenous ({TERM_TYPE_OPEN})", True)
      for code in ("2679431", "2679438", "2679440", "2679441", "2679442", "2679443")],
    ("avtozma", NDC, "72606-042-01", "AVTOZMA 80 mg/4 mL vial, 1 vial", False),
    ("avtozma", NDC, "72606-042-02", "AVTOZMA 80 mg/4 mL vial, 4 vials", False),
    ("avtozma", NDC, "72606-045-01", "AVTOZMA 162 mg/0.9 mL prefilled syringe, 1", False),
    ("avtozma", NDC, "72606-045-02", "AVTOZMA 162 mg/0.9 mL prefilled syringe, 4", False),
    ("avtozma", NDC, "72606-045-03", "AVTOZMA 162 mg/0.9 mL prefilled syringe, 12", False),
]  # fmt: skip
REASON = "Loaded by migration 0018 (issue 23): products from tocilizumab-products.md"


def load_products(apps, schema_editor) -> None:  # noqa: ANN001
    from django.utils import timezone

    from dosing.publishing import reseed_initial_version

    Drug, Indication, Product, ProductRoute, ProductNotice, Code = (  # noqa: N806
        apps.get_model("dosing", name)
        for name in ("Drug", "Indication", "Product", "ProductRoute", "ProductNotice", "Code")
    )
    drug = Drug.objects.select_related("preparation").first()
    if drug is None or Product.objects.exists():  # an empty database loads no content
        return
    created = []
    # ACTEMRA's label name, address and revision are the drug row's (the label content restates).
    actemra = Product.objects.create(
        drug=drug, slug="actemra", brand_name=drug.brand_name,
        nonproprietary_name=drug.generic_name, holder="Genentech", biosimilar=False,
        bla="125276", label_name=drug.label_name, label_url=drug.label_url,
        label_revision=drug.label_revision, diluents=drug.preparation.diluents, order=0,
        label_section=PRODUCTS_SECTION, evidence="PI",
    )  # fmt: skip
    products = {"actemra": actemra}
    created.append(actemra)
    for fields in PRODUCTS:
        row = Product.objects.create(drug=drug, label_section=PRODUCTS_SECTION, **fields)
        products[row.slug] = row
        created.append(row)
    indications = {i.slug: i for i in Indication.objects.filter(drug=drug)}
    for slug, routes in ROUTES.items():
        for indication, route, evidence in routes:
            if indication not in indications:  # a site that removed the indication
                continue
            created.append(
                ProductRoute.objects.create(
                    product=products[slug],
                    indication=indications[indication],
                    route=route,
                    label_section=ROUTES_SECTION,
                    evidence=evidence,
                    needs_review=evidence == "OPEN",
                )  # fmt: skip
            )
    for slug, code, route, title, text, severity, section, evidence in NOTICES:
        created.append(
            ProductNotice.objects.create(
                product=products[slug],
                code=code,
                route=route,
                title=title,
                text=text,
                severity=severity,
                active=True,
                label_section=section,
                evidence=evidence,
                # The recall's reason and lots are OPEN: flagged although the recall is PI.
                needs_review=True,
            )  # fmt: skip
        )
    for slug, system, code, display, review in CODES:
        created.append(
            Code.objects.create(
                drug=drug,
                product=products[slug],
                kind="drug",
                system=system,
                code=code,
                display=display,
                label_section=CODES_SECTION,
                evidence="PI",
                needs_review=review,
            )  # fmt: skip
        )
    now = timezone.now()
    for row in created:
        model = type(row)
        history = apps.get_model("dosing", f"Historical{model.__name__}")
        fields = [field.attname for field in model._meta.concrete_fields]
        history.objects.create(
            **{field: getattr(row, field) for field in fields},
            history_date=now,
            history_type="+",
            history_change_reason=REASON,
        )
    reseed_initial_version(apps)


class Migration(migrations.Migration):
    dependencies = [("dosing", "0017_products")]

    operations = [migrations.RunPython(load_products, migrations.RunPython.noop)]
