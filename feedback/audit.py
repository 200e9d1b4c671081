"""How the audit log names patients' answers (registered from FeedbackConfig.ready):
"Иванов И. И. — answer of 12.03.2026, NPS 9"."""

from __future__ import annotations

from django.utils.translation import gettext as _

from clinic_crm.audit.describers import int_ids, register_describer
from patients.audit import NAME_PARTS, short_name

from .models import Response


def describe_responses(ids: list[str]) -> dict[str, str]:
    responses = Response.objects.filter(pk__in=int_ids(ids)).select_related("patient")
    names = {}
    for response in responses:
        values = {
            "patient": short_name(*(getattr(response.patient, part) for part in NAME_PARTS)),
            "day": response.day.strftime("%d.%m.%Y"),
            "nps": response.nps_score,
        }
        if response.nps_score is None:
            names[str(response.pk)] = _("%(patient)s — answer of %(day)s") % values
        else:
            names[str(response.pk)] = _("%(patient)s — answer of %(day)s, NPS %(nps)s") % values
    return names


def register() -> None:
    register_describer(Response._meta.label, describe_responses)
