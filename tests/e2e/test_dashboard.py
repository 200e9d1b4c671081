"""The loyalty dashboard in a real browser: a manager reads the figures, the charts draw,
the same numbers open as a table, and a filter narrows everything without a reload."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from metrics.cohorts import cohorts_snapshot
from tests.e2e.conftest import log_in
from tests.metrics.factories import answered_visits

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_manager_reads_the_loyalty_dashboard_and_filters_it(page, clinic, visit_survey, screenshot):
    today = timezone.localdate()
    answered_visits(clinic, visit_survey, 32, score=10, day=today - timedelta(days=40))
    answered_visits(
        clinic, visit_survey, 8, score=4, doctor=clinic.surgeon, day=today - timedelta(days=20)
    )
    cohorts_snapshot()
    log_in(page, clinic.manager)
    page.get_by_role("link", name="Лояльность").click()
    expect(page.get_by_test_id("tile-nps").get_by_test_id("value")).to_have_text("60")
    expect(page.get_by_test_id("tile-csi")).to_contain_text("n = 40")
    # Chart.js drew into both canvases (a drawn chart sets its own size attributes).
    expect(page.locator("#nps-chart")).to_have_attribute("style", re.compile("height"))
    expect(page.locator("#csi-chart")).to_have_attribute("style", re.compile("height"))
    page.get_by_test_id("nps-table").locator("summary").click()
    expect(page.get_by_test_id("nps-table").locator("tbody tr")).not_to_have_count(0)
    doctors = page.get_by_test_id("league-doctors")
    expect(doctors.get_by_test_id("league-row")).to_have_count(2)
    expect(doctors.get_by_test_id("hidden-figure")).to_have_count(1)  # 8 answers < 30
    expect(page.get_by_test_id("recovery")).to_contain_text("8")
    expect(page.get_by_test_id("funnel")).to_contain_text("n = 40")  # 40 first visits
    screenshot("dashboard")
    with page.expect_response(lambda r: "/metrics/dashboard/?" in r.url):
        page.locator("#id_doctor").select_option(str(clinic.surgeon.pk))
    expect(page.get_by_test_id("tile-nps").get_by_test_id("value")).to_have_text("-100")
    expect(page).to_have_url(re.compile(f"doctor={clinic.surgeon.pk}"))
    screenshot("dashboard-one-doctor")
    with page.expect_download() as download:
        page.get_by_test_id("export").click()
    assert download.value.suggested_filename.startswith("loyalty-")
    assert f"doctor={clinic.surgeon.pk}" in download.value.url  # what is shown


def test_a_doctor_reads_own_scorecard_against_the_branch(page, clinic, visit_survey, screenshot):
    today = timezone.localdate()
    answered_visits(clinic, visit_survey, 6, score=10, day=today - timedelta(days=30))
    answered_visits(
        clinic, visit_survey, 4, score=3, doctor=clinic.surgeon, day=today - timedelta(days=10)
    )
    log_in(page, clinic.doctor)
    page.get_by_role("link", name="Отчёты").click()
    rows = page.get_by_test_id("scorecard").get_by_test_id("score-row")
    expect(rows.first).to_contain_text("100")  # the doctor's own NPS
    expect(rows.first).to_contain_text("20")  # the branch's: 6 promoters, 4 detractors
    expect(page.get_by_test_id("tile-nps").get_by_test_id("value")).to_have_text("20")
    screenshot("report-doctor")
