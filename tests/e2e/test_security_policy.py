"""Every kind of page under the Content-Security-Policy, in a real browser: it loads with
no violation (the ``page`` fixture fails a test on any), and the bit that used to be an
inline script or handler still works: auto-submitting selects, confirm dialogs, the visit
completion form's next-step fields, the visit modal, the checklist placeholder, the
dashboard's charts, the enrolment QR code and the error pages' own styles."""

import re
from datetime import timedelta

import pytest
from django.urls import include, path
from django.utils import timezone
from playwright.sync_api import expect

from clinic_crm.staff.access import public
from clinic_crm.staff.roles import Role
from journeys.models import Visit
from journeys.patient_links import calendar_path
from tests.conftest import PASSWORD
from tests.e2e.conftest import log_in
from tests.factories import PatientFactory
from tests.journeys.factories import VisitFactory, accepted_plan, tomorrow_at
from tests.metrics.factories import answered_visits

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 860}


# A URL configuration with a page that fails, to see the 500 page in the browser.
def _fail(request):
    raise RuntimeError("a deliberate failure")


urlpatterns = [path("fail/", public(_fail)), path("", include("clinic_crm.urls"))]
handler500 = "clinic_crm.errors.server_error"


def _screenshots(page, screenshot, name):
    screenshot(f"csp-{name}")
    page.set_viewport_size(PHONE)
    screenshot(f"csp-{name}-phone")
    page.set_viewport_size(DESKTOP)


def _wait_for_complaint(page):
    for _ in range(40):
        if page.policy_complaints:
            return
        page.wait_for_timeout(50)


def test_the_policy_blocks_inline_script_and_the_browser_tests_notice(page):
    page.goto("/accounts/login/")
    page.evaluate(
        """() => {
          const script = document.createElement("script");
          script.textContent = "window.__inline_ran = true";
          document.head.append(script);
        }"""
    )
    _wait_for_complaint(page)
    assert page.evaluate("window.__inline_ran === undefined")
    assert any("script-src" in complaint for complaint in page.policy_complaints)
    page.policy_complaints.clear()

    page.evaluate("document.body.setAttribute('onclick', 'window.__handler_ran = true')")
    page.locator("body").click()
    _wait_for_complaint(page)
    assert page.evaluate("window.__handler_ran === undefined")
    assert page.policy_complaints
    page.policy_complaints.clear()  # the deliberate violations must not fail this test


