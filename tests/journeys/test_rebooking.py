"""Nobody is lost after a no-show or a cancellation: the stage is to be booked again, at
the top of the routing queue, with a task for the curator; a freed slot's offer closes
when the slot is taken and expires when its time has passed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from journeys.models import Stage, Task, Visit
from journeys.selectors import routing_queue
from journeys.services.visit_status import (
    visit_cancel,
    visit_mark_no_show,
    visit_reschedule_request,
)
from journeys.services.visits import visit_book, visit_move
from journeys.services.waitlist import slot_offers_expire
from journeys.services.worklist import worklist_rules_run
from tests.conftest import verified_client_for
from tests.factories import PatientFactory
from tests.journeys.factories import VisitFactory, accepted_plan, clinic_visit

pytestmark = pytest.mark.django_db


def _booked_stage_visit(c, *, hours_ago=1):
    plan, stages = accepted_plan(c)
    start = timezone.now() - timedelta(hours=hours_ago)
    visit = clinic_visit(c, start, stage=stages[0])
    Stage.objects.filter(pk=stages[0].pk).update(
        status=Stage.Status.BOOKED, window_start=timezone.localdate() + timedelta(days=20)
    )
    return plan, stages[0], visit


def test_a_no_show_puts_the_stage_back_first_in_the_routing_queue_with_a_task(clinic):
    c = clinic
    plan, stage, visit = _booked_stage_visit(c)
    assert not [i for i in routing_queue(branch_id=c.branch.pk) if i.stage_id == stage.pk]

    visit_mark_no_show(actor=c.admin, visit=visit)

    stage.refresh_from_db()
    assert stage.status == Stage.Status.PLANNED
    assert stage.window_start == timezone.localtime(visit.starts_at).date()  # due since then
    items = routing_queue(branch_id=c.branch.pk)
    mine = [i for i in items if i.stage_id == stage.pk]
    assert mine
    assert mine[0].due <= timezone.localdate()
    task = Task.objects.get(kind=Task.Kind.REBOOK, patient=c.patient)
    assert task.assignee == c.curator
    assert task.branch_id == c.branch.pk

    # Through the pages the staff use.
    queue = verified_client_for(c.admin).get(reverse("journeys:routing_queue")).content.decode()
    assert c.patient.last_name in queue
    worklist = verified_client_for(c.curator).get(reverse("journeys:worklist")).content.decode()
    with translation.override("ru"):  # the page's language: Russian by default
        assert task.display_title in worklist

    # Booking the stage again takes it off the queue; the task closes with the rules.
    visit_book(
        actor=c.admin,
        patient=c.patient,
        doctor=c.doctor,
        branch=c.branch,
        service=c.service,
        starts_at=(timezone.localtime() + timedelta(days=2)).replace(
            hour=10, minute=0, second=0, microsecond=0
        ),
        stage=stage,
    )
    assert not [i for i in routing_queue(branch_id=c.branch.pk) if i.stage_id == stage.pk]


def test_a_no_show_without_a_plan_opens_a_task_for_the_branch_s_front_desk(clinic):
    c = clinic
    start = timezone.now() - timedelta(hours=2)
    visit = clinic_visit(c, start)
    visit_mark_no_show(actor=c.admin, visit=visit)
    task = Task.objects.get(kind=Task.Kind.REBOOK)
    assert task.assignee is None
    assert task.branch_id == c.branch.pk
    # Marking twice can't happen, and the rules running again open nothing more.
    worklist_rules_run(patient_id=c.patient.pk)
    assert Task.objects.filter(kind=Task.Kind.REBOOK).count() == 1


def test_cancelling_a_stage_s_visit_puts_the_stage_back_with_a_task(clinic):
    c = clinic
    plan, stage, visit = _booked_stage_visit(c, hours_ago=-48)  # two days ahead
    visit_cancel(actor=c.admin, visit=visit, by_patient=True, reason="Ill")
    stage.refresh_from_db()
    assert stage.status == Stage.Status.PLANNED
    assert stage.window_start == timezone.localtime(visit.starts_at).date()
    assert Task.objects.filter(kind=Task.Kind.REBOOK, assignee=c.curator).count() == 1


def test_a_reschedule_request_opens_its_booking_request_only(clinic):
    c = clinic
    plan, stage, visit = _booked_stage_visit(c, hours_ago=-48)
    visit_reschedule_request(visit=visit, note="Next week")
    kinds = list(Task.objects.values_list("kind", flat=True))
    assert kinds == [Task.Kind.BOOKING_REQUEST]


def _freed_slot_with_offer(c):
    """A future visit cancelled, and a patient with an overdue stage offered its slot."""
    plan, stages = accepted_plan(c)
    Stage.objects.filter(pk=stages[0].pk).update(
        window_start=timezone.localdate() - timedelta(days=30),
        window_end=timezone.localdate() - timedelta(days=16),
    )
    start = (timezone.localtime() + timedelta(days=1)).replace(
        hour=11, minute=0, second=0, microsecond=0
    )
    leaving = PatientFactory(home_branch=c.branch)
    visit = VisitFactory(
        patient=leaving,
        doctor=c.doctor,
        branch=c.branch,
        service=c.service,
        starts_at=start,
        ends_at=start + timedelta(minutes=30),
    )
    visit_cancel(actor=c.admin, visit=visit, by_patient=True, reason="Away")
    offer = Task.objects.get(kind=Task.Kind.SLOT_OFFER)
    assert offer.state == Task.State.OPEN
    return visit, offer, stages[0]


def test_the_offer_of_a_freed_slot_closes_when_the_slot_is_booked(clinic):
    c = clinic
    freed, offer, stage = _freed_slot_with_offer(c)
    # Booked by someone else, not from the offer: the slot is taken all the same.
    visit_book(
        actor=c.admin,
        patient=PatientFactory(home_branch=c.branch),
        doctor=c.doctor,
        branch=c.branch,
        service=c.service,
        starts_at=freed.starts_at,
    )
    offer.refresh_from_db()
    assert offer.state == Task.State.DONE
    assert "Booked" in offer.outcome


def test_a_visit_moved_into_a_freed_slot_closes_its_offer(clinic):
    c = clinic
    freed, offer, stage = _freed_slot_with_offer(c)
    later = freed.starts_at + timedelta(days=2)
    moving = VisitFactory(
        patient=PatientFactory(home_branch=c.branch),
        doctor=c.doctor,
        branch=c.branch,
        service=c.service,
        starts_at=later,
        ends_at=later + timedelta(minutes=30),
    )
    visit_move(actor=c.admin, visit=moving, starts_at=freed.starts_at)
    offer.refresh_from_db()
    assert offer.state == Task.State.DONE


def test_the_offer_expires_when_the_slot_s_time_has_passed(clinic):
    c = clinic
    freed, offer, stage = _freed_slot_with_offer(c)
    assert slot_offers_expire() == 0
    assert slot_offers_expire(now=freed.starts_at + timedelta(minutes=1)) == 1
    offer.refresh_from_db()
    assert offer.state == Task.State.CANCELLED
    assert "Expired" in offer.outcome


def test_rules_expire_offers_too(clinic, time_machine):
    c = clinic
    freed, offer, stage = _freed_slot_with_offer(c)
    time_machine.move_to(freed.starts_at + timedelta(hours=1))
    results = worklist_rules_run()
    assert results["rule_slot_offers_expire"].closed == 1
    assert Visit.objects.get(pk=freed.pk).status == Visit.Status.CANCELLED_BY_PATIENT
