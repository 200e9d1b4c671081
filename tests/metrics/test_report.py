"""Reports every staff member reads: their branch's figures and their own scorecard
against it, never a colleague's personal figures."""

from datetime import date

import pytest

from clinic_crm.staff.roles import Role
from journeys.models import Task
from tests.conftest import verified_client_for
from tests.factories import BranchFactory
from tests.metrics.factories import answered_visits

pytestmark = pytest.mark.django_db

URL = "/metrics/?start=2026-09-01&end=2026-10-31"


def test_a_doctor_sees_own_figures_against_the_branch_and_no_colleague(clinic, visit_survey):
    clinic.surgeon.last_name = "Хирургова"
    clinic.surgeon.save()
    answered_visits(clinic, visit_survey, 6, score=10)
    answered_visits(clinic, visit_survey, 4, score=2, doctor=clinic.surgeon, day=date(2026, 9, 7))
    response = verified_client_for(clinic.doctor).get(URL, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    report = response.context["report"]
    assert report.scorecard_kind == "doctor"
    nps = report.scorecard[0]
    assert (nps.mine.value, nps.mine.n) == (100, 6)
    assert (nps.branch.value, nps.branch.n) == (20, 10)  # 6 promoters, 4 detractors
    body = response.content.decode()
    assert "Хирургова" not in body  # no one else's figures
    assert 'data-testid="league' not in body


def test_the_report_is_the_readers_branch_only(clinic, visit_survey):
    other = BranchFactory(name="North")
    clinic.doctor.profile.branch = other
    clinic.doctor.profile.save()
    answered_visits(clinic, visit_survey, 5, score=10)  # at the clinic's Central branch
    response = verified_client_for(clinic.doctor).get(URL)
    report = response.context["report"]
    assert report.branch_name == "North"
    assert report.figures.totals.nps.n == 0
    assert report.scorecard[0].mine.n == 5  # the doctor's own answers, wherever given


def test_a_curator_sees_own_recovery_calls(clinic, visit_survey):
    from datetime import timedelta

    answered_visits(clinic, visit_survey, 2, score=2)
    Task.objects.filter(kind=Task.Kind.NEGATIVE_FEEDBACK).update(assignee=clinic.curator)
    first, second = Task.objects.filter(kind=Task.Kind.NEGATIVE_FEEDBACK).order_by("id")
    Task.objects.filter(pk=first.pk).update(
        state="done", closed_at=first.due_at - timedelta(hours=1)
    )
    response = verified_client_for(clinic.curator).get(URL, HTTP_ACCEPT_LANGUAGE="en")
    report = response.context["report"]
    assert report.scorecard_kind == "curator"
    calls = report.scorecard[0]
    assert (calls.mine.value, calls.mine.n) == (50, 2)


@pytest.mark.parametrize("role", [Role.ADMINISTRATOR, Role.DOCTOR, Role.CURATOR, Role.MANAGER])
def test_every_staff_role_reads_reports(make_staff, role):
    assert verified_client_for(make_staff(role)).get(URL).status_code == 200
