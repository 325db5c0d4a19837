# Which presentations each product comes in (issue 23), split from 0019's schema (rows and schema
# never share a migration: PostgreSQL, see 0018).

from __future__ import annotations

from decimal import Decimal

from django.db import migrations

# shared/reference/tocilizumab-products.md, "Presentations". Before this, every product was
# offered ACTEMRA's five, the ACTPen included.
SECTION = "Presentations"
VIALS = [("iv", "vial", Decimal(mg)) for mg in ("80", "200", "400")]
SYRINGE = ("sc", "syringe", Decimal("162"))
AUTOINJECTOR = ("sc", "autoinjector", Decimal("162"))
# (product, presentation, name, evidence, needs review)
ROWS = [
    *[("actemra", vial, "", "PI", False) for vial in VIALS],
    ("actemra", SYRINGE, "", "PI", False),
    ("actemra", AUTOINJECTOR, "ACTPen", "PI", False),
    # No subcutaneous presentation.
    *[("tofidence", vial, "", "2nd", False) for vial in VIALS],
    # "Strength per NDC OPEN; assume the same three strengths only as OPEN."
    *[("tyenne", vial, "", "OPEN", True) for vial in VIALS],
    ("tyenne", SYRINGE, "", "PI", False),
    # In the BLA (2nd); its device name is OPEN.
    ("tyenne", AUTOINJECTOR, "", "2nd", True),
    # The 80 mg vial's NDC is on openFDA (PI); the 200 and 400 mg vials are 2nd.
    ("avtozma", VIALS[0], "", "PI", False),
    *[("avtozma", vial, "", "2nd", False) for vial in VIALS[1:]],
    ("avtozma", SYRINGE, "", "PI", False),
    # 2nd; its name is OPEN.
    ("avtozma", AUTOINJECTOR, "", "2nd", True),
]
REASON = "Loaded by migration 0020 (issue 23): presentations per product"


def load_presentations(apps, schema_editor) -> None:  # noqa: ANN001
    from django.utils import timezone

    from dosing.publishing import reseed_initial_version

    Product, Presentation, ProductPresentation = (  # noqa: N806
        apps.get_model("dosing", name)
        for name in ("Product", "Presentation", "ProductPresentation")
    )
    if ProductPresentation.objects.exists():
        return
    products = {p.slug: p for p in Product.objects.all()}
    if not products:  # an empty database loads no content
        return
    created = []
    for slug, (route, device, strength), name, evidence, review in ROWS:
        product = products.get(slug)
        if product is None:  # a site that removed the product
            continue
        # The drug's row of that route, device and strength; none where a site removed it.
        for presentation in Presentation.objects.filter(
            drug=product.drug, route=route, device=device, strength_mg=strength
        ):
            created.append(
                ProductPresentation.objects.create(
                    product=product,
                    presentation=presentation,
                    name=name,
                    label_section=SECTION,
                    evidence=evidence,
                    needs_review=review,
                )
            )
    # A presentation a site added itself stays offered by the reference product (ACTEMRA),
    # flagged for review: the reference grades only the five above; none is dropped silently.
    for product in (p for p in products.values() if not p.biosimilar):
        mine = {row.presentation_id for row in created if row.product_id == product.pk}
        for presentation in Presentation.objects.filter(drug=product.drug).exclude(pk__in=mine):
            created.append(
                ProductPresentation.objects.create(
                    product=product,
                    presentation=presentation,
                    label_section=SECTION,
                    evidence="OPEN",
                    needs_review=True,
                )
            )
    now = timezone.now()
    history = apps.get_model("dosing", "HistoricalProductPresentation")
    fields = [field.attname for field in ProductPresentation._meta.concrete_fields]
    for row in created:
        history.objects.create(
            **{field: getattr(row, field) for field in fields},
            history_date=now,
            history_type="+",
            history_change_reason=REASON,
        )
    reseed_initial_version(apps)


class Migration(migrations.Migration):
    dependencies = [("dosing", "0019_product_presentations")]

    operations = [migrations.RunPython(load_presentations, migrations.RunPython.noop)]
