"""The demo clinic tells a well-run clinic's story with realistic problems: several busy
doctors in every branch, today's calendar full whatever the hour the demo is loaded, most
negative answers called back within 24 hours, a few late and a few overdue."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from clinic_crm.catalogue.models import Branch
from clinic_crm.staff.models import User
from feedback.models import Response
from journeys.models import Handoff, Task, TreatmentPlan, Visit
from patients.models import Patient

pytestmark = pytest.mark.django_db

MSK = ZoneInfo("Europe/Moscow")
DEMO_LOGINS = [
    "admin@demo.clinic",
    "admin.sokol@demo.clinic",
    "doctor@demo.clinic",
    "curator@demo.clinic",
    "manager@demo.clinic",
]


def _visits_on(day):
    start = datetime.combine(day, time.min, tzinfo=MSK)
    return Visit.objects.filter(starts_at__gte=start, starts_at__lt=start + timedelta(days=1))


def _doctors_per_branch(visits) -> dict[str, set[int]]:
    doctors: dict[str, set[int]] = {b.name: set() for b in Branch.objects.all()}
    for branch, doctor in visits.values_list("branch__name", "doctor_id"):
        doctors[branch].add(doctor)
    return doctors


def _assert_visits_keep_hours_and_never_overlap() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM journeys_visit v
            JOIN journeys_branch b ON b.id = v.branch_id
            WHERE NOT EXISTS (
                SELECT 1 FROM journeys_workinghours h
                WHERE h.doctor_id = v.doctor_id AND h.branch_id = v.branch_id
                  AND h.weekday = extract(isodow FROM v.starts_at AT TIME ZONE b.time_zone) - 1
                  AND h.starts <= (v.starts_at AT TIME ZONE b.time_zone)::time
                  AND h.ends >= (v.ends_at AT TIME ZONE b.time_zone)::time
                  AND (v.starts_at AT TIME ZONE b.time_zone)::date
                      = (v.ends_at AT TIME ZONE b.time_zone)::date)
            """
        )
        assert cursor.fetchone()[0] == 0, "a demo visit lies outside the doctor's hours"
        cursor.execute(
            """
            SELECT count(*) FROM journeys_visit a JOIN journeys_visit b
              ON a.id < b.id AND a.patient_id = b.patient_id
             AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at
            WHERE a.status NOT LIKE 'cancelled%%' AND b.status NOT LIKE 'cancelled%%'
            """
        )
        assert cursor.fetchone()[0] == 0, "a demo patient is in two visits at once"


def _story_counts() -> dict[str, int]:
    return {
        "patients": Patient.objects.count(),
        "staff": User.objects.count(),
        "visits": Visit.objects.count(),
        "plans": TreatmentPlan.objects.count(),
        "responses": Response.objects.count(),
        "tasks": Task.objects.count(),
    }


