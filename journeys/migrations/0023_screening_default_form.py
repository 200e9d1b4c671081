"""The clinic's default pre-visit questionnaire: complaints, current medicines, allergies,
what to discuss with the doctor (Russian, with the English texts)."""

from django.db import migrations

from journeys.screening_defaults import default_form_create


def forward(apps, schema_editor):
    default_form_create(
        apps.get_model("journeys", "ScreeningForm"), apps.get_model("journeys", "ScreeningQuestion")
    )


def backward(apps, schema_editor):
    apps.get_model("journeys", "ScreeningForm").objects.filter(service__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("journeys", "0022_screening")]

    operations = [migrations.RunPython(forward, backward)]
