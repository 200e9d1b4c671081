"""Builders of metrics rows: completed visits answered on the visit survey, with the
rollups refreshed, and the dashboard's period that holds them."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from feedback.services import survey_response_record
from journeys.models import Visit
from metrics.rollups import rollups_refresh
from tests.factories import PatientFactory

# The dashboard for September and October 2026, the period ``answered_visits`` fills.
DASHBOARD_URL = "/metrics/dashboard/?start=2026-09-01&end=2026-10-31"


def answered_visits(
    clinic, survey, count, *, score=10, doctor=None, day=date(2026, 10, 5), comment=""
):
    for n in range(count):
        starts = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=n % 12)
        starts += timedelta(days=n // 12)
        visit = Visit.objects.create(
            patient=PatientFactory(home_branch=clinic.branch),
            doctor=doctor or clinic.doctor,
            branch=clinic.branch,
            service=clinic.service,
            starts_at=starts,
            ends_at=starts + timedelta(minutes=30),
            status="completed",
            price_charged=Decimal(3000),
        )
        survey_response_record(
            survey=survey,
            visit=visit,
            channel="sms",
            nps_score=score,
            answers={"communication": 5, "waiting": 2 if score < 7 else 4},
            comment=comment,
            submitted_at=starts + timedelta(hours=20),
        )
    rollups_refresh()


def answer(survey, *, branch, doctor, service, count, score, day=date(2026, 10, 5)):
    """``count`` completed visits at ``branch`` answered with ``score``; the responses."""
    responses = []
    for n in range(count):
        starts = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=8 + n)
        visit = Visit.objects.create(
            patient=PatientFactory(home_branch=branch),
            doctor=doctor,
            branch=branch,
            service=service,
            starts_at=starts,
            ends_at=starts + timedelta(minutes=30),
            status="completed",
            price_charged=Decimal(2000),
        )
        responses.append(
            survey_response_record(
                survey=survey,
                visit=visit,
                channel="sms",
                nps_score=score,
                answers={"communication": 4, "waiting": 4},
                submitted_at=starts + timedelta(hours=2),
            )
        )
    rollups_refresh()
    return responses
