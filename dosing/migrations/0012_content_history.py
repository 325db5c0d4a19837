"""A "created" history record for every content row that has none (issue 20).

Rows loaded by 0005 (diluted storage), 0007 (codes, the EHR check) and 0008 (the bounds) were
saved without history. Resetting the draft to a version (publishing.reset_draft) reads each
row as of that version's publish from its history: a row with none would read as not yet made.
The record is dated at version 1 (the seed these rows belong to), or now before any version.

Some seed migrations changed rows without a record (0005 the preparation's steps, 0006 an
advisory's context): a row whose latest record differs from it gets a record of what it is.

Records of the seed (0002, 0004) hold no many-to-many rows (which indications a lab rule,
advisory or bag serves). Where no later record of the row holds any, the row's indications
have not changed since: they are recorded on each such record.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import migrations
from django.utils import timezone


def record_missing_history(apps, schema_editor) -> None:  # noqa: ANN001
    from dosing.models import content_models

    first = apps.get_model("dosing", "PublishedVersion").objects.order_by("number").first()
    when = min(first.published_at, timezone.now()) if first else timezone.now()
    for name in (model.__name__ for model in content_models()):
        try:
            model = apps.get_model("dosing", name)
            historical = apps.get_model("dosing", f"Historical{name}")
        except LookupError:  # a model made after this migration
            continue
        recorded = set(historical.objects.values_list("id", flat=True).distinct())
        fields = [field.attname for field in model._meta.concrete_fields]
        historical.objects.bulk_create(
            historical(
                **{field: getattr(row, field) for field in fields},
                history_date=when,
                history_type="+",
                history_change_reason="Recorded by migration 0012: unchanged since it was loaded",
            )
            for row in model.objects.exclude(pk__in=recorded)
        )
        changed = []
        for row in model.objects.filter(pk__in=recorded):
            latest = historical.objects.filter(id=row.pk).order_by("-history_date", "-history_id")[
                0
            ]
            if any(getattr(latest, f) != getattr(row, f) for f in fields):
                changed.append(
                    historical(
                        **{field: getattr(row, field) for field in fields},
                        history_date=max(latest.history_date + timedelta(microseconds=1), when),
                        history_type="~",
                        history_change_reason="Recorded by migration 0012: changed by a "
                        "migration without a record",
                    )
                )
        historical.objects.bulk_create(changed)
        for field in model._meta.local_many_to_many:
            record_missing_m2m(apps, name, field.name)


def record_missing_m2m(apps, name: str, field: str) -> None:  # noqa: ANN001
    model = apps.get_model("dosing", name)
    historical = apps.get_model("dosing", f"Historical{name}")
    try:
        through = apps.get_model("dosing", f"Historical{name}_{field}")
    except LookupError:  # no many-to-many history for this field
        return
    target = model._meta.get_field(field).related_model._meta.model_name
    source = model._meta.model_name
    with_rows = set(through.objects.values_list("history_id", flat=True).distinct())
    for row in model.objects.all():
        records = list(historical.objects.filter(id=row.pk).order_by("history_date", "history_id"))
        if any(r.history_id in with_rows for r in records):
            continue  # changed through the admin since: what it was before is not known here
        links = getattr(model, field).through.objects.filter(**{f"{source}_id": row.pk})
        related = list(links.values_list("id", f"{target}_id"))
        through.objects.bulk_create(
            through(
                id=link, history_id=r.history_id, **{f"{source}_id": row.pk, f"{target}_id": pk}
            )
            for r in records
            for link, pk in related
        )


class Migration(migrations.Migration):
    dependencies = [("dosing", "0011_ehr_reading")]

    operations = [migrations.RunPython(record_missing_history, migrations.RunPython.noop)]
