"""Partial indexes for the worklist's score: a patient's no-shows and negative answers are
counted for every task on the page (a curator with 1,600 open tasks read five visits per
task from the heap to find the no-shows). Built concurrently: the visits table is the
largest, and a clinic keeps booking while it migrates."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("journeys", "0016_task_title_as_data"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="task",
            index=models.Index(
                condition=models.Q(("kind", "negative_feedback")),
                fields=["patient"],
                name="task_patient_negative",
            ),
        ),
        AddIndexConcurrently(
            model_name="visit",
            index=models.Index(
                condition=models.Q(("status", "no_show")),
                fields=["patient"],
                name="visit_patient_no_show",
            ),
        ),
    ]
