"""Every state change of a task, a handoff and a visit is in the audit log: who, when,
from → to, and the IP address and user agent of the request — also when a service, not
the view, wrote the row. A change made by a Celery task or another system job says so."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from clinic_crm.audit.models import AuditAction, AuditEvent, AuditSource
from journeys.models import Handoff, Task, Visit
from journeys.services.plans import plan_abandon
from journeys.services.waitlist import slot_offers_expire
from journeys.tasks import worklist_rules_run_task
from tests.conftest import verified_client_for

pytestmark = pytest.mark.django_db

UA = "Mozilla/5.0 (X11; Linux x86_64) ClinicTest/1.0"
IP = "10.20.30.40"
FROM = {"HTTP_USER_AGENT": UA, "REMOTE_ADDR": IP}
HTMX = {"HTTP_HX_REQUEST": "true"}


def changes_of(model, pk) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(
            object_type=model._meta.label, object_id=str(pk), action=AuditAction.UPDATE
        ).order_by("id")
    )


def assert_from_the_request(event: AuditEvent, actor) -> None:
    assert (event.actor, event.ip_address, event.user_agent) == (actor, IP, UA)
    assert event.source == AuditSource.REQUEST


def test_closing_a_task_records_who_from_where_and_open_to_done(world):
    w = world
    response = verified_client_for(w.curator_c).post(
        reverse("journeys:task_close", args=[w.task.pk]), {"outcome": "Booked for Monday"}, **FROM
    )
    assert response.status_code == 302
    [event] = changes_of(Task, w.task.pk)
    assert_from_the_request(event, w.curator_c)
    assert event.patient_id == w.p.pk
    assert event.details["changes"] == {"state": {"from": "open", "to": "done"}}
    assert event.path == reverse("journeys:task_close", args=[w.task.pk])


def test_handing_a_task_to_a_colleague_records_the_assignee_before_and_after(world, make_staff):
    w = world
    client = verified_client_for(w.curator_c)
    response = client.post(
        reverse("journeys:task_assign", args=[w.task.pk]), {"assignee": w.curator_a.pk}, **FROM
    )
    assert response.status_code == 302
    w.task.refresh_from_db()
    assert w.task.assignee == w.curator_a
    [event] = changes_of(Task, w.task.pk)
    assert_from_the_request(event, w.curator_c)
    assert event.details["changes"] == {"assignee": {"from": w.curator_c.pk, "to": w.curator_a.pk}}


def test_a_failed_call_records_the_attempt_and_the_task_going_in_progress(world):
    w = world
    verified_client_for(w.curator_c).post(
        reverse("journeys:task_attempt", args=[w.task.pk]), {"note": "no answer"}, **FROM
    )
    [event] = changes_of(Task, w.task.pk)
    assert_from_the_request(event, w.curator_c)
    assert event.details["changes"] == {
        "state": {"from": "open", "to": "in_progress"},
        "attempts": {"from": 0, "to": 1},
    }


def test_a_visit_status_step_carries_the_request_s_ip_and_user_agent(world):
    w = world
    response = verified_client_for(w.admin_c).post(
        reverse("journeys:visit_status", args=[w.visit_c.pk]), {"action": "confirm"}, **FROM, **HTMX
    )
    assert response.status_code == 200
    [event] = changes_of(Visit, w.visit_c.pk)
    assert_from_the_request(event, w.admin_c)
    assert event.details["status"] == {"from": "scheduled", "to": "confirmed"}


def test_booking_a_visit_for_a_handoff_records_the_handoff_booked(world):
    w = world
    day = timezone.localdate() + timedelta(days=2)
    data = {
        "patient": w.p.pk,
        "branch": w.c.pk,
        "doctor": w.doctor_c.pk,
        "service": w.service.pk,
        "handoff": w.handoff.pk,
        "date": f"{day:%Y-%m-%d}",
        "time": "11:00",
    }
    response = verified_client_for(w.admin_c).post(
        reverse("journeys:visit_book"), data, **FROM, **HTMX
    )
    assert response.status_code == 200
    w.handoff.refresh_from_db()
    assert w.handoff.state == Handoff.State.BOOKED
    [event] = changes_of(Handoff, w.handoff.pk)
    assert_from_the_request(event, w.admin_c)
    assert event.details["changes"] == {"state": {"from": "open", "to": "booked"}}
    # the visit itself: created, by the same request
    created = AuditEvent.objects.get(object_type="journeys.Visit", action=AuditAction.CREATE)
    assert_from_the_request(created, w.admin_c)


def test_completing_the_handoff_s_visit_records_the_handoff_completed(world):
    w = world
    Handoff.objects.filter(pk=w.handoff.pk).update(state=Handoff.State.BOOKED)
    Visit.objects.filter(pk=w.visit.pk).update(handoff=w.handoff)
    response = verified_client_for(w.doctor_c).post(
        reverse("journeys:visit_complete", args=[w.visit.pk]),
        {"next_step": "finish", "price_charged": "1", "observation_months": 6},
        **FROM,
    )
    assert response.status_code == 302
    w.handoff.refresh_from_db()
    assert w.handoff.state == Handoff.State.COMPLETED
    booked, completed = changes_of(Handoff, w.handoff.pk)
    assert booked.source == AuditSource.SYSTEM  # the test's own update, outside a request
    assert_from_the_request(completed, w.doctor_c)
    assert completed.details["changes"] == {"state": {"from": "booked", "to": "completed"}}
    [step] = changes_of(Visit, w.visit.pk)
    assert_from_the_request(step, w.doctor_c)
    assert step.details["status"] == {"from": "arrived", "to": "completed"}


def test_abandoning_a_plan_records_each_of_its_cancelled_tasks(world):
    w = world
    second = Task.objects.create(
        kind=Task.Kind.OTHER,
        patient=w.p,
        plan=w.plan,
        cause_key=f"second:{w.p.pk}",
        title="Second",
        due_at=timezone.now() + timedelta(hours=1),
        branch=w.a,
    )
    plan_abandon(actor=w.doctor_c, plan=w.plan, reason="Moved to another city")
    for task in (w.task, second):
        [event] = changes_of(Task, task.pk)
        assert event.details["changes"]["state"] == {"from": "open", "to": "cancelled"}
        assert event.patient_id == w.p.pk


def test_a_rule_run_by_a_celery_task_says_so_instead_of_an_ip(world):
    """The worklist rules close a stalled-journey task whose cause is gone (the world's
    task has a made-up one); the audit row names the Celery task, with no user or IP."""
    w = world
    worklist_rules_run_task.apply(kwargs={"patient_id": w.p.pk})
    w.task.refresh_from_db()
    assert w.task.state == Task.State.DONE
    event = changes_of(Task, w.task.pk)[-1]
    assert event.details["changes"]["state"] == {"from": "open", "to": "done"}
    assert (event.actor, event.ip_address, event.user_agent) == (None, None, "")
    assert event.source == AuditSource.TASK
    assert event.path == worklist_rules_run_task.name


def test_a_change_outside_any_request_or_task_is_marked_system(world):
    w = world
    offer = Task.objects.create(
        kind=Task.Kind.SLOT_OFFER,
        patient=w.p,
        cause_key=f"slot:{w.visit_c.pk}",
        title="Offer",
        due_at=timezone.now() - timedelta(hours=1),
        branch=w.c,
    )
    slot_offers_expire(now=w.visit_c.starts_at + timedelta(hours=1))
    [event] = changes_of(Task, offer.pk)
    assert event.source == AuditSource.SYSTEM
    assert (event.actor, event.ip_address) == (None, None)


def test_a_refused_change_leaves_no_audit_row(world):
    w = world
    verified_client_for(w.curator_c).post(
        reverse("journeys:task_close", args=[w.task.pk]), {"outcome": ""}, **FROM
    )
    w.task.refresh_from_db()
    assert w.task.state == Task.State.OPEN
    assert changes_of(Task, w.task.pk) == []
