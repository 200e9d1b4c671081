"""From the routing queue to a booked first stage, and a freed slot offered to the patient
whose stage is overdue — in a real browser."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from journeys.models import Stage, Visit
from tests.e2e.conftest import log_in
from tests.factories import PatientFactory
from tests.journeys.factories import VisitFactory, accepted_plan, tomorrow_at

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_administrator_books_first_stage_from_routing_queue(page, clinic, screenshot):
    plan, stages = accepted_plan(clinic, stages=3)
    log_in(page, clinic.admin)
    page.goto("/routing/")
    row = page.get_by_test_id("routing-queue").locator("tr", has_text=clinic.patient.last_name)
    expect(row).to_contain_text(stages[0].title)
    expect(page.get_by_test_id("routing-queue")).not_to_contain_text(stages[1].title)
    screenshot("routing-queue")
    row.get_by_test_id("find-slot").click()

    expect(page).to_have_url(re.compile(r"/calendar/slots/"))
    expect(page.get_by_test_id("booking-for")).to_contain_text(clinic.patient.last_name)
    expect(page.get_by_test_id("slot").first).to_be_visible()
    screenshot("routing-slot-search")
    page.get_by_test_id("slot").first.click()
    form = page.get_by_test_id("book-form")
    expect(form.get_by_test_id("patient-option")).to_be_checked()
    form.get_by_test_id("book-submit").click()
    expect(page.get_by_test_id("visit-notice")).to_be_visible()
    screenshot("routing-booked")

    visit = Visit.objects.get(patient=clinic.patient)
    assert visit.stage == stages[0]
    assert visit.booked_by == clinic.admin
    stages[0].refresh_from_db()
    assert stages[0].status == Stage.Status.BOOKED
    page.goto("/routing/")
    expect(page.get_by_test_id("routing-queue")).not_to_contain_text(clinic.patient.last_name)


def test_cancelled_slot_is_offered_to_the_overdue_patient(page, clinic, screenshot):
    _plan, stages = accepted_plan(clinic, stages=2)
    Stage.objects.filter(pk=stages[0].pk).update(
        window_start=timezone.localdate() - timedelta(days=30),
        window_end=timezone.localdate() - timedelta(days=16),
    )
    other = PatientFactory(home_branch=clinic.branch, last_name="Cancelling")
    start = tomorrow_at(15)
    visit = VisitFactory(
        patient=other,
        doctor=clinic.doctor,
        branch=clinic.branch,
        service=clinic.service,
        starts_at=start,
        ends_at=start + timedelta(minutes=30),
    )
    log_in(page, clinic.admin)
    day = timezone.localtime(start).date().isoformat()
    page.goto(f"/calendar/?branch={clinic.branch.pk}&date={day}")
    page.locator(f'[data-testid=visit-block][data-visit-id="{visit.pk}"]').click()
    page.get_by_test_id("visit-cancel").click()
    page.get_by_test_id("cancel-by-patient").check()
    page.get_by_test_id("cancel-reason").fill("Business trip")
    page.get_by_test_id("cancel-submit").click()

    offers = page.get_by_test_id("slot-offers")
    expect(offers).to_contain_text(clinic.patient.last_name)
    expect(offers).to_contain_text(stages[0].title)
    screenshot("freed-slot-offer")
    offers.get_by_test_id("offer-book").first.click()
    form = page.get_by_test_id("book-form")
    expect(form.get_by_test_id("patient-option")).to_be_checked()
    form.get_by_test_id("book-submit").click()
    expect(page.get_by_test_id("visit-notice")).to_be_visible()

    rebooked = Visit.objects.get(patient=clinic.patient)
    assert rebooked.starts_at == start
    assert rebooked.stage == stages[0]
