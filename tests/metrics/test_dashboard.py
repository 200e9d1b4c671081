"""The managers' loyalty dashboard: who may see it, what it shows, how it hides small
samples, and that it costs the same queries whatever the data size."""

from datetime import UTC, date, datetime

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from clinic_crm.staff.roles import Role
from metrics.cohorts import cohorts_snapshot
from metrics.models import MetricsSettings
from tests.conftest import verified_client_for
from tests.metrics.factories import DASHBOARD_URL, answered_visits

pytestmark = pytest.mark.django_db

DAY_BEFORE = date(2026, 10, 4)


@pytest.mark.parametrize("role", [Role.DOCTOR, Role.CURATOR, Role.ADMINISTRATOR])
def test_only_managers_open_the_dashboard(make_staff, role):
    response = verified_client_for(make_staff(role)).get(DASHBOARD_URL)
    assert response.status_code == 403


def test_the_dashboard_shows_the_periods_figures_with_samples(clinic, visit_survey):
    answered_visits(clinic, visit_survey, 30, score=10)
    answered_visits(clinic, visit_survey, 10, score=3, day=date(2026, 10, 20))
    cohorts_snapshot()
    response = verified_client_for(clinic.manager).get(DASHBOARD_URL, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    page = response.context["page"]
    # 30 promoters and 10 detractors of 40: 75 % − 25 % = +50.
    assert page.figures.totals.nps.value == 50
    assert page.figures.totals.nps.n == 40
    body = response.content.decode()
    assert 'data-testid="tile-nps"' in body
    assert "n = 40" in body
    # Waiting rated 2 by the ten detractors: the least satisfying and, weighted 2 of
    # communication's 3, still the aspect to fix first? It is below average importance,
    # so it lands in "secondary"; communication is important and satisfying.
    places = {a.key: a.place for a in page.aspects}
    assert places == {"communication": "keep_up", "waiting": "secondary"}
    # The doctor has 40 answers (>= 30): ranked.
    [row] = page.doctors
    assert row.shown
    assert row.nps.value == 50
    assert page.recovery_open == 10


def test_a_doctor_below_the_minimum_sample_is_not_ranked(clinic, visit_survey):
    answered_visits(clinic, visit_survey, 31, score=9)
    answered_visits(clinic, visit_survey, 5, score=2, doctor=clinic.surgeon, day=date(2026, 9, 7))
    response = verified_client_for(clinic.manager).get(DASHBOARD_URL)
    rows = {r.pk: r for r in response.context["page"].doctors}
    assert rows[clinic.doctor.pk].shown
    assert not rows[clinic.surgeon.pk].shown
    assert 'data-testid="hidden-figure"' in response.content.decode()
    MetricsSettings.objects.filter(pk=1).update(min_sample=5)
    response = verified_client_for(clinic.manager).get(DASHBOARD_URL)
    assert all(r.shown for r in response.context["page"].doctors)


def test_this_weeks_top_reasons_follow_the_filters(clinic, visit_survey, time_machine):
    time_machine.move_to(datetime(2026, 10, 8, 9, 0, tzinfo=UTC), tick=False)
    answered_visits(clinic, visit_survey, 2, score=4, comment="Долго ждал, дорого")
    answered_visits(clinic, visit_survey, 1, score=5, comment="Ждать пришлось час", day=DAY_BEFORE)
    answered_visits(
        clinic, visit_survey, 1, score=3, doctor=clinic.surgeon, comment="Дорого", day=DAY_BEFORE
    )
    # An answer from before this week counts in the period's figures, not in its reasons.
    answered_visits(clinic, visit_survey, 1, score=2, comment="Дорого", day=date(2026, 9, 7))
    client = verified_client_for(clinic.manager)
    page = client.get(DASHBOARD_URL, HTTP_ACCEPT_LANGUAGE="en").context["page"]
    assert page.reasons == [("Long wait", 3), ("Price and payment", 3)]
    body = client.get(DASHBOARD_URL, HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Долгое ожидание" in body
    page = client.get(
        f"{DASHBOARD_URL}&doctor={clinic.surgeon.pk}", HTTP_ACCEPT_LANGUAGE="en"
    ).context["page"]
    assert page.reasons == [("Price and payment", 1)]


def test_a_bad_period_gets_a_clear_message(clinic):
    client = verified_client_for(clinic.manager)
    response = client.get("/metrics/dashboard/?start=2026-10-31&end=2026-09-01")
    assert response.status_code == 200
    assert "must not be after" in response.content.decode() or "не может быть позже" in (
        response.content.decode()
    )
    assert response.context["page"] is None
    response = client.get("/metrics/dashboard/?start=2020-01-01&end=2026-09-01")
    assert response.context["page"] is None


def test_the_dashboard_costs_the_same_queries_for_more_data(clinic, visit_survey):
    client = verified_client_for(clinic.manager)
    answered_visits(clinic, visit_survey, 3)
    cohorts_snapshot()
    client.get(DASHBOARD_URL)  # sessions, settings rows: first-request costs

    def queries_computed_then_kept():
        with CaptureQueriesContext(connection) as computed:
            first = client.get(DASHBOARD_URL)
        with CaptureQueriesContext(connection) as kept:
            again = client.get(DASHBOARD_URL)
        assert again.context["page"].figures == first.context["page"].figures
        return first, len(computed.captured_queries), len(kept.captured_queries)

    answered_visits(clinic, visit_survey, 1, score=2, day=date(2026, 9, 7))
    cohorts_snapshot()
    response, computed_small, kept_small = queries_computed_then_kept()
    assert response.context["page"].figures.totals.nps.n == 4
    answered_visits(clinic, visit_survey, 40, doctor=clinic.surgeon, day=date(2026, 9, 14))
    cohorts_snapshot()
    response, computed_large, kept_large = queries_computed_then_kept()
    # The rollups changed, so the figures were computed again, not read from the cache.
    assert response.context["page"].figures.totals.nps.n == 44
    assert (computed_large, kept_large) == (computed_small, kept_small)
    # Kept figures save the two rollup queries and the cohort snapshot's two.
    assert computed_large == kept_large + 4
    assert computed_large <= 25
    # A new answer changes the rollups, not the nightly cohort figures: those stay kept.
    answered_visits(clinic, visit_survey, 1, day=date(2026, 9, 8))
    response, computed, kept = queries_computed_then_kept()
    assert response.context["page"].figures.totals.nps.n == 45
    assert (computed, kept) == (kept_large + 2, kept_large)


@override_settings(
    CACHES={
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
)
def test_with_the_cache_down_the_dashboard_computes_its_figures(clinic, visit_survey):
    answered_visits(clinic, visit_survey, 3)
    response = verified_client_for(clinic.manager).get(DASHBOARD_URL)
    assert response.status_code == 200
    assert response.context["page"].figures.totals.nps.n == 3


def test_the_doctor_filter_lists_doctors_escaped_with_the_chosen_one_selected(clinic):
    clinic.surgeon.last_name = "<b>Хирург</b>"
    clinic.surgeon.save()
    response = verified_client_for(clinic.manager).get(
        f"{DASHBOARD_URL}&doctor={clinic.surgeon.pk}"
    )
    body = response.content.decode()
    assert f'<option value="{clinic.surgeon.pk}" selected>' in body
    assert "&lt;b&gt;Хирург&lt;/b&gt;" in body
    assert "<b>Хирург</b>" not in body


def test_a_long_league_lists_the_best_and_says_how_many_more(clinic, visit_survey, monkeypatch):
    from metrics.selectors import dashboard

    monkeypatch.setattr(dashboard, "LEAGUE_ROWS", 1)
    answered_visits(clinic, visit_survey, 3)
    answered_visits(clinic, visit_survey, 2, doctor=clinic.surgeon, day=date(2026, 9, 14))
    response = verified_client_for(clinic.manager).get(DASHBOARD_URL, HTTP_ACCEPT_LANGUAGE="en")
    assert len(response.context["page"].doctors) == 1
    assert response.context["page"].doctors_more == 1
    assert 'data-testid="league-more"' in response.content.decode()


def test_csv_export_has_what_is_shown_keeps_small_samples_hidden_and_is_audited(
    clinic, visit_survey
):
    import csv
    import io

    from clinic_crm.audit.models import AuditEvent

    answered_visits(clinic, visit_survey, 30, score=10)
    answered_visits(clinic, visit_survey, 4, score=1, doctor=clinic.surgeon, day=date(2026, 9, 7))
    client = verified_client_for(clinic.manager)
    response = client.get(DASHBOARD_URL.replace("/dashboard/", "/dashboard/export.csv"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "loyalty-2026-09-01-2026-10-31.csv" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["section", "name", "value", "n", "low_95", "high_95"]
    nps = next(r for r in rows if r[:2] == ["figure", "NPS"])
    assert nps[2:4] == [f"{100 * 26 / 34:.2f}", "34"]  # 30 promoters, 4 detractors
    doctors = [r for r in rows if r[0] == "doctor_nps"]
    assert len(doctors) == 2
    small = next(r for r in doctors if r[3] == "4")
    assert small[2] == ""  # 4 answers: below the minimum sample, not exported either
    event = AuditEvent.objects.filter(action="export").latest("id")
    assert event.details["page"] == "loyalty dashboard"
    assert event.details["filters"]["start"] == "2026-09-01"


def test_csv_export_is_for_managers_and_refuses_bad_filters(clinic, make_staff):
    export = "/metrics/dashboard/export.csv"
    assert verified_client_for(make_staff(Role.DOCTOR)).get(export).status_code == 403
    response = verified_client_for(clinic.manager).get(f"{export}?start=2026-10-31&end=2026-09-01")
    assert response.status_code == 400


def test_branch_only_figures_say_so_under_a_doctor_filter(clinic, visit_survey):
    answered_visits(clinic, visit_survey, 2)
    cohorts_snapshot()
    client = verified_client_for(clinic.manager)
    client.cookies["django_language"] = "en"
    body = client.get(f"{DASHBOARD_URL}&doctor={clinic.doctor.pk}").content.decode()
    assert body.count("kept per branch, not per doctor") == 2
    assert "kept per branch" not in client.get(DASHBOARD_URL).content.decode()
