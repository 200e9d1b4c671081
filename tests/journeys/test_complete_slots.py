"""The visit completion form offers free slots for the next visit: the doctor's own in the
next stage's expected window first, the specialty's other doctors too; a picked slot's
values book the visit through the ordinary form."""

from __future__ import annotations

import html
import json
import re
from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from clinic_crm.audit.models import AuditAction, AuditEvent
from clinic_crm.staff.roles import Role
from journeys.models import Stage, Visit
from tests.conftest import verified_client_for
from tests.journeys.factories import accepted_plan, arrived_visit, full_week

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _client(user):
    client = verified_client_for(user)
    client.cookies["django_language"] = "en"
    return client


def _offers(client, visit, **params):
    response = client.get(reverse("journeys:visit_complete_slots", args=[visit.pk]), params, **HTMX)
    assert response.status_code == 200
    return response.content.decode()


def _fills(body: str, testid: str = "offer-slot") -> list[dict]:
    return [
        json.loads(html.unescape(raw))
        for raw in re.findall(rf'data-testid="{testid}"[^>]*? data-fill="([^"]+)"', body)
    ]


def _days(body: str) -> list[tuple[str, str]]:
    return re.findall(r'data-testid="offer-day" data-date="([\d-]+)" data-in-window="(\d)"', body)


@pytest.fixture
def colleague(clinic, make_staff):
    """Another orthodontist at the branch; the surgeon is of another specialty."""
    doctor = make_staff(Role.DOCTOR, branch=clinic.branch)
    doctor.profile.specialty = clinic.ortho
    doctor.profile.save()
    full_week(doctor, clinic.branch)
    return doctor


def test_the_next_stage_s_window_comes_first_and_nothing_before_it(clinic):
    _plan, stages = accepted_plan(clinic)
    visit = arrived_visit(clinic, stage=stages[0])
    today = timezone.localdate()
    Stage.objects.filter(pk=stages[1].pk).update(
        window_start=today + timedelta(days=10), window_end=today + timedelta(days=12)
    )
    body = _offers(_client(clinic.doctor), visit)
    days = _days(body)
    expected = [(f"{today + timedelta(days=n):%Y-%m-%d}", "1") for n in (10, 11, 12)]
    expected += [(f"{today + timedelta(days=n):%Y-%m-%d}", "0") for n in (13, 14)]
    assert days == expected
    assert 'data-testid="window-note"' in body
    fills = _fills(body)
    assert fills[0] == {
        "next_starts_at": f"{today + timedelta(days=10):%Y-%m-%d}T08:00",
        "next_doctor": str(clinic.doctor.pk),
    }
    assert all(f["next_doctor"] == str(clinic.doctor.pk) for f in fills)


def test_the_specialty_s_other_doctors_are_offered_too(clinic, colleague):
    _plan, stages = accepted_plan(clinic)
    visit = arrived_visit(clinic, stage=stages[0])
    body = _offers(_client(clinic.doctor), visit)
    offered = set(re.findall(r'data-testid="offer-colleague" data-doctor-id="(\d+)"', body))
    assert offered == {str(colleague.pk)}  # not the surgeon, not the doctor themself
    colleague_fills = _fills(body, "colleague-slot")
    assert len(colleague_fills) == 4
    assert {f["next_doctor"] for f in colleague_fills} == {str(colleague.pk)}


def test_choosing_another_doctor_or_service_offers_their_time(clinic):
    visit = arrived_visit(clinic)
    long_one = clinic.service.__class__.objects.create(
        name="Long", specialty=clinic.surgery, duration_minutes=120, price=1
    )
    body = _offers(
        _client(clinic.doctor), visit, next_doctor=clinic.surgeon.pk, next_service=long_one.pk
    )
    fills = _fills(body)
    assert {f["next_doctor"] for f in fills} == {str(clinic.surgeon.pk)}
    last_of_a_full_day = [f["next_starts_at"][-5:] for f in fills][-1]
    assert last_of_a_full_day == "18:00"  # 120 minutes before 20:00


def test_without_a_plan_the_next_two_weeks_are_offered(clinic, time_machine):
    visit = arrived_visit(clinic)
    body = _offers(_client(clinic.doctor), visit)
    days = _days(body)
    assert len(days) == 5
    assert all(flag == "0" for _day, flag in days)
    assert 'data-testid="window-note"' not in body
    first = datetime.fromisoformat(_fills(body)[0]["next_starts_at"])
    assert first.date() >= timezone.localdate()


