# Messaging's outbox no longer names journeys' rows: what a message is about (its visit,
# plan and stage) moves from three columns of messaging_message to this table of the
# journeys, row for row, before messaging's 0006 drops the columns (run_before).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("journeys", "0019_link_answer_in_journeys"),
        ("messaging", "0005_link_answer_in_journeys"),
    ]
    run_before = [("messaging", "0006_message_journey_rows_moved")]

    operations = [
        migrations.CreateModel(
            name="JourneyMessage",
            fields=[
                (
                    "message",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="journey",
                        serialize=False,
                        to="messaging.message",
                        verbose_name="message",
                    ),
                ),
                (
                    "plan",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="journey_messages",
                        to="journeys.treatmentplan",
                        verbose_name="plan",
                    ),
                ),
                (
                    "stage",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="journey_messages",
                        to="journeys.stage",
                        verbose_name="stage",
                    ),
                ),
                (
                    "visit",
                    models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="journey_messages",
                        to="journeys.visit",
                        verbose_name="visit",
                    ),
                ),
            ],
            options={
                "verbose_name": "message of a journey",
                "verbose_name_plural": "messages of journeys",
                "indexes": [
                    models.Index(
                        condition=models.Q(("visit__isnull", False)),
                        fields=["visit"],
                        name="journey_message_visit",
                    )
                ],
            },
        ),
        migrations.RunSQL(
            sql="""
                INSERT INTO journeys_journeymessage (message_id, visit_id, plan_id, stage_id)
                SELECT id, visit_id, plan_id, stage_id FROM messaging_message
                WHERE visit_id IS NOT NULL OR plan_id IS NOT NULL OR stage_id IS NOT NULL
            """,
            reverse_sql="""
                UPDATE messaging_message m
                SET visit_id = j.visit_id, plan_id = j.plan_id, stage_id = j.stage_id
                FROM journeys_journeymessage j WHERE j.message_id = m.id
            """,
        ),
    ]
