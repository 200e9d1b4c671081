"""Rollups are refreshed by the real Celery worker right after a change commits."""

from datetime import UTC, datetime, timedelta

import pytest

from feedback.services import survey_response_record
from journeys.models import Visit
from metrics.models import DailyRollup, RollupDirty
from tests.processes import wait_until


@pytest.mark.django_db(transaction=True)
def test_a_new_answer_reaches_the_rollups_through_the_worker(
    clinic, celery_worker_process, visit_survey
):
    starts = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
    visit = Visit.objects.create(
        patient=clinic.patient,
        doctor=clinic.doctor,
        branch=clinic.branch,
        service=clinic.service,
        starts_at=starts,
        ends_at=starts + timedelta(minutes=30),
        status="completed",
    )
    survey_response_record(
        survey=visit_survey,
        visit=visit,
        channel="sms",
        nps_score=9,
    )

    def refreshed() -> bool:
        row = DailyRollup.objects.filter(doctor=clinic.doctor).first()
        return row is not None and row.promoters == 1 and row.visits_completed == 1

    wait_until(refreshed, timeout=30, what="the worker to refresh the doctor's day")
    assert not RollupDirty.objects.exists()
