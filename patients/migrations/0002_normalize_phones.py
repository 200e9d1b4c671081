"""Existing phone numbers to E.164 before the next migration adds a CHECK constraint.

A number that can't be read as a phone stops the migration with the ids to fix, rather
than being dropped silently.
"""

import re

from django.db import migrations

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


def normalize_phones(apps, schema_editor):
    import phonenumbers

    Patient = apps.get_model("patients", "Patient")
    unreadable = []
    for patient in Patient.objects.exclude(phone="").only("id", "phone").iterator():
        if E164.match(patient.phone):
            continue
        try:
            number = phonenumbers.parse(patient.phone, "RU")
        except phonenumbers.NumberParseException:
            number = None
        if number is None or not phonenumbers.is_valid_number(number):
            unreadable.append(patient.pk)
            continue
        patient.phone = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        patient.save(update_fields=["phone"])
    if unreadable:
        raise RuntimeError(
            "These patients have a phone that is not a phone number; fix or clear it "
            f"and migrate again: ids {unreadable[:50]}"
        )


class Migration(migrations.Migration):
    dependencies = [("patients", "0001_initial")]

    operations = [migrations.RunPython(normalize_phones, migrations.RunPython.noop)]
