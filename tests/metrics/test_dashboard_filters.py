"""Every figure on the loyalty dashboard follows every filter on it — the open and overdue
recovery calls included — a filter that leaves nothing says so instead of drawing, and
the page costs the same queries whatever the filter and the data."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clinic_crm.staff.roles import Role
from feedback.models import Survey
from feedback.services import survey_response_record
from journeys.models import Task
from metrics.cohorts import cohorts_snapshot
from metrics.selectors import Filters, recovery_tasks
from tests.conftest import verified_client_for
from tests.factories import BranchFactory, PatientFactory, SpecialtyFactory
from tests.journeys.factories import ServiceFactory
from tests.metrics.factories import answer

pytestmark = pytest.mark.django_db

START, END = date(2026, 9, 1), date(2026, 10, 31)
URL = f"/metrics/dashboard/?start={START}&end={END}"


@pytest.fixture
def north(make_staff):
    """A second branch with its own doctor of another specialty, and a branch with no
    visits at all."""

    class North:
        pass

    n = North()
    n.branch = BranchFactory(name="North", time_zone="Europe/Moscow")
    n.specialty = SpecialtyFactory(name="Therapy")
    n.service = ServiceFactory(name="Consultation", specialty=n.specialty, duration_minutes=30)
    n.doctor = make_staff(Role.DOCTOR, branch=n.branch)
    n.doctor.profile.specialty = n.specialty
    n.doctor.profile.save()
    n.empty = BranchFactory(name="Empty", time_zone="Europe/Moscow")
    return n


def block(body: str, testid: str) -> str:
    """The page's markup from the element marked ``testid`` to the end of its card (or
    table)."""
    part = body[body.index(f'data-testid="{testid}"') :]
    return part[: part.index("</table>" if testid.startswith("league") else "</div></div>")]


def page_for(client, query=""):
    response = client.get(URL + query, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response.context["page"], response.content.decode()


def test_open_and_overdue_recovery_calls_follow_every_filter(clinic, north, visit_survey):
    central = answer(
        visit_survey,
        branch=clinic.branch,
        doctor=clinic.doctor,
        service=clinic.service,
        count=3,
        score=2,
    )
    far = answer(
        visit_survey,
        branch=north.branch,
        doctor=north.doctor,
        service=north.service,
        count=2,
        score=4,
    )
    # An answer from before the period: its task is open, but not this period's.
    answer(
        visit_survey,
        branch=north.branch,
        doctor=north.doctor,
        service=north.service,
        count=1,
        score=0,
        day=date(2026, 8, 20),
    )
    Task.objects.filter(pk=central[0].recovery_task_id).update(
        state=Task.State.DONE, closed_at=timezone.now()
    )
    Task.objects.filter(pk=far[0].recovery_task_id).update(
        due_at=timezone.now() + timedelta(hours=5)
    )
    client = verified_client_for(clinic.manager)

    def counts(query=""):
        page, body = page_for(client, query)
        return page.recovery_open, page.recovery_overdue

    assert counts() == (4, 3)
    assert counts(f"&branch={clinic.branch.pk}") == (2, 2)
    assert counts(f"&branch={north.branch.pk}") == (2, 1)
    assert counts(f"&branch={north.empty.pk}") == (0, 0)
    assert counts(f"&doctor={north.doctor.pk}") == (2, 1)
    assert counts(f"&specialty={clinic.ortho.pk}") == (2, 2)
    assert counts(f"&stage_kind={central[1].stage_kind}&branch={clinic.branch.pk}") == (2, 2)
    assert counts("&start=2026-08-01&end=2026-08-31") == (1, 1)
    assert counts("&start=2026-10-06&end=2026-10-31") == (0, 0)
    page, body = page_for(client, f"&branch={north.branch.pk}")
    recovery = body[body.index('data-testid="recovery"') :]
    assert "Open recovery tasks: <strong>2</strong>" in recovery
    assert "overdue: <strong" in recovery


def test_a_task_two_answers_of_one_visit_share_counts_once(clinic, visit_survey):
    [first] = answer(
        visit_survey,
        branch=clinic.branch,
        doctor=clinic.doctor,
        service=clinic.service,
        count=1,
        score=1,
    )
    stage_survey = Survey.objects.get(kind=Survey.Kind.STAGE, is_active=True)
    second = survey_response_record(
        survey=stage_survey,
        visit=first.visit,
        channel="sms",
        nps_score=3,
        answers={},
        submitted_at=first.submitted_at + timedelta(hours=1),
    )
    assert second.recovery_task_id == first.recovery_task_id
    filters = Filters(start=START, end=END, branch_id=clinic.branch.pk)
    assert recovery_tasks(filters) == {"open": 1, "overdue": 1}


def test_the_recovery_count_reads_the_open_tasks_partial_index(clinic):
    # As in a clinic: many closed recovery calls, few open ones. On empty tables every
    # partial index of journeys_task costs the same and the planner picks any.
    patient = PatientFactory()
    Task.objects.bulk_create(
        Task(
            patient=patient,
            kind=Task.Kind.NEGATIVE_FEEDBACK,
            state=Task.State.DONE,
            title="Recovery call",
            due_at=timezone.now(),
        )
        for _ in range(500)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE journeys_task")
    filters = Filters(start=START, end=END, branch_id=clinic.branch.pk, doctor_id=clinic.doctor.pk)
    with CaptureQueriesContext(connection) as queries:
        recovery_tasks(filters)
    [query] = queries.captured_queries
    with connection.cursor() as cursor:
        # On a test database of a few rows a sequential scan is cheaper; forbid it to see
        # whether the index fits the query at all (its condition implied by the WHERE).
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {query['sql']}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # One of the partial indexes that hold only the open tasks (a few hundred rows in a
    # clinic), whichever the planner prefers; never one over every task ever opened.
    [scan] = [line for line in plan.splitlines() if "on journeys_task" in line]
    assert "task_open_kind_due" in scan or "task_one_open_per_cause" in scan, plan


def test_an_empty_branch_says_no_data_and_draws_no_chart_and_no_funnel_bar(
    clinic, north, visit_survey
):
    answer(
        visit_survey,
        branch=clinic.branch,
        doctor=clinic.doctor,
        service=clinic.service,
        count=4,
        score=9,
    )
    cohorts_snapshot()
    client = verified_client_for(clinic.manager)
    # The branch with answers draws both charts and the funnel's bars…
    page, body = page_for(client, f"&branch={clinic.branch.pk}")
    assert 'id="nps-chart"' in body
    assert 'id="csi-chart"' in body
    assert 'class="progress-bar"' in body
    assert 'data-testid="no-data"' not in body
    assert page.cohorts["funnel_accepted"].n == 4
    # …the empty one says so in every block, with no canvas and no bar labelled 0.
    page, body = page_for(client, f"&branch={north.empty.pk}")
    assert page.trend.empty
    assert page.cohorts["funnel_accepted"].n == 0
    assert "<canvas" not in body
    assert "progress-bar" not in body
    for testid in ("funnel", "nps-trend", "aspects", "league-doctors", "league-branches"):
        assert 'data-testid="no-data"' in block(body, testid), testid
    assert body.count("No data for this filter") == 5
    assert "no data for this filter" in block(body, "tile-nps")
    body_ru = client.get(URL + f"&branch={north.empty.pk}", HTTP_ACCEPT_LANGUAGE="ru")
    assert "Нет данных для этого фильтра" in body_ru.content.decode()


def test_a_specialty_filter_leaves_out_the_cohort_figures_it_cannot_follow(clinic, visit_survey):
    answer(
        visit_survey,
        branch=clinic.branch,
        doctor=clinic.doctor,
        service=clinic.service,
        count=3,
        score=10,
    )
    cohorts_snapshot()
    client = verified_client_for(clinic.manager)
    page, _body = page_for(client)
    assert page.cohorts["funnel_accepted"].n == 3
    assert page.cohorts["clv"].n == 3
    # The nightly cohorts are kept per branch and doctor: under a specialty filter they
    # would be the whole clinic's, so they are not shown at all, and the page says why.
    page, body = page_for(client, f"&specialty={clinic.surgery.pk}")
    assert all(figure.empty for figure in page.cohorts.values())
    assert "kept per branch and doctor, not per specialty or stage" in body
    assert "progress-bar" not in body
    # The rollup figures do follow it: the surgery has no answers.
    assert page.figures.totals.responses == 0


def test_the_dashboard_costs_the_same_queries_for_any_branch_and_more_data(
    clinic, north, visit_survey
):
    client = verified_client_for(clinic.manager)
    answer(
        visit_survey,
        branch=clinic.branch,
        doctor=clinic.doctor,
        service=clinic.service,
        count=1,
        score=3,
    )
    cohorts_snapshot()
    # Sessions, settings rows: first-request costs (another period, so that no figure
    # measured below is kept from it).
    client.get("/metrics/dashboard/?start=2026-01-01&end=2026-01-31")

    def computed(query):
        with CaptureQueriesContext(connection) as queries:
            client.get(URL + query)
        return len(queries.captured_queries)

    small = {
        "all": computed(""),
        "branch": computed(f"&branch={clinic.branch.pk}"),
        "empty": computed(f"&branch={north.empty.pk}"),
    }
    for day in (date(2026, 9, 7), date(2026, 9, 21), date(2026, 10, 12)):
        answer(
            visit_survey,
            branch=north.branch,
            doctor=north.doctor,
            service=north.service,
            count=8,
            score=2,
            day=day,
        )
        answer(
            visit_survey,
            branch=clinic.branch,
            doctor=clinic.surgeon,
            service=clinic.service,
            count=6,
            score=1,
            day=day,
        )
    cohorts_snapshot()
    assert Task.objects.filter(state__in=Task.OPEN_STATES).count() == 43
    large = {
        "all": computed(""),
        "branch": computed(f"&branch={clinic.branch.pk}"),
        "empty": computed(f"&branch={north.empty.pk}"),
    }
    assert large == small
    assert max(large.values()) <= 25
