"""A freed slot goes first to the patient whose stage of that specialty is overdue."""

from datetime import timedelta

import pytest
from django.utils import timezone

from journeys.models import Stage, Task, Visit, WaitlistEntry
from journeys.services.waitlist import freed_slot_offer, slot_candidates
from tests.factories import PatientFactory
from tests.journeys.factories import VisitFactory, accepted_plan, tomorrow_at

pytestmark = pytest.mark.django_db


def make_overdue(stage, days):
    Stage.objects.filter(pk=stage.pk).update(
        window_start=timezone.localdate() - timedelta(days=days + 10),
        window_end=timezone.localdate() - timedelta(days=days),
    )


def test_overdue_stage_first_then_due_then_waitlist(clinic):
    due_plan, due_stages = accepted_plan(clinic)  # due today, not overdue
    clinic.patient = PatientFactory(home_branch=clinic.branch)
    overdue_plan, overdue_stages = accepted_plan(clinic)
    make_overdue(overdue_stages[0], days=20)
    waiting = WaitlistEntry.objects.create(
        patient=PatientFactory(), specialty=clinic.ortho, branch=clinic.branch
    )
    start = tomorrow_at(12)
    candidates = slot_candidates(
        branch_id=clinic.branch.pk,
        specialty=clinic.ortho,
        starts_at=start,
        ends_at=start + timedelta(minutes=30),
    )
    assert [c.reason for c in candidates] == ["overdue_stage", "due_stage", "waitlist"]
    assert candidates[0].patient_id == overdue_plan.patient_id
    assert candidates[0].stage_id == overdue_stages[0].pk
    assert candidates[1].patient_id == due_plan.patient_id
    assert candidates[2].waitlist_entry_id == waiting.pk


def test_patients_busy_at_that_time_are_skipped(clinic):
    _plan, stages = accepted_plan(clinic)
    make_overdue(stages[0], days=5)
    start = tomorrow_at(12)
    VisitFactory(
        patient=clinic.patient,
        doctor=clinic.surgeon,
        branch=clinic.branch,
        service=clinic.service,
        starts_at=start,
        ends_at=start + timedelta(minutes=30),
    )
    assert (
        slot_candidates(
            branch_id=clinic.branch.pk,
            specialty=clinic.ortho,
            starts_at=start,
            ends_at=start + timedelta(minutes=30),
        )
        == []
    )


def test_cancellation_opens_slot_offer_task_for_overdue_patient(clinic):
    _plan, stages = accepted_plan(clinic)
    make_overdue(stages[0], days=15)
    other = PatientFactory(home_branch=clinic.branch)
    cancelled = VisitFactory(
        patient=other,
        doctor=clinic.doctor,
        branch=clinic.branch,
        service=clinic.service,
        starts_at=tomorrow_at(15),
        ends_at=tomorrow_at(15) + timedelta(minutes=30),
        status=Visit.Status.CANCELLED_BY_PATIENT,
    )
    task = freed_slot_offer(visit=cancelled)
    assert task.kind == Task.Kind.SLOT_OFFER
    assert task.patient == clinic.patient
    assert stages[0].title in task.details
    assert freed_slot_offer(visit=cancelled) == task  # one task per freed slot
    assert Task.objects.filter(kind=Task.Kind.SLOT_OFFER).count() == 1


def test_past_slot_is_not_offered(clinic):
    start = timezone.now() - timedelta(hours=1)
    cancelled = VisitFactory(
        patient=clinic.patient,
        doctor=clinic.doctor,
        branch=clinic.branch,
        service=clinic.service,
        starts_at=start,
        ends_at=start + timedelta(minutes=30),
        status=Visit.Status.CANCELLED_BY_CLINIC,
    )
    assert freed_slot_offer(visit=cancelled) is None
