"""Visit checklists in a real browser: a doctor ticks the communication standard while
completing a visit and a manager reads its completion rate; an administrator ticks the
readiness checklist in the calendar's visit panel."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from journeys.models import ChecklistCompletion, Visit
from tests.e2e.conftest import log_in
from tests.journeys.factories import (
    COMMUNICATION,
    MOSCOW,
    READINESS,
    VisitFactory,
    accepted_plan,
    items_of,
    make_template,
    moscow,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _item_row(page, text):
    return page.get_by_test_id("checklist-item").filter(has_text=text)


def test_doctor_ticks_the_communication_standard_and_manager_sees_the_rate(
    page, clinic, screenshot
):
    make_template("Visit readiness", "administrator", READINESS)
    standard = make_template("Communication standard", "doctor", COMMUNICATION)
    _plan, stages = accepted_plan(clinic)
    # An earlier completed visit on which nothing was ticked: rates are out of 2 visits.
    earlier = moscow(timezone.localdate() - timedelta(days=3), 10)
    VisitFactory(
        patient=clinic.patient,
        doctor=clinic.doctor,
        branch=clinic.branch,
        service=clinic.service,
        starts_at=earlier,
        ends_at=earlier + timedelta(minutes=30),
        status=Visit.Status.COMPLETED,
        completed_at=earlier,
    )
    start = timezone.now() - timedelta(minutes=15)
    visit = VisitFactory(
        patient=clinic.patient,
        doctor=clinic.doctor,
        branch=clinic.branch,
        service=clinic.service,
        stage=stages[0],
        starts_at=start,
        ends_at=start + timedelta(minutes=30),
        status=Visit.Status.ARRIVED,
    )

    log_in(page, clinic.doctor)
    page.goto(f"/visits/{visit.pk}/complete/")
    expect(page.get_by_test_id("checklist")).to_have_count(1)  # the doctor's list only
    expect(page.get_by_test_id("checklist")).to_contain_text("Communication standard")
    for text in (COMMUNICATION[0], COMMUNICATION[2]):
        _item_row(page, text).get_by_role("checkbox").click()
        expect(_item_row(page, text)).to_have_attribute("data-done", "true")
    expect(page.get_by_test_id("checklist-count")).to_have_text("2/4")
    # Changed their mind about the first one.
    _item_row(page, COMMUNICATION[0]).get_by_role("checkbox").click()
    expect(_item_row(page, COMMUNICATION[0])).to_have_attribute("data-done", "false")
    expect(page.get_by_test_id("checklist-count")).to_have_text("1/4")
    expect(_item_row(page, COMMUNICATION[2]).get_by_test_id("checklist-ticked-by")).to_be_visible()
    screenshot("checklist-visit-complete")

    page.check("input[name=next_step][value=handoff]")
    page.select_option("select[name=to_specialty]", str(clinic.surgery.pk))
    page.fill("textarea[name=handoff_reason]", "Remove the wisdom teeth first")
    page.fill("input[name=handoff_due]", (timezone.localdate() + timedelta(days=10)).isoformat())
    page.get_by_test_id("complete-submit").click()
    expect(page).to_have_url(re.compile(rf"/patients/{clinic.patient.pk}/timeline/"))
    assert [c.item.text for c in ChecklistCompletion.objects.filter(visit=visit)] == [
        COMMUNICATION[2]
    ]

    page.get_by_role("button", name=re.compile("Выйти|Log out")).click()
    log_in(page, clinic.manager)
    page.get_by_test_id("nav-management").click()
    page.locator('nav a[href="/checklists/"]').click()
    expect(page).to_have_url(re.compile(r"/checklists/"))
    card = page.get_by_test_id("rates-template").filter(has_text="Communication standard")
    expect(card.get_by_test_id("rates-visits")).to_contain_text("2")
    asked = card.locator(f'[data-testid=rate-item][data-item-id="{items_of(standard)[2].pk}"]')
    expect(asked).to_have_attribute("data-ticked", "1")
    expect(asked.get_by_test_id("rate-bar")).to_have_attribute("data-rate", "50.0")
    expect(asked).to_contain_text("50 %")
    screenshot("checklist-rates")

    # Only the day of the visit just completed → 1 of 1.
    day = timezone.localtime(visit.starts_at, MOSCOW).date().isoformat()
    page.fill("input[name=date_from]", day)
    page.locator("input[name=date_from]").dispatch_event("change")
    expect(asked.get_by_test_id("rate-bar")).to_have_attribute("data-rate", "100.0")
    expect(page).to_have_url(re.compile(rf"date_from={day}"))
    screenshot("checklist-rates-today")


def test_administrator_ticks_readiness_in_the_visit_panel(page, clinic, screenshot):
    make_template("Visit readiness", "administrator", READINESS)
    make_template("Communication standard", "doctor", COMMUNICATION)
    tomorrow = timezone.localtime(timezone.now(), MOSCOW).date() + timedelta(days=1)
    starts_at = moscow(tomorrow, 10)
    visit = VisitFactory(
        patient=clinic.patient,
        doctor=clinic.doctor,
        branch=clinic.branch,
        service=clinic.service,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=30),
    )

    log_in(page, clinic.admin)
    page.goto(f"/calendar/?branch={clinic.branch.pk}&date={tomorrow.isoformat()}")
    page.locator(f'[data-testid=visit-block][data-visit-id="{visit.pk}"]').click()
    panel = page.get_by_test_id("visit-panel")
    expect(panel.get_by_test_id("checklist")).to_have_count(2)
    readiness = panel.get_by_test_id("checklist").filter(has_text="Visit readiness")
    standard = panel.get_by_test_id("checklist").filter(has_text="Communication standard")
    expect(standard.get_by_role("checkbox").first).to_be_disabled()  # the doctor's to tick

    _item_row(readiness, READINESS[0]).get_by_role("checkbox").click()
    expect(_item_row(readiness, READINESS[0])).to_have_attribute("data-done", "true")
    _item_row(readiness, READINESS[2]).get_by_role("checkbox").click()
    expect(_item_row(readiness, READINESS[2])).to_have_attribute("data-done", "true")
    expect(readiness.get_by_test_id("checklist-count")).to_have_text("2/3")
    screenshot("checklist-visit-panel")

    # Opened again, the panel shows the ticks and who made them.
    page.locator("#visit-modal .btn-close").click()
    expect(page.locator("#visit-modal")).to_be_hidden()
    page.locator(f'[data-testid=visit-block][data-visit-id="{visit.pk}"]').click()
    again = page.get_by_test_id("visit-panel").get_by_test_id("checklist").first
    expect(again.get_by_test_id("checklist-ticked-by")).to_have_count(2)
    assert ChecklistCompletion.objects.filter(visit=visit, checked_by=clinic.admin).count() == 2
