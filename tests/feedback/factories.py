"""Builders the feedback tests share."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from feedback.models import Response
from feedback.services import survey_response_record
from journeys.models import Visit
from tests.journeys.factories import VisitFactory

DAY_ONE = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def completed_visit(
    clinic, *, patient=None, doctor=None, branch=None, starts_at=DAY_ONE, **fields
) -> Visit:
    return VisitFactory(
        patient=patient or clinic.patient,
        doctor=doctor or clinic.doctor,
        branch=branch or clinic.branch,
        service=clinic.service,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=30),
        status=Visit.Status.COMPLETED,
        **fields,
    )


def answered(clinic, survey, comment: str, *, n: int = 0, nps_score: int = 8, **visit) -> Response:
    """A response about a new completed visit (``n`` days after the first day), through
    the service, so its reasons are the tagger's."""
    return survey_response_record(
        survey=survey,
        visit=completed_visit(clinic, starts_at=DAY_ONE + timedelta(days=n), **visit),
        channel="sms",
        nps_score=nps_score,
        comment=comment,
    )


# --- a visit completed through the service, so its survey invitation is planned ----------

# 10:00 in Moscow on a Tuesday: inside the allowed hours.
MORNING = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)


def complete(clinic, *, stage=None, minutes_ago: int = 30, patient=None) -> Visit:
    """A visit that ended ``minutes_ago`` before MORNING, completed by its doctor (care
    finished, no check-up): ``visit_complete`` plans its survey invitation."""
    from journeys.services.visit_completion import FinishCare, visit_complete

    start = MORNING - timedelta(minutes=minutes_ago)
    visit = VisitFactory(
        patient=patient or clinic.patient,
        doctor=clinic.doctor,
        branch=clinic.branch,
        service=clinic.service,
        stage=stage,
        starts_at=start,
        ends_at=start + timedelta(minutes=30),
        status=Visit.Status.ARRIVED,
    )
    visit_complete(actor=clinic.doctor, visit=visit, next_step=FinishCare(observation_months=0))
    return visit


def invitation_now(clinic, *, first_name: str = "Анна", last_name: str | None = None):
    """The survey invitation of the clinic's patient (renamed), for a visit that ended ten
    minutes ago and was just completed through the service."""
    from django.utils import timezone

    from feedback.models import SurveyInvitation
    from journeys.services.visit_completion import FinishCare, visit_complete

    clinic.patient.first_name = first_name
    if last_name is not None:
        clinic.patient.last_name = last_name
    clinic.patient.save()
    start = timezone.now() - timedelta(minutes=40)
    visit = VisitFactory(
        patient=clinic.patient,
        doctor=clinic.doctor,
        branch=clinic.branch,
        service=clinic.service,
        starts_at=start,
        ends_at=start + timedelta(minutes=30),
        status=Visit.Status.ARRIVED,
    )
    visit_complete(actor=clinic.doctor, visit=visit, next_step=FinishCare(observation_months=0))
    return SurveyInvitation.objects.get(visit=visit)
