"""The reception tablet in a real browser: a manager registers it, the tablet (a browser of
its own) pairs by the link, a patient types the code from the visit slip and answers, and
the tablet comes back to its start screen — also when the network is down meanwhile (the
answers wait in the browser and arrive once when it is back), when the patient walks
away, and when the front desk sends the next patient's survey to it."""

import pytest
from playwright.sync_api import expect

from feedback.kiosk import kiosk_code_for, kiosk_device_register
from feedback.models import Response, SurveyInvitation
from feedback.models_kiosk import KioskAnswerKey
from tests.e2e.conftest import (
    POLICY_COMPLAINT,
    REPORT_VIOLATIONS,
    SCREENSHOTS,
    log_in,
    serious_violations,
)
from tests.feedback.factories import invitation_now

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TABLET = {"width": 820, "height": 1180}


def snap(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def wait_until(page, check, *, timeout_ms: int = 15_000):
    for _ in range(timeout_ms // 100):
        value = check()
        if value:
            return value
        page.wait_for_timeout(100)
    raise AssertionError(f"still false after {timeout_ms} ms")


@pytest.fixture
def tablet(browser, live_server):
    """The tablet's own browser (no staff login), tablet-sized. Fails the test on a policy
    complaint or a script error in it."""
    problems: list[str] = []
    context = browser.new_context(base_url=live_server.url, locale="ru-RU", viewport=TABLET)
    context.add_init_script(REPORT_VIOLATIONS)
    context.on(
        "console",
        lambda message: (
            problems.append(message.text) if POLICY_COMPLAINT.search(message.text) else None
        ),
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    page.on("pageerror", lambda error: problems.append(str(error)))
    yield page
    context.close()
    if problems:
        pytest.fail("The tablet's browser reported problems:\n" + "\n".join(problems))


def pair(tablet, clinic) -> None:
    pairing = kiosk_device_register(actor=clinic.manager, name="Reception", branch=clinic.branch)
    tablet.goto(f"/kiosk/pair/#{pairing.secret}")
    tablet.get_by_test_id("kiosk-pair-go").click()
    expect(tablet.get_by_test_id("kiosk-start")).to_be_visible()


def type_code(tablet, code: str) -> None:
    for digit in code:
        tablet.locator(f"[data-kiosk-keypad] [data-digit='{digit}']").click()
    expect(tablet.get_by_test_id("kiosk-code")).to_have_value(code)
    tablet.get_by_test_id("kiosk-code-go").click()
    expect(tablet.get_by_test_id("kiosk-greeting")).to_contain_text("Анна")


def test_a_manager_registers_a_tablet_and_a_patient_answers_on_it(
    page, tablet, clinic, visit_survey, screenshot
):
    invitation = invitation_now(clinic, last_name="Короткова")
    code = kiosk_code_for(invitation=invitation).code
    log_in(page, clinic.manager)
    page.goto("/kiosk/devices/")
    page.get_by_label("Название планшета").fill("Ресепшен, 1 этаж")
    page.get_by_label("Филиал").select_option(label="Central")
    page.get_by_test_id("kiosk-register-go").click()
    expect(page.get_by_test_id("kiosk-pairing-secret")).to_be_visible()
    link = page.get_by_test_id("kiosk-pairing-url").inner_text()
    assert serious_violations(page) == []
    screenshot("kiosk-devices-1280")

    tablet.goto(link)
    expect(tablet.get_by_test_id("kiosk-secret")).not_to_have_value("")
    assert "#" not in tablet.url  # the secret leaves the address bar
    tablet.get_by_test_id("kiosk-pair-go").click()
    expect(tablet.get_by_test_id("kiosk-start")).to_be_visible()
    assert serious_violations(tablet) == []
    snap(tablet, "kiosk-start-tablet")
    page.goto("/kiosk/devices/")
    expect(page.get_by_test_id("kiosk-device-state")).to_contain_text("подключён")

    type_code(tablet, code)
    expect(tablet.get_by_text("Короткова")).to_have_count(0)  # the first name only
    assert serious_violations(tablet) == []
    snap(tablet, "kiosk-nps-tablet")
    tablet.get_by_test_id("nps-9").click()
    expect(tablet.get_by_test_id("attribute-communication")).to_be_visible()
    assert wait_until(tablet, lambda: Response.objects.filter(nps_score=9).exists())
    tablet.get_by_test_id("survey-send").click()  # nothing rated: asked per question
    expect(tablet.get_by_test_id("error-attribute_communication")).to_be_visible()
    tablet.locator("label[for=k-communication-5]").click()
    tablet.locator("label[for=k-waiting-4]").click()
    tablet.get_by_test_id("survey-comment").fill("Всё объяснили")
    assert serious_violations(tablet) == []
    snap(tablet, "kiosk-details-tablet")
    tablet.get_by_test_id("survey-send").click()
    expect(tablet.get_by_test_id("kiosk-thanks")).to_be_visible()
    snap(tablet, "kiosk-thanks-tablet")
    tablet.get_by_test_id("kiosk-done").click()
    expect(tablet.get_by_test_id("kiosk-start")).to_be_visible()
    expect(tablet.get_by_test_id("kiosk-code")).to_have_value("")
    assert tablet.url.endswith("/kiosk/")
    invitation.refresh_from_db()
    assert wait_until(
        tablet, lambda: SurveyInvitation.objects.get(pk=invitation.pk).finished_at is not None
    )
    response = Response.objects.get()
    assert (response.channel, response.nps_score, response.comment) == ("kiosk", 9, "Всё объяснили")
    assert sorted(response.answers.values_list("attribute__key", "score")) == [
        ("communication", 5),
        ("waiting", 4),
    ]

    # Desktop size too, for the start screen (a monitor at the reception).
    tablet.set_viewport_size({"width": 1280, "height": 860})
    snap(tablet, "kiosk-start-1280")


def test_answers_given_offline_wait_in_the_browser_and_arrive_once(tablet, clinic, visit_survey):
    invitation = invitation_now(clinic, last_name="Короткова")
    code = kiosk_code_for(invitation=invitation).code
    pair(tablet, clinic)
    type_code(tablet, code)

    tablet.context.set_offline(True)
    tablet.get_by_test_id("nps-4").click()
    tablet.locator("label[for=k-communication-2]").click()
    tablet.locator("label[for=k-waiting-3]").click()
    tablet.get_by_test_id("survey-comment").fill("Долго ждала")
    tablet.get_by_test_id("survey-send").click()
    expect(tablet.get_by_test_id("kiosk-thanks-negative")).to_be_visible()
    tablet.get_by_test_id("kiosk-done").click()
    expect(tablet.get_by_test_id("kiosk-start")).to_be_visible()
    expect(tablet.get_by_test_id("kiosk-pending")).to_be_visible()
    snap(tablet, "kiosk-offline-start-tablet")
    # The next patient can't start while the tablet is offline, and is told why.
    tablet.get_by_test_id("kiosk-code").fill("123456")
    tablet.get_by_test_id("kiosk-code-go").click()
    expect(tablet.get_by_test_id("kiosk-offline")).to_be_visible()
    tablet.wait_for_timeout(1500)
    assert not Response.objects.exists()
    queued = tablet.evaluate("JSON.parse(localStorage.getItem('kiosk-answer-queue')).length")
    assert queued == 2

    tablet.context.set_offline(False)
    assert wait_until(
        tablet, lambda: SurveyInvitation.objects.get(pk=invitation.pk).finished_at is not None
    )
    expect(tablet.get_by_test_id("kiosk-pending")).to_be_hidden()
    tablet.wait_for_timeout(1500)
    response = Response.objects.get()
    assert (response.channel, response.nps_score, response.comment) == ("kiosk", 4, "Долго ждала")
    assert response.answers.count() == 2
    assert KioskAnswerKey.objects.count() == 2
    assert tablet.evaluate("localStorage.getItem('kiosk-answer-queue')") == "[]"


def test_a_patient_who_walks_away_leaves_the_start_screen_and_their_answers(
    tablet, clinic, visit_survey, settings
):
    settings.KIOSK_IDLE_SECONDS = 2
    invitation = invitation_now(clinic, last_name="Короткова")
    code = kiosk_code_for(invitation=invitation).code
    pair(tablet, clinic)
    assert tablet.get_by_test_id("kiosk-start").get_attribute("data-testid")
    assert tablet.evaluate("document.body.dataset.idleSeconds") == "2"
    type_code(tablet, code)
    tablet.get_by_test_id("nps-7").click()
    tablet.locator("label[for=k-waiting-5]").click()
    expect(tablet.get_by_test_id("kiosk-start")).to_be_visible(timeout=10_000)
    expect(tablet.get_by_test_id("kiosk-survey")).to_have_count(0)
    assert wait_until(tablet, lambda: Response.objects.filter(answers__isnull=False).exists())
    response = Response.objects.get()
    assert (response.channel, response.nps_score) == ("kiosk", 7)
    assert list(response.answers.values_list("attribute__key", "score")) == [("waiting", 5)]
    assert SurveyInvitation.objects.get(pk=invitation.pk).finished_at is None


def test_the_front_desk_sends_the_next_patient_to_the_tablet(
    page, tablet, clinic, visit_survey, screenshot
):
    invitation = invitation_now(clinic, last_name="Короткова")
    pair(tablet, clinic)
    log_in(page, clinic.admin)
    page.goto("/kiosk/visits/")
    row = page.locator(f"[data-testid=kiosk-visit][data-visit-id='{invitation.visit_id}']")
    row.get_by_test_id("kiosk-visit-code-make").click()
    expect(row.get_by_test_id("kiosk-visit-code")).to_have_text(invitation.kiosk_code.code)
    assert serious_violations(page) == []
    screenshot("kiosk-visits-1280")
    row.get_by_test_id("kiosk-push").click()
    expect(page.get_by_role("alert").first).to_contain_text("Анна")
    # The tablet's start screen asks every few seconds and opens the survey by itself.
    expect(tablet.get_by_test_id("kiosk-greeting")).to_contain_text("Анна", timeout=10_000)


def test_a_revoked_tablet_says_it_is_no_longer_registered(page, tablet, clinic):
    pair(tablet, clinic)
    log_in(page, clinic.manager)
    page.goto("/kiosk/devices/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("kiosk-device-revoke").click()
    expect(page.get_by_test_id("kiosk-device-state")).to_contain_text("отключён")
    tablet.reload()
    expect(tablet.get_by_test_id("kiosk-revoked")).to_be_visible()
    assert serious_violations(tablet) == []
    snap(tablet, "kiosk-revoked-tablet")
