# What a message is about moved to journeys' JourneyMessage (journeys 0020, which runs
# before this and copies the columns): the outbox keeps no column naming a journey row.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0005_link_answer_in_journeys"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="message",
            name="message_visit",
        ),
        migrations.RemoveField(
            model_name="message",
            name="plan",
        ),
        migrations.RemoveField(
            model_name="message",
            name="stage",
        ),
        migrations.RemoveField(
            model_name="message",
            name="visit",
        ),
    ]
