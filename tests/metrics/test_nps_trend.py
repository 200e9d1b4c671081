"""The NPS trend shows a week's or month's score only from the minimum sample, with its
95 % interval, leaves the smaller buckets as gaps that say why, and chooses weeks or
months by how many answers there are."""

import math
from datetime import date

import pytest
from django.test import override_settings

from metrics import formulas
from metrics.trend import (
    CHOSEN,
    ENOUGH,
    LONG,
    MONTH,
    SPARSE,
    WEEK,
    bucket_spans,
    choose_bucket,
    nps_trend,
)
from tests.conftest import verified_client_for
from tests.metrics.factories import answer

OCT = (date(2026, 10, 5), date(2026, 11, 1))  # four whole weeks, Monday to Sunday


def weeks_of(*counts, start=date(2026, 10, 5), promoters_share=1.0):
    """NPS figures for consecutive weeks with the given numbers of answers."""
    figures = {}
    for i, n in enumerate(counts):
        promoters = round(n * promoters_share)
        figures[date.fromordinal(start.toordinal() + 7 * i)] = formulas.nps(
            promoters, 0, n - promoters
        )
    return figures


# --- The buckets -----------------------------------------------------------------------


def test_every_bucket_the_period_touches_is_listed_empty_ones_and_edges_cut_to_it():
    spans = bucket_spans(date(2026, 9, 30), date(2026, 10, 14), WEEK)
    assert spans == [
        (date(2026, 9, 28), date(2026, 9, 30), date(2026, 10, 4)),
        (date(2026, 10, 5), date(2026, 10, 5), date(2026, 10, 11)),
        (date(2026, 10, 12), date(2026, 10, 12), date(2026, 10, 14)),
    ]
    assert bucket_spans(date(2026, 11, 15), date(2027, 1, 10), MONTH) == [
        (date(2026, 11, 1), date(2026, 11, 15), date(2026, 11, 30)),
        (date(2026, 12, 1), date(2026, 12, 1), date(2026, 12, 31)),
        (date(2027, 1, 1), date(2027, 1, 1), date(2027, 1, 10)),
    ]


# --- The minimum sample and the interval -----------------------------------------------


def test_a_bucket_below_the_minimum_sample_keeps_its_count_but_shows_no_score():
    weeks = weeks_of(30, 29, 0, 31, promoters_share=0.5)
    trend = nps_trend(start=OCT[0], end=OCT[1], weeks=weeks, months={}, bucket=WEEK, min_sample=30)
    assert trend.reason == CHOSEN
    assert [(p.nps.n, p.shown, p.too_small) for p in trend.points] == [
        (30, True, False),
        (29, False, True),  # one answer short: a gap, not a score
        (0, False, False),  # no answers at all
        (31, True, False),
    ]
    assert trend.shown == 2
    assert not trend.empty


def test_a_shown_score_carries_the_adjusted_wald_interval_of_its_answers():
    # 60 answers: 36 promoters, 12 passives, 12 detractors: NPS = 60 % − 20 % = +40.
    weeks = {OCT[0]: formulas.nps(36, 12, 12)}
    [point, *_rest] = nps_trend(
        start=OCT[0], end=OCT[1], weeks=weeks, months={}, bucket=WEEK, min_sample=30
    ).points
    assert point.nps.value == pytest.approx(40)
    # var = p + d − (p − d)² over the adjusted counts (n + 3, each share + ¾).
    n = 63
    p, d = 36.75 / n, 12.75 / n
    margin = 1.959963984540054 * math.sqrt((p + d - (p - d) ** 2) / n)
    assert point.nps.low == pytest.approx(100 * (p - d - margin))
    assert point.nps.high == pytest.approx(100 * (p - d + margin))
    assert point.nps.low < 40 < point.nps.high


def test_no_answers_at_all_is_an_empty_trend():
    trend = nps_trend(start=OCT[0], end=OCT[1], weeks={}, months={}, min_sample=30)
    assert trend.empty
    assert all(not p.shown for p in trend.points)


# --- Weeks or months -------------------------------------------------------------------


def test_weeks_when_most_weeks_reach_the_minimum_months_when_most_fall_short():
    assert choose_bucket(*OCT, weeks_of(30, 40, 12, 35), 30) == (WEEK, ENOUGH)
    assert choose_bucket(*OCT, weeks_of(30, 40, 12, 5), 30) == (WEEK, ENOUGH)  # half: weeks
    assert choose_bucket(*OCT, weeks_of(30, 4, 12, 5), 30) == (MONTH, SPARSE)
    # A week with no answers at all falls short too.
    assert choose_bucket(*OCT, weeks_of(30, 40), 30) == (WEEK, ENOUGH)
    assert choose_bucket(*OCT, weeks_of(30), 30) == (MONTH, SPARSE)


def test_months_for_a_long_period_whatever_the_data():
    start, end = date(2026, 1, 1), date(2026, 12, 31)
    dense = weeks_of(*[100] * 53, start=date(2025, 12, 29))
    assert choose_bucket(start, end, dense, 30) == (MONTH, LONG)
    assert choose_bucket(date(2026, 6, 1), date(2026, 11, 30), dense, 30) == (WEEK, ENOUGH)


