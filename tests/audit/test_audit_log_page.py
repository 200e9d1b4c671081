"""The audit log page as a manager reads it: times in the clinic's zone, each record named
by what a person recognises, who changed what from → to and from where, filters, and a
constant number of queries whatever the page holds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic_crm.audit.models import AuditAction, AuditEvent, AuditSource
from clinic_crm.audit.services import audit_record
from clinic_crm.messaging.models import Message
from clinic_crm.staff.roles import Role
from journeys.models import Handoff, Task
from patients.models import ConsentRecord
from tests.conftest import verified_client_for
from tests.factories import BranchFactory, PatientFactory, SpecialtyFactory
from tests.journeys.factories import (
    HandoffFactory,
    PlanOptionFactory,
    ServiceFactory,
    StageFactory,
    TreatmentPlanFactory,
    VisitFactory,
)

pytestmark = pytest.mark.django_db

URL = "/audit/"


def page_for(user, language="en", **params):
    client = verified_client_for(user)
    client.cookies["django_language"] = language
    response = client.get(URL, params)
    assert response.status_code == 200
    return response


def records(response) -> list[str]:
    """What the rows about records say (not the login rows of the test's own client)."""
    return [row.record for row in response.context["rows"] if row.event.object_type]


@pytest.fixture
def ivanova():
    return PatientFactory(last_name="Иванова", first_name="Анна", middle_name="Петровна")


@pytest.fixture
def ural_visit(ivanova, make_staff):
    """A visit in a branch two hours east of Moscow: 05:00 UTC is 10:00 there."""
    branch = BranchFactory(name="Ural", time_zone="Asia/Yekaterinburg")
    service = ServiceFactory(name="Consultation", specialty=SpecialtyFactory(name="Therapy"))
    start = datetime(2026, 3, 12, 5, 0, tzinfo=UTC)
    return VisitFactory(
        patient=ivanova,
        doctor=make_staff(Role.DOCTOR),
        branch=branch,
        service=service,
        starts_at=start,
        ends_at=start + timedelta(minutes=30),
    )


def test_times_are_shown_in_the_clinic_s_zone_not_utc(manager, ivanova):
    AuditEvent.objects.create(
        action=AuditAction.READ,
        actor=manager,
        object_type="patients.Patient",
        object_id=str(ivanova.pk),
        patient_id=ivanova.pk,
        at=datetime(2026, 3, 12, 7, 0, 5, tzinfo=UTC),
    )
    page = page_for(manager).content.decode()
    assert "12.03.2026 10:00:05" in page  # Europe/Moscow, UTC+3
    assert "07:00:05" not in page
    assert "Time (Europe/Moscow)" in page


def test_a_visit_is_named_by_the_patient_its_local_time_and_service(manager, ural_visit):
    audit_record(action=AuditAction.UPDATE, actor=manager, obj=ural_visit)
    response = page_for(manager)
    assert records(response)[0] == "Иванова А. П. — visit 12.03.2026 10:00, Consultation"
    assert "journeys.Visit #" not in response.content.decode()
    [row] = [r for r in response.context["rows"] if r.event.object_type]
    assert row.patient == "Иванова Анна Петровна"


def test_records_are_named_in_russian_on_a_russian_page(manager, ural_visit):
    audit_record(action=AuditAction.UPDATE, actor=manager, obj=ural_visit)
    response = page_for(manager, language="ru")
    assert records(response)[0] == "Иванова А. П. — визит 12.03.2026 10:00, Consultation"


def test_each_kind_of_record_is_named_as_a_person_recognises_it(manager, ivanova, make_staff):
    doctor = make_staff(Role.DOCTOR)
    plan = TreatmentPlanFactory(patient=ivanova, title="Implant", lead_doctor=doctor)
    stage = StageFactory(option=PlanOptionFactory(plan=plan), title="Surgery")
    handoff = HandoffFactory(
        patient=ivanova,
        from_doctor=doctor,
        to_specialty=SpecialtyFactory(name="Orthopedics"),
        due_date=date(2026, 4, 1),
    )
    task = Task.objects.create(
        kind=Task.Kind.NEGATIVE_FEEDBACK,
        patient=ivanova,
        cause_key="test:names",
        title="Call",
        due_at=datetime(2026, 4, 2, 9, 30, tzinfo=UTC),
    )
    consent = ConsentRecord.objects.create(
        patient=ivanova, kind="reminders", channel="sms", granted=True
    )
    message = Message.objects.create(
        patient=ivanova,
        kind="reminder",
        channel="sms",
        language="ru",
        body="…",
        scheduled_for=datetime(2026, 4, 3, 6, 0, tzinfo=UTC),
        due_at=datetime(2026, 4, 3, 6, 0, tzinfo=UTC),
        idempotency_key="test:names",
    )
    first = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    for obj in (ivanova, plan, stage, handoff, task, consent, message, doctor):
        audit_record(action=AuditAction.UPDATE, actor=manager, obj=obj)
    response = page_for(manager)
    shown = [
        row.record
        for row in response.context["rows"]
        if row.event.id > first and row.event.object_type
    ]
    assert shown == [
        f"{doctor.first_name} {doctor.last_name} ({doctor.email})",
        "Иванова А. П. — message: Visit reminder, SMS, 03.04.2026 09:00",
        "Иванова А. П. — consent: Reminders, SMS, granted",
        "Иванова А. П. — task “Negative feedback”, due 02.04.2026 12:30",
        "Иванова А. П. — handoff to Orthopedics, book by 01.04.2026",
        "Иванова А. П. — stage “Surgery” of the plan “Implant”",
        "Иванова А. П. — plan “Implant”",
        "Иванова Анна Петровна",
    ]


def test_a_record_that_is_gone_still_shows_its_label_and_id(manager):
    AuditEvent.objects.create(
        action=AuditAction.UPDATE, actor=manager, object_type="journeys.Visit", object_id="999999"
    )
    assert records(page_for(manager))[0] == "journeys.Visit #999999"


def test_a_change_shows_what_it_changed_from_and_to_by_name(manager, ivanova, make_staff):
    curator, colleague = make_staff(Role.CURATOR), make_staff(Role.CURATOR)
    task = Task.objects.create(
        kind=Task.Kind.OTHER,
        patient=ivanova,
        assignee=curator,
        cause_key="test:change",
        title="Call",
        due_at=timezone.now() + timedelta(hours=1),
    )
    Task.objects.filter(pk=task.pk).update(assignee=colleague, state=Task.State.IN_PROGRESS)
    response = page_for(manager)
    [row] = [
        r
        for r in response.context["rows"]
        if r.event.object_type == "journeys.Task" and r.event.action == AuditAction.UPDATE
    ]
    changes = {(c.field, c.before, c.after) for c in row.changes}
    assert changes == {
        ("state", "Open", "In progress"),
        ("assignee", f"{curator} ({curator.email})", f"{colleague} ({colleague.email})"),
    }
    body = response.content.decode()
    assert "Open → In progress" in body
    assert "system" in body  # changed outside a request


def test_the_row_shows_where_a_request_came_from(manager, ivanova):
    AuditEvent.objects.create(
        action=AuditAction.READ,
        actor=manager,
        object_type="patients.Patient",
        object_id=str(ivanova.pk),
        patient_id=ivanova.pk,
        ip_address="10.9.8.7",
        user_agent="Mozilla/5.0 Firefox/140.0",
        source=AuditSource.REQUEST,
    )
    body = page_for(manager).content.decode()
    assert "10.9.8.7" in body
    assert "Mozilla/5.0 Firefox/140.0" in body


def test_filters_by_kind_of_record_and_patient(manager, ivanova, ural_visit):
    other = PatientFactory(last_name="Петров")
    audit_record(action=AuditAction.READ, actor=manager, obj=other)
    audit_record(action=AuditAction.UPDATE, actor=manager, obj=ural_visit)
    visits = page_for(manager, object_type="journeys.Visit")
    assert [r.event.object_type for r in visits.context["rows"]] == ["journeys.Visit"]
    mine = page_for(manager, patient_id=other.pk)
    assert {r.event.patient_id for r in mine.context["rows"]} == {other.pk}
    bad = page_for(manager, object_type="nothing.Such")
    assert "object_type" in bad.context["form"].errors


def test_the_page_is_for_managers_only(make_staff):
    for role in (Role.DOCTOR, Role.CURATOR, Role.ADMINISTRATOR):
        assert verified_client_for(make_staff(role)).get(URL).status_code == 403


def test_reading_the_log_is_audited_with_the_patients_it_named(manager, ivanova):
    audit_record(action=AuditAction.READ, actor=manager, obj=ivanova)
    last = AuditEvent.objects.order_by("-id").first().pk
    page_for(manager)
    read = AuditEvent.objects.get(pk__gt=last, action=AuditAction.READ)
    assert read.details == {"page": "audit log", "patient_ids": [ivanova.pk]}


def _many_records(n: int, actor, make_staff) -> None:
    doctor = make_staff(Role.DOCTOR)
    specialty = SpecialtyFactory(name="Orthopedics")
    for i in range(n):
        patient = PatientFactory()
        plan = TreatmentPlanFactory(patient=patient, lead_doctor=doctor)
        stage = StageFactory(option=PlanOptionFactory(plan=plan))
        visit = VisitFactory(
            patient=patient,
            doctor=doctor,
            starts_at=timezone.now() + timedelta(days=1, hours=i),
            ends_at=timezone.now() + timedelta(days=1, hours=i, minutes=30),
        )
        handoff = Handoff.objects.create(
            patient=patient,
            from_doctor=doctor,
            to_specialty=specialty,
            reason="r",
            due_date=date(2026, 5, 1),
        )
        task = Task.objects.create(
            kind=Task.Kind.OTHER,
            patient=patient,
            assignee=actor,
            cause_key=f"many:{patient.pk}",
            title="t",
            due_at=timezone.now(),
        )
        Task.objects.filter(pk=task.pk).update(state=Task.State.DONE)
        for obj in (patient, plan, stage, visit, handoff):
            audit_record(action=AuditAction.READ, actor=actor, obj=obj)
        audit_record(
            action=AuditAction.READ,
            actor=actor,
            details={"page": "worklist", "patient_ids": [patient.pk]},
        )


def test_the_page_costs_the_same_queries_for_a_few_records_or_a_full_page(
    manager, make_staff, django_assert_max_num_queries
):
    client = verified_client_for(manager)
    _many_records(1, manager, make_staff)
    with CaptureQueriesContext(connection) as few:
        assert client.get(URL).status_code == 200
    _many_records(8, manager, make_staff)  # more than a page (50) of events of 7 kinds
    with CaptureQueriesContext(connection) as full:
        response = client.get(URL)
    assert len(response.context["rows"]) == 50
    assert len({row.event.object_type for row in response.context["rows"]}) >= 6
    assert len(full) == len(few)
    with django_assert_max_num_queries(len(few)):
        client.get(URL, {"page": 2})


def test_a_task_closed_from_the_worklist_is_named_by_its_patient(world, make_staff):
    """The whole path: a curator closes a task; the manager's log says whose task it was,
    who closed it, from where, and in the clinic's time."""
    w = world
    client = verified_client_for(w.curator_c)
    client.post(
        reverse("journeys:task_close", args=[w.task.pk]),
        {"outcome": "Booked"},
        HTTP_USER_AGENT="TestBrowser/1.0",
        REMOTE_ADDR="10.1.1.1",
    )
    response = page_for(make_staff(Role.MANAGER), object_type="journeys.Task")
    [row] = [r for r in response.context["rows"] if r.event.action == AuditAction.UPDATE]
    assert row.record.startswith(f"{w.p.last_name} {w.p.first_name[0]}.")
    assert "task “Stalled journey”" in row.record
    assert row.event.actor == w.curator_c
    body = response.content.decode()
    assert "10.1.1.1" in body
    assert "TestBrowser/1.0" in body
    local = timezone.localtime(row.event.at)
    assert local.strftime("%d.%m.%Y %H:%M:%S") in body
