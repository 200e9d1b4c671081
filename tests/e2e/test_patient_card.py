"""The patient card as the front desk and a manager use it: the journey summary, booking
the next stage from it, cancelling the next visit in place — in a real browser."""

import re
from datetime import timedelta

import pytest
from django.utils import translation
from playwright.sync_api import expect

from journeys.models import Stage, Visit
from tests.e2e.conftest import log_in, use_language
from tests.journeys.factories import accepted_plan, tomorrow_at

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_administrator_reads_the_summary_and_books_the_next_stage_from_the_card(
    page, clinic, screenshot
):
    plan, stages = accepted_plan(clinic, stages=3)
    log_in(page, clinic.admin)
    page.goto(f"/patients/{clinic.patient.pk}/")

    journey = page.get_by_test_id("card-journey")
    expect(journey.get_by_test_id("card-plan")).to_contain_text(plan.title)
    expect(journey.get_by_test_id("card-stage")).to_contain_text(stages[0].title)
    expect(journey.get_by_test_id("card-next-visit-none")).to_be_visible()
    screenshot("patient-card-admin")
    journey.get_by_test_id("card-book").click()

    expect(page).to_have_url(re.compile(r"/calendar/slots/"))
    expect(page.get_by_test_id("booking-for")).to_contain_text(clinic.patient.last_name)
    expect(page.get_by_test_id("booking-for")).to_contain_text(stages[0].title)
    page.get_by_test_id("slot").first.click()
    form = page.get_by_test_id("book-form")
    expect(form.get_by_test_id("patient-option")).to_be_checked()
    form.get_by_test_id("book-submit").click()
    expect(page.get_by_test_id("visit-notice")).to_be_visible()

    visit = Visit.objects.get(patient=clinic.patient)
    assert visit.stage == stages[0]
    assert visit.booked_by == clinic.admin
    page.goto(f"/patients/{clinic.patient.pk}/")
    next_visit = page.get_by_test_id("card-next-visit")
    expect(next_visit).to_have_attribute("data-visit-id", str(visit.pk))
    with translation.override("ru"):  # the card speaks Russian by default
        booked = str(Stage.Status.BOOKED.label)
    expect(page.get_by_test_id("card-stage")).to_contain_text(booked)
    screenshot("patient-card-admin-booked")


def test_administrator_cancels_the_next_visit_and_the_card_updates_in_place(page, clinic):
    plan, stages = accepted_plan(clinic, stages=2)
    visit = Visit.objects.create(
        patient=clinic.patient,
        doctor=clinic.doctor,
        branch=clinic.branch,
        service=clinic.service,
        stage=stages[0],
        starts_at=tomorrow_at(10),
        ends_at=tomorrow_at(10) + timedelta(minutes=30),
    )
    Stage.objects.filter(pk=stages[0].pk).update(status=Stage.Status.BOOKED)
    use_language(page, "en")
    log_in(page, clinic.admin)
    page.goto(f"/patients/{clinic.patient.pk}/")

    page.get_by_test_id("card-visit-cancel").click()
    form = page.get_by_test_id("cancel-form")
    form.get_by_test_id("cancel-by-patient").check()
    form.get_by_test_id("cancel-reason").fill("Caught a cold")
    form.get_by_test_id("cancel-submit").click()
    expect(page.get_by_test_id("visit-notice")).to_contain_text("cancelled")
    # The journey panel fetched itself again behind the modal: nothing booked now.
    expect(page.get_by_test_id("card-next-visit-none")).to_contain_text("No visit booked")
    visit.refresh_from_db()
    assert visit.status == Visit.Status.CANCELLED_BY_PATIENT


def test_manager_reads_the_card_without_write_actions(page, clinic, screenshot):
    plan, stages = accepted_plan(clinic, stages=2)
    Visit.objects.create(
        patient=clinic.patient,
        doctor=clinic.doctor,
        branch=clinic.branch,
        service=clinic.service,
        starts_at=tomorrow_at(11),
        ends_at=tomorrow_at(11) + timedelta(minutes=30),
    )
    use_language(page, "en")
    log_in(page, clinic.manager)
    page.goto(f"/patients/{clinic.patient.pk}/")

    journey = page.get_by_test_id("card-journey")
    expect(journey.get_by_test_id("card-plan")).to_contain_text(plan.title)
    expect(journey.get_by_test_id("card-next-visit")).to_contain_text(clinic.service.name)
    for action in (
        "card-book",
        "card-book-stage",
        "card-visit-move",
        "card-visit-cancel",
        "card-plan-decide",
    ):
        expect(page.get_by_test_id(action)).to_have_count(0)
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)
    # The visit's panel opens for reading, with no action in it either.
    journey.get_by_test_id("card-visit-open").click()
    panel = page.get_by_test_id("visit-panel")
    expect(panel).to_be_visible()
    expect(page.get_by_test_id("visit-modal").get_by_role("button", name="Move")).to_have_count(0)
    screenshot("patient-card-manager")