def test_a_chosen_bucket_is_kept_and_auto_picks_the_months_figures():
    weeks = weeks_of(3, 4, 5, 6)
    months = {date(2026, 10, 1): formulas.nps(12, 0, 0), date(2026, 11, 1): formulas.nps(6, 0, 0)}
    chosen = nps_trend(
        start=OCT[0], end=OCT[1], weeks=weeks, months=months, bucket=WEEK, min_sample=10
    )
    assert (chosen.bucket, chosen.reason, chosen.shown) == (WEEK, CHOSEN, 0)
    auto = nps_trend(start=OCT[0], end=OCT[1], weeks=weeks, months=months, min_sample=10)
    assert (auto.bucket, auto.reason) == (MONTH, SPARSE)
    assert [(p.start, p.end, p.nps.n, p.shown) for p in auto.points] == [
        (date(2026, 10, 5), date(2026, 10, 31), 12, True),
        (date(2026, 11, 1), date(2026, 11, 1), 6, False),
    ]


# --- On the dashboard ------------------------------------------------------------------


@pytest.fixture
def october(clinic, visit_survey):
    """Three weeks of October: 30, 8 and 31 answers (detractors in the small week)."""
    for day, count, score in (
        (date(2026, 10, 5), 30, 10),
        (date(2026, 10, 12), 8, 0),
        (date(2026, 10, 19), 31, 9),
    ):
        for offset in range(0, count, 10):  # at most ten visits a day
            answer(
                visit_survey,
                branch=clinic.branch,
                doctor=clinic.doctor,
                service=clinic.service,
                count=min(10, count - offset),
                score=score,
                day=date.fromordinal(day.toordinal() + offset // 10),
            )
    return clinic


def dashboard(clinic, query):
    response = verified_client_for(clinic.manager).get(
        f"/metrics/dashboard/?start=2026-10-05&end=2026-10-25{query}", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    return response


def test_the_dashboard_draws_only_buckets_with_enough_answers(october):
    response = dashboard(october, "")
    trend = response.context["page"].trend
    assert (trend.bucket, trend.reason) == (WEEK, ENOUGH)  # two weeks of three reach 30
    points = response.context["charts"]["trend"]["points"]
    assert [(p["n"], p["shown"]) for p in points] == [(30, True), (8, False), (31, True)]
    # The week of 8 detractors would read −100: it is a gap that says why.
    assert points[1]["value"] is None
    assert points[1]["low"] is None
    assert points[1]["detractors"] is None
    assert points[1]["note"] == "8 answers: too few for a score (from 30)"
    assert points[0]["value"] == 100
    assert points[2]["low"] < 100 <= points[2]["high"]
    body = response.content.decode()
    assert 'data-bucket="week"' in body
    assert "By week: most weeks have at least 30 answers." in body
    assert body.count('data-testid="too-few"') == 1
    assert response.context["charts"]["labels"]["nps"] == "NPS by week"


def test_the_minimum_sample_is_a_setting_and_fewer_answers_give_months(october):
    with override_settings(METRICS_TREND_MIN_SAMPLE=31):
        response = dashboard(october, "")
    trend = response.context["page"].trend
    assert (trend.bucket, trend.reason, trend.min_sample) == (MONTH, SPARSE, 31)
    [month] = response.context["charts"]["trend"]["points"]
    assert (month["n"], month["shown"]) == (69, True)
    body = response.content.decode()
    assert 'data-bucket="month"' in body
    assert "By month: most weeks have fewer than 31 answers." in body
    assert response.context["charts"]["labels"]["nps"] == "NPS by month"
    with override_settings(METRICS_TREND_MIN_SAMPLE=5):
        response = dashboard(october, "&period=week")
    assert response.context["page"].trend.shown == 3
    assert "By week, as chosen." in response.content.decode()


def test_the_export_keeps_a_small_buckets_score_hidden(october):
    import csv
    import io

    response = verified_client_for(october.manager).get(
        "/metrics/dashboard/export.csv?start=2026-10-05&end=2026-10-25"
    )
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    weeks = [r for r in rows if r[0] == "nps_week"]
    assert [(r[1], r[2], r[3]) for r in weeks] == [
        ("2026-10-05", "100.00", "30"),
        ("2026-10-12", "", "8"),
        ("2026-10-19", "100.00", "31"),
    ]


def test_the_trend_speaks_russian(october):
    response = verified_client_for(october.manager).get(
        "/metrics/dashboard/?start=2026-10-05&end=2026-10-25", HTTP_ACCEPT_LANGUAGE="ru"
    )
    body = response.content.decode()
    assert "По неделям: в большинстве недель ответов не меньше 30." in body
    assert response.context["charts"]["labels"]["nps"] == "NPS по неделям"
    assert response.context["charts"]["trend"]["points"][1]["note"] == (
        "8 ответов: мало для оценки (нужно не меньше 30)"
    )
