"""The surveys, CSI aspects and complaint reasons a clinic starts with (editable by
managers in the admin); written only where there are none yet."""

from django.db import migrations

from feedback.defaults import defaults_create


def add_defaults(apps, schema_editor):
    defaults_create(
        apps.get_model("feedback", "CsiAttribute"),
        apps.get_model("feedback", "Survey"),
        apps.get_model("feedback", "ReasonTag"),
    )


class Migration(migrations.Migration):
    dependencies = [("feedback", "0001_surveys_and_responses")]

    operations = [migrations.RunPython(add_defaults, migrations.RunPython.noop)]