def test_the_demo_clinic_is_busy_in_every_branch_and_calls_back_most_unhappy_patients():
    call_command("seed_demo")
    now = timezone.now()
    today = timezone.localdate(now)

    # Several doctors with visits today in every branch, and on every day of this week.
    assert Branch.objects.count() == 2
    for branch, doctors in _doctors_per_branch(_visits_on(today)).items():
        assert len(doctors) >= 2, f"{branch} has {len(doctors)} doctors with visits today"
    for offset in range(-3, 4):
        for branch, doctors in _doctors_per_branch(
            _visits_on(today + timedelta(days=offset))
        ).items():
            assert len(doctors) >= 2, f"{branch} is empty {offset} days from today"
    # Days are full-ish: at least six visits per working doctor today.
    per_doctor_today = Counter(_visits_on(today).values_list("doctor_id", flat=True))
    assert min(per_doctor_today.values()) >= 6

    # Nobody has almost all the visits.
    per_doctor = Counter(Visit.objects.values_list("doctor_id", flat=True))
    assert len(per_doctor) >= 8
    assert max(per_doctor.values()) <= 0.4 * sum(per_doctor.values())

    # Today's mix follows the clock: what ended took place, what is ahead is booked.
    statuses = Counter(_visits_on(today).values_list("status", flat=True))
    assert sum(statuses.values()) >= 40
    ended = _visits_on(today).filter(ends_at__lte=now)
    ahead = _visits_on(today).filter(starts_at__gt=now + timedelta(minutes=30))
    assert not ended.filter(status__in=Visit.UPCOMING).exists()
    assert not ahead.exclude(status__in=[*Visit.UPCOMING, *Visit.CANCELLED]).exists()
    # The patients in the building: the current visits and the next ones, nobody else.
    in_building = Visit.objects.filter(status__in=[Visit.Status.ARRIVED, Visit.Status.IN_PROGRESS])
    assert not in_building.filter(starts_at__lt=now - timedelta(hours=2)).exists()
    assert not in_building.filter(starts_at__gt=now + timedelta(minutes=30)).exists()
    week = Counter(
        Visit.objects.filter(
            starts_at__gte=now - timedelta(days=6), starts_at__lt=now + timedelta(days=6)
        ).values_list("status", flat=True)
    )
    assert week["completed"] > 100
    assert week["scheduled"] > 20
    assert week["confirmed"] > 20
    assert week["no_show"] >= 2
    assert week["cancelled_by_patient"] >= 2
    _assert_visits_keep_hours_and_never_overlap()

    # Recovery: most negatives called back within 24 h, some late, a few overdue now.
    negative = Response.objects.filter(negative=True).select_related("recovery_task")
    assert negative.count() >= 15
    assert negative.count() < 0.3 * Response.objects.count()
    in_time = [
        r
        for r in negative
        if r.recovery_task.state == Task.State.DONE
        and r.recovery_task.closed_at <= r.submitted_at + timedelta(hours=24)
    ]
    assert 0.6 <= len(in_time) / negative.count() <= 0.95
    assert all(r.recovery_task.outcome for r in in_time)
    late = [
        r
        for r in negative
        if r.recovery_task.state == Task.State.DONE and r.recovery_task not in in_time
    ]
    assert late, "no answer was called back late"
    recovery = Task.objects.filter(kind=Task.Kind.NEGATIVE_FEEDBACK)
    overdue = recovery.filter(state__in=Task.OPEN_STATES, due_at__lt=now).count()
    assert 1 <= overdue <= 0.2 * recovery.count()
    assert not Response.objects.filter(submitted_at__gt=now).exists()

    # Journeys in every state, handoffs open and booked, stalled ones on the worklist.
    assert set(TreatmentPlan.objects.values_list("lead_doctor__email", flat=True)) == {
        "doctor@demo.clinic",
        "ortho2@demo.clinic",
    }
    assert {Handoff.State.OPEN, Handoff.State.BOOKED} <= set(
        Handoff.objects.values_list("state", flat=True)
    )
    open_kinds = Counter(
        Task.objects.filter(state__in=Task.OPEN_STATES).values_list("kind", flat=True)
    )
    assert open_kinds["stalled_journey"] >= 2
    assert open_kinds["handoff_not_booked"] >= 1

    # The logins `make run` prints still work.
    for email in DEMO_LOGINS:
        assert User.objects.get(email=email).check_password("Clinic-demo-2026")

    # Running it again (as `make run` does, or by hand) adds nothing.
    before = _story_counts()
    call_command("seed_demo", "--if-empty")
    call_command("seed_demo")
    assert _story_counts() == before


@pytest.mark.parametrize(
    ("days_ahead", "hour", "minute"),
    [(1, 23, 30), (2, 6, 0)],
    ids=["late-evening", "early-morning"],
)
def test_a_demo_loaded_late_or_early_still_shows_a_full_today(days_ahead, hour, minute):
    day = timezone.localdate() + timedelta(days=days_ahead)
    while day.weekday() >= 5:  # weekends have one short shift per doctor: fewer visits
        day += timedelta(days=1)
    now = datetime.combine(day, time(hour, minute), tzinfo=MSK)

    call_command("seed_demo", "--patients", "300", "--now", now.isoformat())

    visits = _visits_on(day)
    for branch, doctors in _doctors_per_branch(visits).items():
        assert len(doctors) >= 2, f"{branch} has an empty calendar at {hour}:{minute:02}"
    statuses = set(visits.values_list("status", flat=True))
    if hour >= 20:  # the whole day is over: it took place
        assert Visit.Status.COMPLETED in statuses
        assert not statuses & set(Visit.OPEN)
    else:  # the whole day is ahead: booked, half of it confirmed
        assert {Visit.Status.SCHEDULED, Visit.Status.CONFIRMED} <= statuses
        assert not statuses & {Visit.Status.COMPLETED, Visit.Status.NO_SHOW}
    assert visits.count() >= 30
    _assert_visits_keep_hours_and_never_overlap()


def test_a_demo_can_not_be_loaded_as_of_the_past():
    yesterday = timezone.now() - timedelta(days=1)
    with pytest.raises(CommandError, match="past"):
        call_command("seed_demo", "--now", yesterday.isoformat())
    with pytest.raises(CommandError, match="offset"):
        call_command("seed_demo", "--now", "2999-01-01T10:00")
    assert not Patient.objects.exists()
