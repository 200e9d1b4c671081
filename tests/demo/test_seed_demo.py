"""The demo data obeys the product's rules; the large data set builds correctly."""

import pytest
from django.core.management import call_command

from demo.scale import scale_data_create
from journeys.models import Task, TreatmentPlan, Visit
from patients.models import Patient

pytestmark = pytest.mark.django_db


def test_seed_demo_makes_journeys_in_every_state(capsys):
    call_command("seed_demo", "--patients", "70")
    states = set(TreatmentPlan.objects.values_list("status", flat=True))
    assert states == {"draft", "proposed", "accepted", "in_progress", "completed", "abandoned"}
    assert Visit.objects.filter(status="scheduled").exists()
    assert Visit.objects.filter(status="completed").exists()
    kinds = set(Task.objects.values_list("kind", flat=True))
    assert {"stalled_journey", "handoff_not_booked", "recall_due"} <= kinds
    from clinic_crm.messaging.models import Message
    from patients.selectors import has_consent

    upcoming = Visit.objects.filter(status="scheduled").select_related("patient")
    assert Message.objects.filter(kind="reminder", journey__visit__in=upcoming).exists()
    assert sum(has_consent(v.patient, "reminders", "sms") for v in upcoming) > len(upcoming) / 2
    # The dashboards have figures at once: rollups and the cohort snapshot.
    from metrics.models import CohortFigure, DailyRollup

    assert DailyRollup.objects.exists()
    assert CohortFigure.objects.filter(metric="return").exists()
    call_command("seed_demo", "--if-empty")
    assert "skipped" in capsys.readouterr().out


def test_large_data_set_builder_on_a_small_scale():
    messages = []
    counts = scale_data_create(patients=400, seed=1, progress=messages.append)
    assert Patient.objects.count() == 400
    assert counts["visits"] == Visit.objects.count() > 1000
    assert counts["plans"] == TreatmentPlan.objects.count() == 40
    # every generated visit points at one of the generated patients
    assert not Visit.objects.exclude(patient__in=Patient.objects.all()).exists()
    assert any("visits" in m for m in messages)
    # visits lie inside the doctors' working hours, 09:00–19:00 in the branch's zone
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Europe/Moscow")
    hours = {v.astimezone(zone).hour for v in Visit.objects.values_list("starts_at", flat=True)}
    assert min(hours) >= 9
    assert max(hours) <= 18
