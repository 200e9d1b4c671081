"""Timeline, plan pages, completing a visit, worklist and the patient's calendar link."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from clinic_crm.audit.models import AuditAction, AuditEvent
from journeys.models import TreatmentPlan, Visit
from journeys.patient_links import calendar_path
from journeys.services.plans import journey_note_add
from tests.conftest import verified_client_for
from tests.journeys.factories import VisitFactory, accepted_plan, arrived_visit, tomorrow_at

pytestmark = pytest.mark.django_db


def test_timeline_shows_plan_stages_visits_and_is_audited(clinic):
    plan, stages = accepted_plan(clinic)
    VisitFactory(
        patient=clinic.patient,
        doctor=clinic.doctor,
        branch=clinic.branch,
        service=clinic.service,
        stage=stages[0],
        starts_at=tomorrow_at(10),
        ends_at=tomorrow_at(10) + timedelta(minutes=30),
    )
    client = verified_client_for(clinic.doctor)
    response = client.get(f"/patients/{clinic.patient.pk}/timeline/")
    assert response.status_code == 200
    html = response.content.decode()
    assert plan.title in html
    assert stages[1].title in html
    assert response.context["t"].upcoming_visits[0].stage == stages[0]
    assert AuditEvent.objects.filter(
        action=AuditAction.READ, patient_id=clinic.patient.pk, actor=clinic.doctor
    ).exists()


def test_timeline_query_count_does_not_grow_with_events(clinic, django_assert_num_queries):
    accepted_plan(clinic)
    client = verified_client_for(clinic.doctor)
    client.get(f"/patients/{clinic.patient.pk}/timeline/")  # warm up session/caches

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(f"/patients/{clinic.patient.pk}/timeline/")
    for i in range(40):
        journey_note_add(actor=clinic.doctor, patient=clinic.patient, text=f"note {i}")
    for day in range(1, 6):
        start = timezone.now() - timedelta(days=day * 7)
        VisitFactory(
            patient=clinic.patient,
            doctor=clinic.doctor,
            branch=clinic.branch,
            service=clinic.service,
            starts_at=start,
            ends_at=start + timedelta(minutes=30),
            status=Visit.Status.COMPLETED,
        )
    accepted_plan(clinic)
    with CaptureQueriesContext(connection) as many:
        response = client.get(f"/patients/{clinic.patient.pk}/timeline/")
    assert len(response.context["t"].events) > 40
    assert len(many.captured_queries) == len(few.captured_queries)


def test_timeline_filter_by_event_kind_returns_partial(clinic):
    journey_note_add(actor=clinic.doctor, patient=clinic.patient, text="Only the note")
    accepted_plan(clinic)
    client = verified_client_for(clinic.doctor)
    response = client.get(
        f"/patients/{clinic.patient.pk}/timeline/",
        {"kind": "note", "fragment": "events"},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert "<html" not in html
    assert "Only the note" in html
    assert "Metal" not in html


def test_plan_flow_through_the_pages(clinic):
    client = verified_client_for(clinic.doctor)
    response = client.post(
        f"/patients/{clinic.patient.pk}/plans/new/",
        {
            "title": "Implant",
            "branch": clinic.branch.pk,
            "lead_doctor": clinic.doctor.pk,
            "curator": clinic.curator.pk,
            "observation_months": 12,
        },
    )
    plan = TreatmentPlan.objects.get(title="Implant")
    assert response["Location"] == f"/plans/{plan.pk}/"
    form = {
        "option-title": "Titanium implant",
        "option-cost_estimate": "90000",
        "option-duration_weeks": "16",
        "option-expected_result": "A tooth that lasts",
        "stages-TOTAL_FORMS": "3",
        "stages-INITIAL_FORMS": "0",
        "stages-MIN_NUM_FORMS": "1",
        "stages-MAX_NUM_FORMS": "1000",
        "stages-0-title": "Surgery",
        "stages-0-specialty": clinic.surgery.pk,
        "stages-0-offset_days": "0",
        "stages-0-window_days": "14",
        "stages-0-purpose": "Place the implant",
        "stages-1-title": "Crown",
        "stages-1-specialty": clinic.ortho.pk,
        "stages-1-offset_days": "90",
        "stages-1-window_days": "14",
        # an unused row, as the browser sends it
        "stages-2-offset_days": "0",
        "stages-2-window_days": "14",
    }
    assert client.post(f"/plans/{plan.pk}/options/new/", form).status_code == 302
    option = plan.options.get()
    assert list(option.stages.values_list("title", flat=True)) == ["Surgery", "Crown"]
    client.post(f"/plans/{plan.pk}/propose/")
    client.post(f"/plans/{plan.pk}/choose/", {"option": option.pk})
    plan.refresh_from_db()
    assert plan.status == "accepted"
    assert plan.chosen_option == option


def test_option_form_with_no_stage_shows_error_and_saves_nothing(clinic):
    plan, _ = accepted_plan(clinic)
    TreatmentPlan.objects.filter(pk=plan.pk).update(status="draft")
    client = verified_client_for(clinic.doctor)
    response = client.post(
        f"/plans/{plan.pk}/options/new/",
        {
            "option-title": "Nothing",
            "option-cost_estimate": "1",
            "option-duration_weeks": "1",
            "stages-TOTAL_FORMS": "1",
            "stages-INITIAL_FORMS": "0",
            "stages-MIN_NUM_FORMS": "1",
            "stages-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 400
    assert plan.options.count() == 1


def test_managers_and_curators_cannot_draft_plans(clinic):
    for user in (clinic.manager, clinic.curator, clinic.admin):
        response = verified_client_for(user).post(
            f"/patients/{clinic.patient.pk}/plans/new/", {"title": "X"}
        )
        assert response.status_code == 403
    assert not TreatmentPlan.objects.exists()


def test_complete_visit_form_requires_next_step(clinic):
    visit = arrived_visit(clinic)
    client = verified_client_for(clinic.doctor)
    response = client.post(f"/visits/{visit.pk}/complete/", {"price_charged": "100"})
    assert response.status_code == 400
    visit.refresh_from_db()
    assert visit.status == Visit.Status.ARRIVED
    response = client.post(
        f"/visits/{visit.pk}/complete/",
        {
            "price_charged": "100",
            "next_step": "handoff",
            "to_specialty": clinic.surgery.pk,
            "handoff_reason": "",
            "handoff_due": "",
        },
    )
    assert response.status_code == 400  # the handoff needs its reason and date
    response = client.post(
        f"/visits/{visit.pk}/complete/",
        {
            "price_charged": "100",
            "next_step": "handoff",
            "to_specialty": clinic.surgery.pk,
            "handoff_reason": "Extraction",
            "handoff_due": (timezone.localdate() + timedelta(days=7)).isoformat(),
        },
    )
    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.status == Visit.Status.COMPLETED


def test_worklist_and_routing_pages(clinic, django_assert_max_num_queries):
    accepted_plan(clinic)
    curator = verified_client_for(clinic.curator)
    assert curator.get("/worklist/").status_code == 200
    admin = verified_client_for(clinic.admin)
    response = admin.get("/routing/")
    assert response.status_code == 200
    assert clinic.patient.full_name in response.content.decode()
    assert verified_client_for(clinic.doctor).get("/routing/").status_code == 403
    for _ in range(5):
        accepted_plan(clinic)
    with django_assert_max_num_queries(13):
        admin.get("/routing/")


def test_patient_calendar_link_shows_plan_and_is_audited(clinic, client):
    _plan, stages = accepted_plan(clinic)
    VisitFactory(
        patient=clinic.patient,
        doctor=clinic.doctor,
        branch=clinic.branch,
        service=clinic.service,
        stage=stages[0],
        starts_at=tomorrow_at(10),
        ends_at=tomorrow_at(10) + timedelta(minutes=30),
    )
    response = client.get(calendar_path(patient_id=clinic.patient.pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert stages[0].purpose in html
    assert clinic.branch.address in html
    assert clinic.service.preparation in html
    assert clinic.patient.phone not in html
    assert AuditEvent.objects.filter(
        patient_id=clinic.patient.pk, actor=None, action=AuditAction.READ
    ).exists()


def test_patient_calendar_link_tampered_or_expired(clinic, client, settings):
    path = calendar_path(patient_id=clinic.patient.pk)
    tampered = path[:-3] + ("a" if path[-3] != "a" else "b") + path[-2:]
    assert client.get(tampered).status_code == 404
    with time_machine.travel(
        timezone.now() + timedelta(days=settings.PATIENT_LINK_MAX_AGE_DAYS + 1)
    ):
        assert client.get(path).status_code == 410


def test_doctor_of_another_branch_cannot_open_the_timeline(clinic, make_staff):
    from clinic_crm.staff.roles import Role
    from tests.factories import BranchFactory

    outsider = make_staff(Role.DOCTOR)
    outsider.profile.branch = BranchFactory(name="Elsewhere")
    outsider.profile.save()
    plan, _ = accepted_plan(clinic)
    client = verified_client_for(outsider)
    assert client.get(f"/patients/{clinic.patient.pk}/timeline/").status_code == 404
    assert client.get(f"/plans/{plan.pk}/").status_code == 404
    manager = verified_client_for(clinic.manager)
    assert manager.get(f"/patients/{clinic.patient.pk}/timeline/").status_code == 200
