"""Reads for the pre-visit questionnaire: which form a visit asks, whether its reminder
offers it, and the visit behind a questionnaire link."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from .models import Screening, ScreeningForm, ScreeningQuestion, Visit


def _usable_forms(*, service_id: int) -> QuerySet[ScreeningForm]:
    """The active forms with questions that could apply to a service: its own and the
    clinic's default."""
    return ScreeningForm.objects.filter(
        Q(service_id=service_id) | Q(service__isnull=True),
        Exists(ScreeningQuestion.objects.filter(form=OuterRef("pk"))),
        is_active=True,
    )


def screening_form_for(*, service_id: int) -> ScreeningForm | None:
    """The form a visit of the service asks: the service's own while it is active, else
    the default one; with its questions in order. Two queries."""
    forms = sorted(
        _usable_forms(service_id=service_id).prefetch_related("questions"),
        key=lambda form: form.service_id is None,
    )
    return forms[0] if forms else None


def screening_offered(*, visit: Visit) -> bool:
    """The visit's service asks a questionnaire and the patient has not sent it yet
    (what the reminder's link is for). One query."""
    return (
        _usable_forms(service_id=visit.service_id)
        .filter(~Exists(Screening.objects.filter(visit_id=visit.pk)))
        .exists()
    )


def screening_visit(*, visit_id: int) -> Visit | None:
    """The visit of a questionnaire link, with what its page shows (the patient's first
    name and language, the doctor, the branch's time zone) and its answers if sent."""
    return (
        Visit.objects.select_related("patient", "doctor", "branch", "screening")
        .filter(pk=visit_id)
        .first()
    )
