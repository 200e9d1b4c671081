"""The loyalty dashboard in a real browser when a filter leaves no data: every block says
so and nothing is drawn; and the NPS trend's legend says whether it is by week or by
month."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from metrics.cohorts import cohorts_snapshot
from tests.e2e.conftest import log_in, use_language, wait_for_value
from tests.factories import BranchFactory
from tests.metrics.factories import answered_visits

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 860}
CHART = "Chart.getChart(document.getElementById('nps-chart'))"


def trend_legend(page) -> str:
    """The NPS chart's legend once the chart is drawn on the canvas now in the page.

    After an HTMX swap the new canvas briefly carries the old one's attributes (htmx
    settles them a moment later) and only then gets its chart, so this waits for the
    chart object rather than for the canvas's style."""
    return wait_for_value(page, f"() => {CHART}?.data?.datasets?.[0]?.label")


def expect_no_horizontal_scroll(page) -> None:
    """The page fits the viewport once the charts have followed its new size (Chart.js
    resizes them a frame after the viewport changes); fails after 15 s."""
    wait_for_value(page, "() => document.documentElement.scrollWidth <= window.innerWidth")


def test_an_empty_branch_says_no_data_and_draws_nothing(page, clinic, visit_survey, screenshot):
    today = timezone.localdate()
    answered_visits(clinic, visit_survey, 24, score=10, day=today - timedelta(days=30))
    cohorts_snapshot()
    empty = BranchFactory(name="Пустой филиал")
    log_in(page, clinic.manager)
    page.goto("/metrics/dashboard/")
    # Twelve months: by month, and the chart's legend says so.
    expect(page.get_by_test_id("trend-bucket")).to_contain_text("По месяцам")
    expect(page.locator("#nps-chart")).to_have_attribute("style", re.compile("height"))
    assert trend_legend(page) == "NPS по месяцам"
    expect(page.get_by_test_id("funnel").locator(".progress-bar")).to_have_count(4)
    with page.expect_response(lambda r: "/metrics/dashboard/?" in r.url):
        page.locator("#id_branch").select_option(str(empty.pk))
    expect(page).to_have_url(re.compile(f"branch={empty.pk}"))
    for block in ("funnel", "nps-trend", "aspects"):
        expect(page.get_by_test_id(block).get_by_test_id("no-data")).to_have_text(
            "Нет данных для этого фильтра"
        )
    expect(page.locator("canvas")).to_have_count(0)
    expect(page.locator(".progress-bar")).to_have_count(0)
    expect(page.get_by_test_id("recovery")).to_contain_text("Открытые задачи: 0")
    expect(page.get_by_test_id("tile-nps")).to_contain_text("нет данных для этого фильтра")
    screenshot("dashboard-empty-branch-ru")
    page.set_viewport_size(PHONE)
    expect_no_horizontal_scroll(page)
    screenshot("dashboard-empty-branch-ru-phone")
    page.set_viewport_size(DESKTOP)
    # Back to all branches: the charts are drawn again in the swapped-in content.
    with page.expect_response(lambda r: "/metrics/dashboard/?" in r.url):
        page.locator("#id_branch").select_option("")
    expect(page.locator("#nps-chart")).to_have_attribute("style", re.compile("height"))
    expect(page.get_by_test_id("no-data")).to_have_count(0)


def test_the_trend_legend_says_weeks_when_weeks_have_enough_answers(
    page, clinic, visit_survey, screenshot, settings
):
    settings.METRICS_TREND_MIN_SAMPLE = 5
    today = timezone.localdate()
    monday = today - timedelta(days=today.weekday() + 28)
    for week in range(3):
        answered_visits(clinic, visit_survey, 6, score=9, day=monday + timedelta(days=7 * week))
    answered_visits(clinic, visit_survey, 2, score=1, day=monday + timedelta(days=22))
    use_language(page, "en")
    log_in(page, clinic.manager)
    end = monday + timedelta(days=27)
    page.goto(f"/metrics/dashboard/?start={monday}&end={end}")
    expect(page.get_by_test_id("trend-bucket")).to_contain_text(
        "By week: most weeks have at least 5 answers."
    )
    expect(page.locator("#nps-chart")).to_have_attribute("style", re.compile("height"))
    assert trend_legend(page) == "NPS by week"
    # The fourth week's two answers are a gap on the chart and a row that says why.
    datasets = page.evaluate(f"() => {CHART}.data.datasets.map((dataset) => dataset.data)")
    assert [value is None for value in datasets[0]] == [False, False, False, True]
    # Marked on the axis as too few answers: that week only.
    assert datasets[3] == [None, None, None, -100]
    table = page.get_by_test_id("nps-table")
    table.locator("summary").click()
    expect(table.get_by_test_id("too-few")).to_have_text("too few answers")
    screenshot("dashboard-trend-weeks-en")
    page.set_viewport_size(PHONE)
    expect_no_horizontal_scroll(page)
    screenshot("dashboard-trend-weeks-en-phone")
    # Asking for months draws months, and says it was asked for.
    with page.expect_response(lambda r: "/metrics/dashboard/?" in r.url):
        page.locator("#id_period").select_option("month")
    expect(page.get_by_test_id("trend-bucket")).to_contain_text("By month, as chosen.")
    expect(page.locator("#nps-chart")).to_have_attribute("style", re.compile("height"))
    assert trend_legend(page) == "NPS by month"