def test_a_window_already_passed_says_book_as_soon_as_possible(clinic):
    _plan, stages = accepted_plan(clinic)
    visit = arrived_visit(clinic, stage=stages[0])
    today = timezone.localdate()
    Stage.objects.filter(pk=stages[1].pk).update(
        window_start=today - timedelta(days=20), window_end=today - timedelta(days=5)
    )
    body = _offers(_client(clinic.doctor), visit)
    assert 'data-testid="window-passed"' in body
    assert "book as soon as possible" in body
    assert _days(body)[0][0] <= f"{today + timedelta(days=1):%Y-%m-%d}"


def test_a_busy_time_is_not_offered(clinic):
    _plan, stages = accepted_plan(clinic)
    visit = arrived_visit(clinic, stage=stages[0])
    today = timezone.localdate()
    Stage.objects.filter(pk=stages[1].pk).update(
        window_start=today + timedelta(days=3), window_end=today + timedelta(days=4)
    )
    starts = timezone.make_aware(datetime.combine(today + timedelta(days=3), datetime.min.time()))
    starts = starts.replace(hour=9)
    Visit.objects.create(
        patient=clinic.patient,
        doctor=clinic.doctor,
        branch=clinic.branch,
        service=clinic.service,
        starts_at=starts,
        ends_at=starts + timedelta(minutes=30),
    )
    times = [f["next_starts_at"] for f in _fills(_offers(_client(clinic.doctor), visit))]
    day = f"{today + timedelta(days=3):%Y-%m-%d}"
    assert f"{day}T08:30" in times
    assert f"{day}T08:45" not in times
    assert f"{day}T09:00" not in times
    assert f"{day}T09:15" not in times
    assert f"{day}T09:30" in times


def test_a_picked_slot_books_the_next_visit_through_the_form(clinic, colleague):
    _plan, stages = accepted_plan(clinic)
    visit = arrived_visit(clinic, stage=stages[0])
    client = _client(clinic.doctor)
    picked = _fills(_offers(client, visit), "colleague-slot")[1]
    response = client.post(
        reverse("journeys:visit_complete", args=[visit.pk]),
        {
            "next_step": "book",
            "price_charged": "1000",
            "next_service": clinic.service.pk,
            "next_stage": stages[1].pk,
            **picked,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    booked = Visit.objects.exclude(pk=visit.pk).get(stage=stages[1])
    assert booked.doctor == colleague
    assert f"{timezone.localtime(booked.starts_at):%Y-%m-%dT%H:%M}" == picked["next_starts_at"]


def test_the_completion_page_loads_the_offers_in_the_next_visit_box(clinic):
    visit = arrived_visit(clinic)
    page = _client(clinic.doctor).get(reverse("journeys:visit_complete", args=[visit.pk]))
    body = page.content.decode()
    assert f'hx-get="{reverse("journeys:visit_complete_slots", args=[visit.pk])}"' in body
    assert 'hx-include="#id_next_doctor, #id_next_service, #id_next_stage"' in body


def test_only_the_visit_s_doctor_sees_the_offers_and_the_read_is_audited(clinic):
    visit = arrived_visit(clinic)
    url = reverse("journeys:visit_complete_slots", args=[visit.pk])
    assert _client(clinic.surgeon).get(url, **HTMX).status_code in (403, 404)
    assert _client(clinic.admin).get(url, **HTMX).status_code == 403
    before = AuditEvent.objects.filter(patient_id=clinic.patient.pk, action=AuditAction.READ)
    count = before.count()
    _offers(_client(clinic.doctor), visit)
    reads = AuditEvent.objects.filter(patient_id=clinic.patient.pk, action=AuditAction.READ)
    assert reads.count() == count + 1


def test_the_offers_cost_the_same_queries_however_far_the_window(
    clinic, colleague, django_assert_max_num_queries
):
    _plan, stages = accepted_plan(clinic)
    visit = arrived_visit(clinic, stage=stages[0])
    client = _client(clinic.doctor)
    today = timezone.localdate()
    for days in (1, 40):
        Stage.objects.filter(pk=stages[1].pk).update(
            window_start=today, window_end=today + timedelta(days=days)
        )
        with django_assert_max_num_queries(16):
            _offers(client, visit)
