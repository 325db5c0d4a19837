"""Result ages for the EHR check (issue 21): three limits and the adult age, shipped flagged."""

from __future__ import annotations

import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("dosing", "0012_content_history"),
    ]

    operations = [
        migrations.AddField(
            model_name="ehrcheck",
            name="adult_from_age_years",
            field=models.PositiveIntegerField(
                default=18,
                help_text="Which weight age applies: a patient whose age may be below this, or is unknown, is held to the child's limit.",
                validators=[django.core.validators.MinValueValidator(1)],
                verbose_name="adult from age (years)",
            ),
        ),
        migrations.AddField(
            model_name="ehrcheck",
            name="adult_weight_max_age_days",
            field=models.PositiveIntegerField(
                blank=True,
                help_text="An adult's weight older than this is named as old; empty: no age is set.",
                null=True,
                verbose_name="maximum age of an adult's weight (days)",
            ),
        ),
        migrations.AddField(
            model_name="ehrcheck",
            name="child_weight_max_age_days",
            field=models.PositiveIntegerField(
                blank=True,
                help_text="A child's weight older than this is named, and a dose from it is not confirmed; empty: no age is set.",
                null=True,
                verbose_name="maximum age of a child's weight (days)",
            ),
        ),
        migrations.AddField(
            model_name="historicalehrcheck",
            name="adult_from_age_years",
            field=models.PositiveIntegerField(
                default=18,
                help_text="Which weight age applies: a patient whose age may be below this, or is unknown, is held to the child's limit.",
                validators=[django.core.validators.MinValueValidator(1)],
                verbose_name="adult from age (years)",
            ),
        ),
        migrations.AddField(
            model_name="historicalehrcheck",
            name="adult_weight_max_age_days",
            field=models.PositiveIntegerField(
                blank=True,
                help_text="An adult's weight older than this is named as old; empty: no age is set.",
                null=True,
                verbose_name="maximum age of an adult's weight (days)",
            ),
        ),
        migrations.AddField(
            model_name="historicalehrcheck",
            name="child_weight_max_age_days",
            field=models.PositiveIntegerField(
                blank=True,
                help_text="A child's weight older than this is named, and a dose from it is not confirmed; empty: no age is set.",
                null=True,
                verbose_name="maximum age of a child's weight (days)",
            ),
        ),
        migrations.AlterField(
            model_name="ehrcheck",
            name="lab_max_age_days",
            field=models.PositiveIntegerField(
                blank=True,
                help_text="Lab results older than this are named as old in the cards; empty: no age is set, and every result's date is shown.",
                null=True,
                verbose_name="maximum age of lab results (days)",
            ),
        ),
        migrations.AlterField(
            model_name="historicalehrcheck",
            name="lab_max_age_days",
            field=models.PositiveIntegerField(
                blank=True,
                help_text="Lab results older than this are named as old in the cards; empty: no age is set, and every result's date is shown.",
                null=True,
                verbose_name="maximum age of lab results (days)",
            ),
        ),
    ]


# The reference ("Reading EHR data (FHIR) safely"): "Result age: the site sets how old a weight or
# lab result may be (local policy, not label; ship a default of 30 days for labs and for a child's
# weight, 90 days for an adult's weight, flagged for the site to confirm)".
DEFAULTS = {
    "lab_max_age_days": 30,
    "child_weight_max_age_days": 30,
    "adult_weight_max_age_days": 90,
}


def ship_result_ages(apps, schema_editor) -> None:  # noqa: ANN001
    from django.utils import timezone

    from dosing.publishing import reseed_initial_version

    EhrCheck = apps.get_model("dosing", "EhrCheck")  # noqa: N806
    HistoricalEhrCheck = apps.get_model("dosing", "HistoricalEhrCheck")  # noqa: N806
    changed = []
    for check in EhrCheck.objects.all():
        unset = {field: days for field, days in DEFAULTS.items() if getattr(check, field) is None}
        if not unset:
            continue  # a site that set its own ages keeps them
        for field, days in unset.items():
            setattr(check, field, days)
        check.evidence, check.needs_review = "OPEN", True  # the site confirms its policy
        check.save()
        changed.append(check)
    fields = [field.attname for field in EhrCheck._meta.concrete_fields]
    HistoricalEhrCheck.objects.bulk_create(
        HistoricalEhrCheck(
            **{field: getattr(row, field) for field in fields},
            history_date=timezone.now(),
            history_type="~",
            history_change_reason="Result ages: the reference's defaults, by migration 0013 (issue 21); site to confirm",
        )
        for row in changed
    )
    if changed:
        reseed_initial_version(apps)


Migration.operations.append(migrations.RunPython(ship_result_ages, migrations.RunPython.noop))
