"""The findings of the security probe (issue "Security: access by care relationship…"),
one test each: each failed before the access rule and passes with it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from clinic_crm.audit.models import AuditAction, AuditEvent
from clinic_crm.staff.roles import Role
from journeys.models import Task, Visit
from patients.models import Patient
from tests.conftest import verified_client_for
from tests.factories import PatientFactory, SpecialtyFactory

pytestmark = pytest.mark.django_db


# --- 1. A doctor of another branch can open and complete any visit --------------------


def test_a_doctor_of_another_branch_neither_opens_nor_completes_a_visit(world):
    w = world
    doctor = verified_client_for(w.attackers[Role.DOCTOR])
    url = reverse("journeys:visit_complete", args=[w.visit.pk])
    response = doctor.get(url)
    assert response.status_code == 404
    assert w.p.last_name not in response.content.decode()
    response = doctor.post(
        url, {"next_step": "finish", "price_charged": "1", "observation_months": 6}
    )
    assert response.status_code == 404
    w.visit.refresh_from_db()
    assert w.visit.status == Visit.Status.ARRIVED


def test_a_colleague_of_the_same_branch_may_read_but_only_the_visit_s_doctor_completes(
    world, make_staff
):
    w = world
    colleague = verified_client_for(make_staff(Role.DOCTOR, branch=w.a))
    url = reverse("journeys:visit_complete", args=[w.visit.pk])
    assert colleague.get(url).status_code == 403
    assert verified_client_for(w.doctor_c).get(url).status_code == 200


def test_the_visit_completion_page_is_audited(world):
    w = world
    verified_client_for(w.doctor_c).get(reverse("journeys:visit_complete", args=[w.visit.pk]))
    read = AuditEvent.objects.get(action=AuditAction.READ, object_id=str(w.visit.pk))
    assert read.patient_id == w.p.pk
    assert read.details["page"] == "visit completion"


# --- 2. Curators work across branches -------------------------------------------------


def test_a_curator_of_another_branch_cannot_close_a_task(world):
    w = world
    response = verified_client_for(w.attackers[Role.CURATOR]).post(
        reverse("journeys:task_close", args=[w.task.pk]), {"outcome": "closed by a stranger"}
    )
    assert response.status_code == 404
    w.task.refresh_from_db()
    assert w.task.state == Task.State.OPEN


def test_a_curator_closes_neither_a_colleague_s_task_nor_another_branch_s_unassigned_one(
    world, make_staff
):
    w = world
    colleague = verified_client_for(make_staff(Role.CURATOR, branch=w.a))
    # Assigned to curator C: a curator of the patient's own branch sees it, can't close it.
    response = colleague.post(
        reverse("journeys:task_close", args=[w.task.pk]), {"outcome": "not mine"}
    )
    assert response.status_code == 403
    w.task.refresh_from_db()
    assert w.task.state == Task.State.OPEN


def _unassigned(patient, branch, key):
    return Task.objects.create(
        kind=Task.Kind.RECALL_DUE,
        patient=patient,
        cause_key=key,
        title=f"Invite {key}",
        due_at=timezone.now() + timedelta(days=1),
        branch=branch,
    )


def test_unassigned_tasks_belong_to_a_branch_and_show_only_there(world, make_staff):
    w = world
    ours = _unassigned(PatientFactory(home_branch=w.b), w.b, "ours")
    theirs = _unassigned(w.p, w.a, "theirs")
    curator = w.attackers[Role.CURATOR]
    page = verified_client_for(curator).get(reverse("journeys:worklist")).content.decode()
    assert "Invite ours" in page
    assert "Invite theirs" not in page
    assert w.p.last_name not in page
    # A curator of the branch takes an unassigned task of it; not one of another branch.
    client = verified_client_for(curator)
    assert (
        client.post(reverse("journeys:task_close", args=[theirs.pk]), {"outcome": "x"}).status_code
        == 404
    )
    client.post(reverse("journeys:task_close", args=[ours.pk]), {"outcome": "Booked"})
    ours.refresh_from_db()
    assert ours.state == Task.State.DONE


def test_a_task_written_without_a_branch_takes_its_plan_s_or_the_patient_s(world):
    w = world
    with_plan = Task.objects.create(
        kind=Task.Kind.OTHER,
        patient=w.p,
        plan=w.plan,
        cause_key="with-plan",
        title="x",
        due_at=timezone.now(),
    )
    without = Task.objects.create(
        kind=Task.Kind.OTHER,
        patient=w.other_card,
        cause_key="bare",
        title="x",
        due_at=timezone.now(),
    )
    with_plan.refresh_from_db()
    without.refresh_from_db()
    assert with_plan.branch_id == w.plan.branch_id
    assert without.branch_id == w.other_card.home_branch_id


def test_the_duplicate_warning_names_no_patient_of_another_branch(world):
    w = world
    client = verified_client_for(w.attackers[Role.CURATOR])
    response = client.post(
        reverse("patients:create"),
        {
            "last_name": "Новая",
            "first_name": "Пациентка",
            "phone": w.p.phone,  # the other branch's patient's phone
            "preferred_language": "ru",
            "time_zone": "Europe/Moscow",
            "home_branch": w.b.pk,
        },
    )
    body = response.content.decode()
    assert 'data-testid="hidden-duplicates"' in body
    for leak in (w.p.last_name, w.p.first_name, w.p.birth_date.strftime("%d.%m.%Y"), f"#{w.p.pk}"):
        assert leak not in body
    assert not Patient.objects.filter(last_name="Новая").exists()  # asked to check first


def test_a_family_link_to_another_branch_s_card_says_no_such_card(world, make_staff):
    w = world
    mine = PatientFactory(home_branch=w.b)
    client = verified_client_for(w.attackers[Role.CURATOR])
    response = client.post(
        reverse("patients:family_link", args=[mine.pk]), {"relative": w.p.pk}, follow=True
    )
    missing = client.post(
        reverse("patients:family_link", args=[mine.pk]), {"relative": 10**9}, follow=True
    )
    # The same answer for a card that exists elsewhere and one that doesn't.
    assert _messages(response)
    assert _messages(response) == _messages(missing)
    mine.refresh_from_db()
    assert mine.family_group_id is None


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_the_routing_queue_shows_only_the_user_s_branches(world):
    w = world
    client = verified_client_for(w.attackers[Role.CURATOR])
    assert client.get(reverse("journeys:routing_queue") + f"?branch={w.a.pk}").status_code == 404
    page = client.get(reverse("journeys:routing_queue") + "?branch=").content.decode()
    assert w.p.last_name not in page


def test_an_all_branch_administrator_reads_every_queue(world, make_staff):
    w = world
    desk = verified_client_for(make_staff(Role.ADMINISTRATOR, branch=None, all_branches=True))
    page = desk.get(reverse("journeys:routing_queue") + "?branch=").content.decode()
    assert w.p.last_name in page  # the open handoff at branch A


# --- 3. Staff lose their own patients ---------------------------------------------------


def test_a_doctor_opens_the_timeline_of_a_patient_from_their_today_list(world):
    w = world
    client = verified_client_for(w.doctor_c)
    home = client.get(reverse("staff:home")).content.decode()
    timeline = reverse("journeys:timeline", args=[w.p.pk])
    assert timeline in home
    assert client.get(timeline).status_code == 200


def test_after_completing_with_a_handoff_the_doctor_lands_on_the_timeline(world):
    w = world
    client = verified_client_for(w.doctor_c)
    response = client.post(
        reverse("journeys:visit_complete", args=[w.visit.pk]),
        {
            "next_step": "handoff",
            "price_charged": "1000",
            "to_specialty": SpecialtyFactory(name="Surgery").pk,
            "handoff_reason": "Wisdom tooth",
            "handoff_due": (timezone.localdate() + timedelta(days=10)).isoformat(),
        },
        follow=True,
    )
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("journeys:timeline", args=[w.p.pk])


# --- 6. No size limit on text fields -------------------------------------------------------


def test_a_megabyte_journey_note_is_refused_with_its_limit(world):
    w = world
    client = verified_client_for(w.curator_c)
    before = w.p.journey_events.count()
    response = client.post(
        reverse("journeys:note_add", args=[w.p.pk]), {"text": "я" * 1_000_000}, follow=True
    )
    assert response.status_code == 200
    assert w.p.journey_events.count() == before
    text = " ".join(_messages(response))
    assert "4000" in text


def test_a_nul_byte_in_a_task_outcome_is_refused_not_a_server_error(world):
    w = world
    response = verified_client_for(w.curator_c).post(
        reverse("journeys:task_close", args=[w.task.pk]), {"outcome": "ok\x00"}, follow=True
    )
    assert response.status_code == 200
    w.task.refresh_from_db()
    assert w.task.state == Task.State.OPEN


# --- 7. Dates and page numbers out of range ------------------------------------------------


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "2026-02-30", "x" * 50])
def test_extreme_dates_on_the_calendar_and_dashboard_are_not_server_errors(world, day, make_staff):
    w = world
    admin = verified_client_for(w.admin_c)
    for url in (
        f"/calendar/?date={day}",
        f"/calendar/week/?date={day}",
        f"/calendar/slots/?service={w.service.pk}&date={day}",
        f"/visits/book/?date={day}&time=10:00&branch={w.c.pk}&service={w.service.pk}",
    ):
        assert admin.get(url, headers={"HX-Request": "true"}).status_code < 500, url
    manager = verified_client_for(make_staff(Role.MANAGER))
    for url in (
        f"/metrics/dashboard/?start={day}&end={day}",
        f"/metrics/?start={day}",
        f"/checklists/?date_from={day}",
        f"/messages/?date_from={day}",
        f"/audit/?date_to={day}",
    ):
        response = manager.get(url)
        assert response.status_code in (200, 400), url


def test_page_numbers_past_the_end_are_404(world, make_staff):
    manager = verified_client_for(make_staff(Role.MANAGER))
    for url in (
        "/patients/?page=99999999999999999999",
        "/patients/?page=500",
        "/patients/?page=-3",
        "/audit/?page=99999999999999999999",
        "/messages/?page=99999999999999999999",
        "/messages/?page=400",
        "/api/patients/?page=99999999999999999999",
    ):
        assert manager.get(url).status_code == 404, url
