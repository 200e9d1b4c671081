"""Staff corrections of the reasons found in comments, and what keeps them measurable:
the tagger's own answer on each response (``tagged_reasons``; None on the responses
answered before, whose reasons came from the old prefix matching) and a time on each
reason tag that tells the processes' cached keywords they changed."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("feedback", "0004_survey_invitations"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="reasontag",
            name="updated_at",
            field=models.DateTimeField(auto_now=True, verbose_name="updated"),
        ),
        migrations.AlterField(
            model_name="reasontag",
            name="keywords",
            field=models.TextField(
                blank=True,
                help_text="Words that mark this reason in a comment, one keyword per line.",
                verbose_name="keywords",
            ),
        ),
        # Added without a default, so the responses already there keep None ("not
        # known"), then new ones start from an empty list.
        migrations.AddField(
            model_name="response",
            name="tagged_reasons",
            field=models.JSONField(
                blank=True, null=True, verbose_name="reasons found by the tagger"
            ),
        ),
        migrations.AlterField(
            model_name="response",
            name="tagged_reasons",
            field=models.JSONField(
                blank=True, default=list, null=True, verbose_name="reasons found by the tagger"
            ),
        ),
        migrations.CreateModel(
            name="ReasonCorrection",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "reasons_before",
                    models.JSONField(blank=True, default=list, verbose_name="reasons before"),
                ),
                (
                    "reasons_after",
                    models.JSONField(blank=True, default=list, verbose_name="reasons after"),
                ),
                (
                    "corrected_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, verbose_name="corrected"
                    ),
                ),
                (
                    "corrected_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="corrected by",
                    ),
                ),
                (
                    "response",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="reason_corrections",
                        to="feedback.response",
                        verbose_name="response",
                    ),
                ),
            ],
            options={
                "verbose_name": "reason correction",
                "verbose_name_plural": "reason corrections",
                "ordering": ["-corrected_at", "-id"],
                "indexes": [
                    models.Index(
                        fields=["response", "-corrected_at"], name="reason_correction_response"
                    )
                ],
            },
        ),
    ]
