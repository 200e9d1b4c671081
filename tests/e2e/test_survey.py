"""A patient answering the survey on a phone: the NPS in one tap, the aspects and "why?",
the thank-you page; keyboard only; the email's one-tap score; and an accessibility check
(axe-core, bundled with axe-playwright-python) with no serious violations on each step."""

import pytest
from playwright.sync_api import expect

from feedback.links import survey_token
from feedback.models import Response
from journeys.models import Task
from tests.e2e.conftest import serious_violations
from tests.feedback.factories import invitation_now

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def test_a_patient_answers_on_a_phone_and_is_told_someone_will_call(
    page, clinic, visit_survey, screenshot
):
    invitation = invitation_now(clinic)
    page.set_viewport_size(PHONE)
    page.goto(f"/s/{survey_token(invitation.key)}")
    expect(page.get_by_text("Анна")).to_be_visible()
    assert serious_violations(page) == []
    screenshot("survey-nps-mobile")
    page.get_by_test_id("nps-4").click()
    expect(page.get_by_test_id("attribute-communication")).to_be_visible()
    # Saved already: a patient who stops here still counts.
    assert Response.objects.get().nps_score == 4
    invitation.refresh_from_db()
    assert invitation.opened_at is not None  # the page's script, not the GET, said so
    page.get_by_test_id("survey-send").click()  # nothing rated: refused per field
    expect(page.get_by_test_id("error-attribute_communication")).to_be_visible()
    assert serious_violations(page) == []
    screenshot("survey-details-errors-mobile")
    page.locator("label[for=a-communication-2]").click()
    page.locator("label[for=a-waiting-1]").click()
    page.get_by_test_id("survey-comment").fill("Ждала 40 минут, никто не объяснил почему")
    screenshot("survey-details-mobile")
    page.get_by_test_id("survey-send").click()
    expect(page.get_by_test_id("survey-thanks-negative")).to_be_visible()
    assert serious_violations(page) == []
    screenshot("survey-thanks-mobile")
    response = Response.objects.get()
    assert response.negative
    assert response.comment.startswith("Ждала")
    assert Task.objects.filter(kind=Task.Kind.NEGATIVE_FEEDBACK).count() == 1
    page.goto(f"/s/{survey_token(invitation.key)}")
    expect(page.get_by_test_id("survey-answered")).to_be_visible()


def test_the_survey_works_from_the_keyboard_alone_in_english(page, clinic, visit_survey):
    invitation = invitation_now(clinic)
    page.goto(f"/s/{survey_token(invitation.key)}?lang=en")
    expect(page.get_by_role("group", name="How likely are you to recommend")).to_be_visible()
    page.get_by_test_id("nps-0").focus()
    for _ in range(9):
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.dataset.testid") == "nps-9"
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("attribute-communication")).to_be_visible()
    page.locator("#a-communication-5").focus()
    page.keyboard.press("Space")
    page.locator("#a-waiting-5").focus()
    page.keyboard.press("Space")
    page.get_by_test_id("survey-send").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("survey-thanks")).to_be_visible()
    assert page.evaluate("document.activeElement.tagName") == "H1"  # focus on the result
    response = Response.objects.get()
    assert (response.nps_score, response.negative) == (9, False)


def test_the_emails_one_tap_score_records_it_and_opens_the_next_question(
    page, clinic, visit_survey, screenshot
):
    invitation = invitation_now(clinic)
    page.set_viewport_size({"width": 1280, "height": 860})
    page.goto(f"/s/{survey_token(invitation.key)}?nps=10")
    expect(page.get_by_test_id("attribute-waiting")).to_be_visible()
    assert Response.objects.get().nps_score == 10
    screenshot("survey-details-desktop")


def test_a_forged_link_shows_a_clear_page(page, clinic, visit_survey):
    invitation = invitation_now(clinic)
    token = survey_token(invitation.key)
    page.goto(f"/s/{token[:-1]}{'A' if token[-1] != 'A' else 'B'}")
    expect(page.get_by_test_id("survey-invalid")).to_be_visible()
    assert serious_violations(page) == []
