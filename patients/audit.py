"""How the audit log names the patients' records (registered from PatientsConfig.ready):
"Иванов Иван Иванович" for a card, "Иванов И. И. — consent: Reminders, SMS, granted"."""

from __future__ import annotations

from django.utils.translation import gettext as _

from clinic_crm.audit.describers import int_ids, register_describer

from .models import ConsentRecord, Patient

# The columns short_name() takes, for values_list() through a relation.
NAME_PARTS = ("last_name", "first_name", "middle_name")


def short_name(last_name: str, first_name: str = "", middle_name: str = "") -> str:
    """ "Иванов И. И.": the surname and the initials."""
    initials = " ".join(f"{part[0]}." for part in (first_name, middle_name) if part)
    return f"{last_name} {initials}".strip()


def describe_patients(ids: list[str]) -> dict[str, str]:
    """A card by the patient's full name (the other records use the short one)."""
    rows = Patient.objects.filter(pk__in=int_ids(ids)).values_list("pk", *NAME_PARTS)
    return {str(pk): " ".join(part for part in parts if part) for pk, *parts in rows}


def describe_consents(ids: list[str]) -> dict[str, str]:
    records = ConsentRecord.objects.filter(pk__in=int_ids(ids)).select_related("patient")
    return {
        str(record.pk): _("%(patient)s — consent: %(kind)s, %(channel)s, %(state)s")
        % {
            "patient": short_name(*(getattr(record.patient, part) for part in NAME_PARTS)),
            "kind": record.get_kind_display(),
            "channel": record.get_channel_display(),
            "state": _("granted") if record.granted else _("revoked"),
        }
        for record in records
    }


def register() -> None:
    register_describer(Patient._meta.label, describe_patients)
    register_describer(ConsentRecord._meta.label, describe_consents)
