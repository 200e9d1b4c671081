"""Finding a patient and reading their journey: live search, the card, the doctor's
timeline, and the patient's own calendar behind a signed link — in a real browser."""

import pytest
from playwright.sync_api import expect

from clinic_crm.audit.models import AuditEvent
from journeys.patient_links import calendar_path
from tests.e2e.conftest import log_in
from tests.factories import PatientFactory
from tests.journeys.factories import accepted_plan

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_doctor_finds_the_patient_and_reads_the_timeline(page, clinic, screenshot):
    plan, stages = accepted_plan(clinic, stages=3)
    PatientFactory(last_name="Петрова", first_name="Анна")  # must not match "ива"
    log_in(page, clinic.doctor)
    page.goto("/patients/")
    fragment = f"{clinic.patient.last_name[:4]} {clinic.patient.first_name[:3]}".lower()
    with page.expect_response(lambda r: "/patients/?q=" in r.url):
        page.get_by_role("searchbox").fill(fragment)  # HTMX live search, no reload
    rows = page.locator("#patient-rows")
    expect(rows).to_contain_text(clinic.patient.full_name)
    expect(rows).not_to_contain_text("Петрова Анна")
    screenshot("patient-search")

    rows.get_by_text(clinic.patient.full_name).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(clinic.patient.last_name)
    page.get_by_test_id("open-timeline").click()
    card = page.get_by_test_id("plan-card")
    expect(card).to_contain_text(plan.title)
    for stage in stages:
        expect(card).to_contain_text(stage.title)
    screenshot("patient-timeline")
    assert AuditEvent.objects.filter(
        actor=clinic.doctor, patient_id=clinic.patient.pk, details__page="timeline"
    ).exists()


def test_patient_opens_their_calendar_by_the_signed_link(page, clinic, screenshot):
    plan, stages = accepted_plan(clinic, stages=2)
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.goto(calendar_path(patient_id=clinic.patient.pk))
    journey = page.get_by_test_id("patient-plan")
    for stage in stages:
        expect(journey).to_contain_text(stage.title)
    screenshot("patient-calendar-mobile")
    page.goto(calendar_path(patient_id=clinic.patient.pk)[:-3] + "xyz/")
    expect(page.locator("body")).not_to_contain_text(stages[0].title)
