"""Booking, moving, cancelling and the status steps of visits (journeys.services: visits,
visit_status, availability) and free slots (journeys.selectors_slots), against the real
PostgreSQL and its exclusion constraint."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from clinic_crm.audit.models import AuditAction, AuditEvent
from clinic_crm.staff.roles import Role
from journeys.errors import JourneyError
from journeys.models import Handoff, JourneyEvent, ScheduleException, Stage, Visit
from journeys.selectors_slots import free_slots, next_free_slots
from journeys.services import availability
from journeys.services.visit_status import (
    visit_cancel,
    visit_confirm,
    visit_mark_arrived,
    visit_mark_no_show,
    visit_start,
    visit_transition,
)
from journeys.services.visits import visit_book, visit_move
from tests.factories import PatientFactory, SpecialtyFactory
from tests.journeys.factories import (
    HandoffFactory,
    PlanOptionFactory,
    StageFactory,
    TreatmentPlanFactory,
    VisitFactory,
    WorkingHoursFactory,
    future_day,
    make_clinic,
    make_doctor,
    next_weekday,
)

pytestmark = pytest.mark.django_db


def book(clinic, when, **overrides):
    arguments = {
        "actor": clinic.admin,
        "patient": clinic.patient,
        "doctor": clinic.doctor,
        "branch": clinic.branch,
        "service": clinic.service,
        "starts_at": when,
    }
    arguments.update(overrides)
    return visit_book(**arguments)


# --- booking ----------------------------------------------------------------------------


def test_booking_inside_hours_creates_a_scheduled_visit_lasting_the_service(scheduling_clinic):
    day = future_day()
    visit = book(scheduling_clinic, scheduling_clinic.at(day, "10:00"))

    visit.refresh_from_db()
    assert visit.status == Visit.Status.SCHEDULED
    assert visit.ends_at - visit.starts_at == timedelta(minutes=30)
    assert visit.price_charged is None
    assert visit.booked_by == scheduling_clinic.admin
    event = JourneyEvent.objects.get(visit=visit)
    assert event.kind == JourneyEvent.Kind.VISIT_BOOKED
    assert event.actor == scheduling_clinic.admin
    assert event.patient_id == scheduling_clinic.patient.pk
    audit = AuditEvent.objects.get(object_type="journeys.Visit", object_id=str(visit.pk))
    assert audit.action == AuditAction.CREATE
    assert audit.patient_id == scheduling_clinic.patient.pk


def test_booking_in_a_far_time_zone_uses_the_branchs_wall_clock(make_staff):
    clinic = make_clinic(make_staff, time_zone="Asia/Vladivostok")
    day = future_day()
    visit = book(clinic, clinic.at(day, "08:00"))
    assert timezone.localtime(visit.starts_at, clinic.branch.zone).hour == 8
    with pytest.raises(JourneyError, match="08:00–20:00"):
        # 07:30 in Vladivostok is 00:30 in Moscow: outside the hours there.
        book(clinic, clinic.at(day, "07:30"))


def test_booking_outside_hours_is_refused_with_the_hours_named(make_staff):
    clinic = make_clinic(make_staff, hours=False)
    monday = next_weekday(0)
    WorkingHoursFactory(
        doctor=clinic.doctor, branch=clinic.branch, weekday=0, starts=time(9, 0), ends=time(18, 0)
    )

    with pytest.raises(JourneyError) as refused:
        book(clinic, clinic.at(monday, "17:45"))

    message = str(refused.value)
    assert "09:00–18:00" in message
    assert "17:45–18:15" in message
    assert "Petrova" in message
    assert not Visit.objects.exists()
    assert not JourneyEvent.objects.exists()
    assert not AuditEvent.objects.filter(object_type="journeys.Visit").exists()


def test_booking_on_a_weekday_without_hours_is_refused(make_staff):
    clinic = make_clinic(make_staff, hours=False)
    WorkingHoursFactory(doctor=clinic.doctor, branch=clinic.branch, weekday=0)
    tuesday = next_weekday(1)
    with pytest.raises(JourneyError, match="does not work at"):
        book(clinic, clinic.at(tuesday, "10:00"))


def test_hours_at_another_branch_do_not_count(make_staff, scheduling_clinic):
    other = make_clinic(make_staff)
    with pytest.raises(JourneyError, match="does not work at"):
        book(scheduling_clinic, scheduling_clinic.at(future_day(), "10:00"), branch=other.branch)


def test_booking_on_a_vacation_day_is_refused(scheduling_clinic):
    day = future_day(5)
    ScheduleException.objects.create(
        doctor=scheduling_clinic.doctor,
        starts_on=day - timedelta(days=1),
        ends_on=day,
        kind=ScheduleException.Kind.VACATION,
    )
    with pytest.raises(JourneyError, match=rf"Petrova is not working on {day:%d\.%m}: vacation"):
        book(scheduling_clinic, scheduling_clinic.at(day, "10:00"))
    assert not Visit.objects.exists()


def test_booking_in_the_past_is_refused(scheduling_clinic):
    yesterday = future_day(-1)
    with pytest.raises(JourneyError, match="already passed"):
        book(scheduling_clinic, scheduling_clinic.at(yesterday, "10:00"))
    assert not Visit.objects.exists()


def test_overlapping_booking_is_refused_naming_the_clashing_visit(scheduling_clinic):
    day = future_day()
    book(scheduling_clinic, scheduling_clinic.at(day, "10:00"))
    other_patient = PatientFactory()
    with pytest.raises(JourneyError, match="Dr Anna Petrova already has a visit 10:00–10:30"):
        book(scheduling_clinic, scheduling_clinic.at(day, "10:15"), patient=other_patient)
    assert Visit.objects.count() == 1


def test_back_to_back_visits_are_allowed(scheduling_clinic):
    day = future_day()
    book(scheduling_clinic, scheduling_clinic.at(day, "10:00"))
    visit = book(scheduling_clinic, scheduling_clinic.at(day, "10:30"), patient=PatientFactory())
    assert visit.pk


def test_a_patient_cannot_be_booked_twice_at_once(make_staff, scheduling_clinic):
    day = future_day()
    book(scheduling_clinic, scheduling_clinic.at(day, "10:00"))
    colleague = make_doctor(
        make_staff,
        branch=scheduling_clinic.branch,
        specialty=scheduling_clinic.specialty,
        last_name="Smirnova",
    )
    with pytest.raises(JourneyError, match="Ivanov Pavel already has a visit 10:00–10:30"):
        book(scheduling_clinic, scheduling_clinic.at(day, "10:15"), doctor=colleague)


def test_only_doctors_can_be_booked(make_staff, scheduling_clinic):
    curator = make_staff(Role.CURATOR)
    full_week_hours = WorkingHoursFactory(
        doctor=curator, branch=scheduling_clinic.branch, weekday=future_day().weekday()
    )
    assert full_week_hours.pk
    with pytest.raises(JourneyError, match="is not a doctor"):
        book(scheduling_clinic, scheduling_clinic.at(future_day(), "10:00"), doctor=curator)


@pytest.mark.parametrize(
    ("flag", "message"), [("is_archived", "archived"), ("is_deceased", "deceased")]
)
def test_an_archived_or_deceased_patient_cannot_be_booked(scheduling_clinic, flag, message):
    setattr(scheduling_clinic.patient, flag, True)
    with pytest.raises(JourneyError, match=message):
        book(scheduling_clinic, scheduling_clinic.at(future_day(), "10:00"))
    assert not Visit.objects.exists()


def test_an_inactive_service_cannot_be_booked(scheduling_clinic):
    scheduling_clinic.service.is_active = False
    scheduling_clinic.service.save()
    with pytest.raises(JourneyError, match="no longer offered"):
        book(scheduling_clinic, scheduling_clinic.at(future_day(), "10:00"))


def test_the_database_refuses_overlapping_visits_written_past_the_service(scheduling_clinic):
    start = scheduling_clinic.at(future_day(), "10:00")
    VisitFactory(
        doctor=scheduling_clinic.doctor,
        branch=scheduling_clinic.branch,
        starts_at=start,
        ends_at=start + timedelta(minutes=30),
    )
    with pytest.raises(IntegrityError, match="visit_doctor_no_overlap"), transaction.atomic():
        VisitFactory(
            doctor=scheduling_clinic.doctor,
            branch=scheduling_clinic.branch,
            starts_at=start + timedelta(minutes=29),
            ends_at=start + timedelta(minutes=60),
        )


def test_the_database_ignores_cancelled_visits_in_the_overlap_rule(scheduling_clinic):
    start = scheduling_clinic.at(future_day(), "10:00")
    VisitFactory(
        doctor=scheduling_clinic.doctor,
        branch=scheduling_clinic.branch,
        starts_at=start,
        ends_at=start + timedelta(minutes=30),
        status=Visit.Status.CANCELLED_BY_CLINIC,
    )
    assert VisitFactory(
        doctor=scheduling_clinic.doctor,
        branch=scheduling_clinic.branch,
        starts_at=start,
        ends_at=start + timedelta(minutes=30),
    ).pk


def test_a_lost_race_on_the_constraint_gives_the_same_friendly_message(
    scheduling_clinic, monkeypatch
):
    """When the friendly check misses a visit (another booking committed between the check
    and the insert), the constraint refuses the row and the service says the same thing."""
    day = future_day()
    first = book(scheduling_clinic, scheduling_clinic.at(day, "10:00"))
    real_conflict = availability.doctor_conflict
    calls = []

    def miss_once(**kwargs):
        calls.append(kwargs)
        return None if len(calls) == 1 else real_conflict(**kwargs)

    monkeypatch.setattr(availability, "doctor_conflict", miss_once)
    with pytest.raises(JourneyError, match="already has a visit 10:00–10:30"):
        book(scheduling_clinic, scheduling_clinic.at(day, "10:00"), patient=PatientFactory())
    assert list(Visit.objects.all()) == [first]
    assert JourneyEvent.objects.count() == 1


def test_a_deadlock_between_two_inserts_is_retried(scheduling_clinic, monkeypatch):
    """Two rows inserted at the same instant can make PostgreSQL abort one of them with
    "deadlock detected" instead of the constraint error; that insert is simply retried."""
    real_save = Visit.save
    attempts = []

    def deadlock_once(self, *args, **kwargs):
        attempts.append(self.starts_at)
        if len(attempts) == 1:
            cause = RuntimeError("deadlock detected")
            cause.pgcode = "40P01"  # what psycopg's DeadlockDetected carries
            raise OperationalError("deadlock detected") from cause
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(Visit, "save", deadlock_once)
    visit = book(scheduling_clinic, scheduling_clinic.at(future_day(), "10:00"))
    assert len(attempts) == 2
    assert Visit.objects.get() == visit


# --- stages and handoffs ----------------------------------------------------------------


def _chosen_stage(clinic, **stage_fields):
    plan = TreatmentPlanFactory(
        patient=clinic.patient, branch=clinic.branch, lead_doctor=clinic.doctor, status="accepted"
    )
    option = PlanOptionFactory(plan=plan)
    plan.chosen_option = option
    plan.save()
    return StageFactory(option=option, specialty=clinic.specialty, **stage_fields)


def test_booking_a_planned_stage_marks_it_booked_and_cancelling_frees_it(scheduling_clinic):
    stage = _chosen_stage(scheduling_clinic)
    visit = book(scheduling_clinic, scheduling_clinic.at(future_day(), "10:00"), stage=stage)
    stage.refresh_from_db()
    assert stage.status == Stage.Status.BOOKED
    assert JourneyEvent.objects.get(visit=visit).plan == stage.option.plan

    visit_cancel(actor=scheduling_clinic.admin, visit=visit, by_patient=True, reason="Feels ill")
    stage.refresh_from_db()
    assert stage.status == Stage.Status.PLANNED


def test_arrival_for_a_booked_stage_starts_it_once(scheduling_clinic, time_machine):
    stage = _chosen_stage(scheduling_clinic)
    day = future_day()
    visit = book(scheduling_clinic, scheduling_clinic.at(day, "10:00"), stage=stage)
    time_machine.move_to(scheduling_clinic.at(day, "09:55"), tick=False)

    visit_mark_arrived(actor=scheduling_clinic.admin, visit=visit)
    visit_start(actor=scheduling_clinic.doctor, visit=visit)

    stage.refresh_from_db()
    assert stage.status == Stage.Status.IN_PROGRESS
    started = JourneyEvent.objects.get(kind=JourneyEvent.Kind.STAGE_STARTED)
    assert (started.stage, started.visit, started.plan) == (stage, visit, stage.option.plan)
    assert started.actor == scheduling_clinic.admin
    assert started.summary == stage.title


def test_a_visit_without_a_stage_starts_no_stage(scheduling_clinic, time_machine):
    day = future_day()
    visit = book(scheduling_clinic, scheduling_clinic.at(day, "10:00"))
    time_machine.move_to(scheduling_clinic.at(day, "09:55"), tick=False)
    visit_mark_arrived(actor=scheduling_clinic.admin, visit=visit)
    assert not JourneyEvent.objects.filter(kind=JourneyEvent.Kind.STAGE_STARTED).exists()


def test_a_stage_of_an_option_not_chosen_is_refused(scheduling_clinic):
    stage = _chosen_stage(scheduling_clinic)
    other_option = PlanOptionFactory(plan=stage.option.plan)
    unchosen = StageFactory(option=other_option, specialty=scheduling_clinic.specialty)
    with pytest.raises(JourneyError, match="not part of the option the patient chose"):
        book(scheduling_clinic, scheduling_clinic.at(future_day(), "10:00"), stage=unchosen)
    assert not Visit.objects.exists()


def test_a_stage_of_another_patient_is_refused(scheduling_clinic):
    stage = _chosen_stage(scheduling_clinic)
    with pytest.raises(JourneyError, match="another patient"):
        book(
            scheduling_clinic,
            scheduling_clinic.at(future_day(), "10:00"),
            stage=stage,
            patient=PatientFactory(),
        )


def test_booking_an_open_handoff_marks_it_booked_and_cancelling_reopens_it(scheduling_clinic):
    handoff = HandoffFactory(
        patient=scheduling_clinic.patient,
        from_doctor=scheduling_clinic.doctor,
        to_specialty=scheduling_clinic.specialty,
    )
    visit = book(scheduling_clinic, scheduling_clinic.at(future_day(), "10:00"), handoff=handoff)
    handoff.refresh_from_db()
    assert handoff.state == Handoff.State.BOOKED

    with pytest.raises(JourneyError, match="already booked"):
        book(scheduling_clinic, scheduling_clinic.at(future_day(), "12:00"), handoff=handoff)

    visit_cancel(actor=scheduling_clinic.admin, visit=visit, by_patient=False, reason="Doctor ill")
    handoff.refresh_from_db()
    assert handoff.state == Handoff.State.OPEN


# --- cancelling and moving --------------------------------------------------------------


def test_cancelling_frees_the_slot_for_another_booking(scheduling_clinic):
    day = future_day()
    visit = book(scheduling_clinic, scheduling_clinic.at(day, "10:00"))
    visit_cancel(actor=scheduling_clinic.admin, visit=visit, by_patient=True, reason="Travelling")
    visit.refresh_from_db()
    assert visit.status == Visit.Status.CANCELLED_BY_PATIENT
    assert visit.cancel_reason == "Travelling"

    again = book(scheduling_clinic, scheduling_clinic.at(day, "10:00"), patient=PatientFactory())
    assert again.status == Visit.Status.SCHEDULED
    event = JourneyEvent.objects.get(visit=visit, kind=JourneyEvent.Kind.VISIT_STATUS)
    assert event.data == {"from": "scheduled", "to": "cancelled_by_patient", "reason": "Travelling"}


def test_cancelling_needs_a_reason_and_an_upcoming_visit(scheduling_clinic):
    visit = book(scheduling_clinic, scheduling_clinic.at(future_day(), "10:00"))
    with pytest.raises(JourneyError, match="Say why"):
        visit_cancel(actor=scheduling_clinic.admin, visit=visit, by_patient=True, reason="  ")
    visit_cancel(actor=scheduling_clinic.admin, visit=visit, by_patient=False, reason="Doctor ill")
    with pytest.raises(JourneyError, match="Only scheduled or confirmed"):
        visit_cancel(actor=scheduling_clinic.admin, visit=visit, by_patient=False, reason="Again")


def test_moving_a_visit_checks_the_new_time_and_records_both_times(scheduling_clinic):
    day = future_day()
    visit = book(scheduling_clinic, scheduling_clinic.at(day, "10:00"))
    visit_confirm(actor=scheduling_clinic.admin, visit=visit)
    book(scheduling_clinic, scheduling_clinic.at(day, "12:00"), patient=PatientFactory())

    with pytest.raises(JourneyError, match="already has a visit 12:00–12:30"):
        visit_move(
            actor=scheduling_clinic.admin, visit=visit, starts_at=scheduling_clinic.at(day, "12:15")
        )
    with pytest.raises(JourneyError, match="08:00–20:00"):
        visit_move(
            actor=scheduling_clinic.admin, visit=visit, starts_at=scheduling_clinic.at(day, "19:45")
        )
    with pytest.raises(JourneyError, match="already passed"):
        visit_move(
            actor=scheduling_clinic.admin,
            visit=visit,
            starts_at=scheduling_clinic.at(future_day(-1), "10:00"),
        )

    # Overlapping its own old time is fine: the visit doesn't clash with itself.
    moved = visit_move(
        actor=scheduling_clinic.admin, visit=visit, starts_at=scheduling_clinic.at(day, "10:15")
    )
    assert moved.starts_at == scheduling_clinic.at(day, "10:15")
    visit.refresh_from_db()
    assert visit.starts_at == scheduling_clinic.at(day, "10:15")
    assert visit.ends_at == scheduling_clinic.at(day, "10:45")
    assert visit.status == Visit.Status.SCHEDULED  # the patient confirmed the old time
    event = JourneyEvent.objects.get(visit=visit, kind=JourneyEvent.Kind.VISIT_MOVED)
    assert event.data["old"]["starts_at"] == scheduling_clinic.at(day, "10:00").isoformat()
    assert event.data["new"]["starts_at"] == scheduling_clinic.at(day, "10:15").isoformat()


def test_moving_to_another_doctor_checks_that_doctors_calendar(make_staff, scheduling_clinic):
    day = future_day()
    visit = book(scheduling_clinic, scheduling_clinic.at(day, "10:00"))
    colleague = make_doctor(
        make_staff,
        branch=scheduling_clinic.branch,
        specialty=scheduling_clinic.specialty,
        last_name="Smirnova",
    )
    ScheduleException.objects.create(
        doctor=colleague, starts_on=day, ends_on=day, kind=ScheduleException.Kind.SICK
    )
    with pytest.raises(JourneyError, match="Smirnova is not working"):
        visit_move(
            actor=scheduling_clinic.admin,
            visit=visit,
            starts_at=scheduling_clinic.at(day, "10:00"),
            doctor=colleague,
        )
    visit_move(
        actor=scheduling_clinic.admin,
        visit=visit,
        starts_at=scheduling_clinic.at(day + timedelta(days=1), "10:00"),
        doctor=colleague,
    )
    visit.refresh_from_db()
    assert visit.doctor == colleague


def test_only_upcoming_visits_move(scheduling_clinic):
    visit = VisitFactory(
        patient=scheduling_clinic.patient,
        doctor=scheduling_clinic.doctor,
        branch=scheduling_clinic.branch,
        service=scheduling_clinic.service,
        status=Visit.Status.ARRIVED,
    )
    with pytest.raises(JourneyError, match="Only scheduled or confirmed visits can be moved"):
        visit_move(
            actor=scheduling_clinic.admin,
            visit=visit,
            starts_at=scheduling_clinic.at(future_day(), "15:00"),
        )


# --- status steps -----------------------------------------------------------------------


def test_status_steps_follow_the_table(scheduling_clinic, time_machine):
    day = future_day()
    visit = book(scheduling_clinic, scheduling_clinic.at(day, "10:00"))
    visit_confirm(actor=scheduling_clinic.admin, visit=visit)
    with pytest.raises(JourneyError, match="can't become confirmed"):
        visit_confirm(actor=scheduling_clinic.admin, visit=visit)
    with pytest.raises(JourneyError, match="only on that day"):
        visit_mark_arrived(actor=scheduling_clinic.admin, visit=visit)

    time_machine.move_to(scheduling_clinic.at(day, "09:50"), tick=False)
    visit_mark_arrived(actor=scheduling_clinic.admin, visit=visit)
    with pytest.raises(JourneyError, match="can't become no-show"):
        visit_mark_no_show(actor=scheduling_clinic.admin, visit=visit)
    visit_start(actor=scheduling_clinic.admin, visit=visit)
    visit_transition(actor=scheduling_clinic.admin, visit=visit, to_status=Visit.Status.COMPLETED)

    visit.refresh_from_db()
    assert visit.status == Visit.Status.COMPLETED
    assert visit.completed_at is not None
    steps = list(
        JourneyEvent.objects.filter(visit=visit, kind=JourneyEvent.Kind.VISIT_STATUS)
        .order_by("id")
        .values_list("data__to", flat=True)
    )
    assert steps == ["confirmed", "arrived", "in_progress", "completed"]
    assert (
        AuditEvent.objects.filter(object_id=str(visit.pk), action=AuditAction.UPDATE).count() == 4
    )


def test_a_cancellation_must_go_through_visit_cancel(scheduling_clinic):
    visit = book(scheduling_clinic, scheduling_clinic.at(future_day(), "10:00"))
    with pytest.raises(JourneyError, match="with a reason"):
        visit_transition(
            actor=scheduling_clinic.admin, visit=visit, to_status=Visit.Status.CANCELLED_BY_CLINIC
        )


def test_no_show_only_after_the_start_time(scheduling_clinic, time_machine):
    day = future_day()
    visit = book(scheduling_clinic, scheduling_clinic.at(day, "10:00"))
    time_machine.move_to(scheduling_clinic.at(day, "09:59"), tick=False)
    with pytest.raises(JourneyError, match="starts at 10:00"):
        visit_mark_no_show(actor=scheduling_clinic.admin, visit=visit)
    time_machine.move_to(scheduling_clinic.at(day, "10:20"), tick=False)
    visit_mark_no_show(actor=scheduling_clinic.admin, visit=visit)
    visit.refresh_from_db()
    assert visit.status == Visit.Status.NO_SHOW


def test_of_two_clicks_on_the_same_step_only_one_wins(scheduling_clinic):
    visit = book(scheduling_clinic, scheduling_clinic.at(future_day(), "10:00"))
    first_tab = Visit.objects.get(pk=visit.pk)
    second_tab = Visit.objects.get(pk=visit.pk)

    visit_confirm(actor=scheduling_clinic.admin, visit=first_tab)
    with pytest.raises(JourneyError, match="Someone changed this visit"):
        visit_confirm(actor=scheduling_clinic.admin, visit=second_tab)
    assert (
        JourneyEvent.objects.filter(visit=visit, kind=JourneyEvent.Kind.VISIT_STATUS).count() == 1
    )


def test_a_stale_page_cannot_cancel_a_visit_that_has_moved_on(scheduling_clinic, time_machine):
    day = future_day()
    visit = book(scheduling_clinic, scheduling_clinic.at(day, "10:00"))
    stale = Visit.objects.get(pk=visit.pk)
    time_machine.move_to(scheduling_clinic.at(day, "09:55"), tick=False)
    visit_mark_arrived(actor=scheduling_clinic.admin, visit=visit)
    with pytest.raises(JourneyError, match="Someone changed this visit"):
        visit_cancel(actor=scheduling_clinic.admin, visit=stale, by_patient=True, reason="Late")
    visit.refresh_from_db()
    assert visit.status == Visit.Status.ARRIVED


# --- free slots -------------------------------------------------------------------------


def _times(slots):
    return [f"{timezone.localtime(s.starts_at, s.starts_at.tzinfo):%H:%M}" for s in slots]


def test_free_slots_skip_busy_times_and_respect_the_duration(scheduling_clinic):
    day = future_day()
    book(scheduling_clinic, scheduling_clinic.at(day, "10:00"))
    slots = free_slots(
        branch=scheduling_clinic.branch, service=scheduling_clinic.service, day=day, limit=500
    )
    starts = _times(slots)
    assert starts[0] == "08:00"
    assert "09:30" in starts
    assert "09:45" not in starts  # would run into 10:00
    assert "10:00" not in starts
    assert "10:15" not in starts
    assert "10:30" in starts
    assert starts[-1] == "19:30"  # 19:45 + 30 min ends after 20:00
    assert all(s.ends_at - s.starts_at == timedelta(minutes=30) for s in slots)
    assert {s.doctor for s in slots} == {scheduling_clinic.doctor}


def test_free_slots_exclude_days_off_and_past_times(scheduling_clinic, time_machine):
    day = future_day()
    ScheduleException.objects.create(doctor=scheduling_clinic.doctor, starts_on=day, ends_on=day)
    assert (
        free_slots(branch=scheduling_clinic.branch, service=scheduling_clinic.service, day=day)
        == []
    )

    tomorrow = day + timedelta(days=1)
    time_machine.move_to(scheduling_clinic.at(tomorrow, "13:05"), tick=False)
    starts = _times(
        free_slots(branch=scheduling_clinic.branch, service=scheduling_clinic.service, day=tomorrow)
    )
    assert starts[0] == "13:15"


def test_free_slots_by_specialty_or_doctor(make_staff, scheduling_clinic):
    day = future_day()
    colleague = make_doctor(
        make_staff,
        branch=scheduling_clinic.branch,
        specialty=scheduling_clinic.specialty,
        last_name="Smirnova",
    )
    surgeon = make_doctor(
        make_staff, branch=scheduling_clinic.branch, specialty=SpecialtyFactory(), last_name="Orlov"
    )
    slots = free_slots(
        branch=scheduling_clinic.branch, service=scheduling_clinic.service, day=day, limit=1000
    )
    assert {s.doctor for s in slots} == {scheduling_clinic.doctor, colleague}

    slots = free_slots(
        branch=scheduling_clinic.branch, service=scheduling_clinic.service, day=day, doctor=surgeon
    )
    assert {s.doctor for s in slots} == {surgeon}


def test_free_slots_cost_three_queries_however_many_doctors(
    make_staff, scheduling_clinic, django_assert_max_num_queries
):
    day = future_day()
    for n in range(6):
        doctor = make_doctor(
            make_staff,
            branch=scheduling_clinic.branch,
            specialty=scheduling_clinic.specialty,
            last_name=f"Doctor{n}",
        )
        for hour in (9, 11, 14):
            VisitFactory(
                doctor=doctor,
                branch=scheduling_clinic.branch,
                service=scheduling_clinic.service,
                starts_at=scheduling_clinic.at(day, f"{hour}:00"),
                ends_at=scheduling_clinic.at(day, f"{hour}:30"),
            )
        ScheduleException.objects.create(
            doctor=doctor, starts_on=day + timedelta(days=2), ends_on=day + timedelta(days=2)
        )
    with django_assert_max_num_queries(3):
        slots = free_slots(
            branch=scheduling_clinic.branch, service=scheduling_clinic.service, day=day, limit=1000
        )
    assert len({s.doctor.pk for s in slots}) == 7
    with django_assert_max_num_queries(3):
        later = next_free_slots(
            branch=scheduling_clinic.branch,
            service=scheduling_clinic.service,
            start_day=day,
            days=14,
            limit=10_000,
        )
    assert {
        s.starts_at.date() for s in later if s.doctor.pk != scheduling_clinic.doctor.pk
    }.isdisjoint({day + timedelta(days=2)})


def test_next_free_slots_scans_forward_past_full_days(scheduling_clinic):
    day = future_day()
    ScheduleException.objects.create(
        doctor=scheduling_clinic.doctor, starts_on=day, ends_on=day + timedelta(days=2)
    )
    slots = next_free_slots(
        branch=scheduling_clinic.branch,
        service=scheduling_clinic.service,
        start_day=day,
        days=14,
        limit=5,
    )
    assert len(slots) == 5
    assert all(
        timezone.localtime(s.starts_at, scheduling_clinic.branch.zone).date()
        == day + timedelta(days=3)
        for s in slots
    )
