"""A doctor completes a visit and is made to choose what happens next."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from journeys.models import Handoff, Visit
from tests.e2e.conftest import log_in
from tests.journeys.factories import accepted_plan, clinic_visit

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_doctor_must_choose_next_step_to_complete_visit(page, clinic, screenshot):
    _plan, stages = accepted_plan(clinic)
    start = timezone.now() - timedelta(minutes=15)
    visit = clinic_visit(clinic, start, stage=stages[0], status=Visit.Status.ARRIVED)
    log_in(page, clinic.doctor)
    page.goto(f"/patients/{clinic.patient.pk}/timeline/")
    expect(page.get_by_test_id("plan-card")).to_contain_text("Braces")
    screenshot("timeline-doctor")
    page.get_by_test_id("complete-visit").click()
    expect(page).to_have_url(re.compile(rf"/visits/{visit.pk}/complete/"))

    page.get_by_test_id("complete-submit").click()  # no next step chosen
    expect(page.get_by_role("alert").first).to_be_visible()
    visit.refresh_from_db()
    assert visit.status == Visit.Status.ARRIVED
    screenshot("visit-complete-needs-next-step")

    page.check("input[name=next_step][value=handoff]")
    page.select_option("select[name=to_specialty]", str(clinic.surgery.pk))
    page.fill("textarea[name=handoff_reason]", "Remove the wisdom teeth before the lower braces")
    page.fill("input[name=handoff_due]", (timezone.localdate() + timedelta(days=10)).isoformat())
    screenshot("visit-complete-handoff")
    page.get_by_test_id("complete-submit").click()
    expect(page).to_have_url(re.compile(rf"/patients/{clinic.patient.pk}/timeline/"))
    expect(page.locator("body")).to_contain_text("Remove the wisdom teeth")
    screenshot("timeline-after-handoff")
    visit.refresh_from_db()
    assert visit.status == Visit.Status.COMPLETED
    assert Handoff.objects.get().curator == clinic.curator


@pytest.mark.parametrize("language", ["ru", "en"])
def test_the_handoff_s_due_date_survives_either_language(page, clinic, language, screenshot):
    """The completion form proposes a "book by" date; a Russian page once rendered it as
    16.12.2026, which the browser's date input can't hold, and the handoff lost it."""
    from tests.e2e.conftest import use_language

    _plan, stages = accepted_plan(clinic)
    start = timezone.now() - timedelta(minutes=15)
    visit = clinic_visit(clinic, start, stage=stages[0], status=Visit.Status.ARRIVED)
    use_language(page, language)
    log_in(page, clinic.doctor)
    page.goto(f"/visits/{visit.pk}/complete/")
    assert page.locator("html").get_attribute("lang") == language
    page.check("input[name=next_step][value=handoff]")
    page.select_option("select[name=to_specialty]", str(clinic.surgery.pk))
    page.fill("textarea[name=handoff_reason]", "Extraction before the braces")
    proposed = timezone.localdate() + timedelta(days=14)
    expect(page.locator("input[name=handoff_due]")).to_have_value(proposed.isoformat())
    screenshot(f"visit-complete-handoff-{language}")
    page.get_by_test_id("complete-submit").click()
    expect(page).to_have_url(re.compile(rf"/patients/{clinic.patient.pk}/timeline/"))
    assert Handoff.objects.get().due_date == proposed