def test_each_role_home_and_the_patient_pages_work_under_the_policy(page, clinic, screenshot):
    accepted_plan(clinic, stages=2)
    # The language select (base.html) sends its form when changed.
    page.goto("/accounts/login/")
    page.get_by_label("Язык", exact=True).select_option("en")
    expect(page.get_by_role("button", name="Continue")).to_be_visible()
    page.get_by_label("Language", exact=True).select_option("ru")
    expect(page.get_by_role("button", name="Продолжить")).to_be_visible()

    for user in (clinic.admin, clinic.curator, clinic.manager, clinic.doctor):
        page.context.clear_cookies()
        log_in(page, user)
        page.goto("/")
        expect(page.get_by_test_id("home-heading")).to_be_visible()

    # The doctor: live search, the card, the timeline.
    page.goto("/patients/")
    with page.expect_response(lambda r: "/patients/?q=" in r.url):
        page.get_by_role("searchbox").fill(clinic.patient.last_name[:4])
    page.locator("#patient-rows").get_by_text(clinic.patient.full_name).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(clinic.patient.last_name)
    page.get_by_test_id("open-timeline").click()
    expect(page.get_by_test_id("plan-card")).to_contain_text("Braces")
    page.goto("/api/patients/")  # DRF's browsable API
    expect(page.locator(".response-info")).to_contain_text(clinic.patient.last_name)

    # A page that isn't there: the site's 404 page.
    response = page.goto("/patients/999999999/")
    assert response.status == 404
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.get_by_role("link", name=re.compile("главную|home page"))).to_be_visible()

    # The curator's worklist.
    page.context.clear_cookies()
    log_in(page, clinic.curator)
    page.goto("/worklist/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()

    # The patient's own calendar (no login, no script at all).
    page.context.clear_cookies()
    page.set_viewport_size(PHONE)
    page.goto(calendar_path(patient_id=clinic.patient.pk))
    expect(page.get_by_test_id("patient-plan")).to_contain_text("Step 0")
    screenshot("csp-patient-calendar-phone")


def test_scheduling_pages_work_under_the_policy(page, clinic, screenshot):
    _plan, stages = accepted_plan(clinic)
    clinic.admin.profile.branch = clinic.branch
    clinic.admin.profile.save()
    start = tomorrow_at(10)
    visit = VisitFactory(
        patient=clinic.patient,
        doctor=clinic.doctor,
        branch=clinic.branch,
        service=clinic.service,
        starts_at=start,
        ends_at=start + timedelta(minutes=30),
    )
    day = timezone.localtime(start).date().isoformat()
    log_in(page, clinic.admin)

    # The day calendar and its visit modal; the checklists of the visit fail to load
    # here, and their placeholder goes away instead of spinning.
    page.route("**/visits/*/checklists/**", lambda route: route.fulfill(status=500))
    page.goto(f"/calendar/?branch={clinic.branch.pk}&date={day}")
    block = page.locator(f'[data-testid=visit-block][data-visit-id="{visit.pk}"]')
    expect(block).to_be_visible()
    _screenshots(page, screenshot, "calendar-day")
    block.click()
    expect(page.get_by_test_id("visit-panel")).to_have_attribute("data-visit-id", str(visit.pk))
    expect(page.get_by_test_id("visit-checklists-loading")).to_have_count(0)
    screenshot("csp-calendar-visit-modal")
    page.locator("#visit-modal .btn-close").click()
    expect(page.locator("#visit-modal")).to_be_hidden()
    # Hidden, the modal is back to its loading placeholder.
    expect(page.locator("#visit-modal-body .modal-header")).to_have_count(0)
    expect(page.locator("#visit-modal-body .spinner-border")).to_have_count(1)
    page.unroute("**/visits/*/checklists/**")

    # The week: choosing a doctor submits the filter.
    page.goto(f"/calendar/week/?branch={clinic.branch.pk}&date={day}")
    page.get_by_label("Врач", exact=True).select_option(str(clinic.doctor.pk))
    expect(page).to_have_url(re.compile(rf"doctor={clinic.doctor.pk}"))
    expect(page.locator(f'[data-testid=visit-block][data-visit-id="{visit.pk}"]')).to_be_visible()
    _screenshots(page, screenshot, "calendar-week")

    # The routing queue: choosing a branch submits the filter.
    page.context.clear_cookies()
    log_in(page, clinic.manager)
    page.goto("/routing/")
    page.get_by_label("Филиал", exact=True).select_option(str(clinic.branch.pk))
    expect(page).to_have_url(re.compile(rf"branch={clinic.branch.pk}"))
    expect(page.get_by_test_id("routing-queue")).to_be_visible()

    # Completing a visit: only the chosen next step's fields show.
    arrived = VisitFactory(
        patient=clinic.patient,
        doctor=clinic.doctor,
        branch=clinic.branch,
        service=clinic.service,
        stage=stages[0],
        starts_at=timezone.now() - timedelta(minutes=15),
        ends_at=timezone.now() + timedelta(minutes=15),
        status=Visit.Status.ARRIVED,
    )
    page.context.clear_cookies()
    log_in(page, clinic.doctor)
    page.goto(f"/visits/{arrived.pk}/complete/")
    sections = {
        step: page.locator(f"#complete-form [data-choice={step}]")
        for step in ("book", "handoff", "finish")
    }
    for section in sections.values():
        expect(section).to_be_hidden()
    for chosen in sections:
        page.check(f"input[name=next_step][value={chosen}]")
        for step, section in sections.items():
            if step == chosen:
                expect(section).to_be_visible()
            else:
                expect(section).to_be_hidden()
    page.check("input[name=next_step][value=handoff]")
    _screenshots(page, screenshot, "visit-complete")


def test_manager_pages_work_under_the_policy(page, clinic, visit_survey, screenshot):
    answered_visits(clinic, visit_survey, 12, score=9, day=timezone.localdate() - timedelta(days=9))
    log_in(page, clinic.manager)
    page.goto("/admin/")
    expect(page.locator("#content")).to_be_visible()

    # The dashboard draws its charts (a drawn chart sets its canvas's size).
    page.goto("/metrics/dashboard/")
    expect(page.locator("#nps-chart")).to_have_attribute("style", re.compile("height"))
    expect(page.locator("#csi-chart")).to_have_attribute("style", re.compile("height"))
    _screenshots(page, screenshot, "dashboard")

    # Resetting a colleague's second factor asks first: "no" sends nothing, "yes" does.
    # (From the member's page, where the Staff list's "Change" leads.)
    page.goto("/staff/")
    page.locator("tr", has_text=clinic.doctor.email).get_by_role("link").first.click()
    row = page.locator("form[action$='/reset-2fa/']")
    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    row.get_by_role("button").click()
    page.wait_for_timeout(300)
    assert questions == [
        "Сбросить второй фактор? Сотрудник настроит его заново при следующем входе."
    ]
    assert clinic.doctor.totpdevice_set.exists()
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button").click()
    expect(page.get_by_role("alert").first).to_be_visible()
    assert not clinic.doctor.totpdevice_set.exists()

    # Merging two cards asks too; "no" merges nothing.
    source = PatientFactory(home_branch=clinic.branch)
    page.goto(f"/patients/{source.pk}/merge/?target={clinic.patient.pk}")
    page.locator("#merge-confirm").check()
    questions.clear()
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    page.locator("main form button.btn-danger").click()
    page.wait_for_timeout(300)
    assert questions == [f"Объединить карту №{source.pk} с картой №{clinic.patient.pk}?"]
    source.refresh_from_db()
    assert source.merged_into_id is None


def test_enrolment_shows_its_qr_code_under_the_policy(page, make_staff, screenshot):
    user = make_staff(Role.CURATOR, with_device=False)
    page.goto("/accounts/login/")
    page.fill("input[name=username]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/accounts/enrol/"))
    qr = page.locator(".qr-code svg")
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box["width"] == pytest.approx(220, abs=1)  # sized by app.css
    screenshot("csp-enrol")


@pytest.mark.urls(__name__)
def test_the_server_error_page_keeps_its_styles_under_the_policy(page):
    response = page.goto("/fail/")
    assert response.status == 500
    assert "style-src 'self'" in response.headers["content-security-policy"]
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    status = page.locator("main > div").first
    assert status.evaluate("element => getComputedStyle(element).fontSize") == "56px"
