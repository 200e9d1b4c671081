"""The nightly cohort snapshot on a clinic whose history is worked out by hand."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from feedback.services import survey_response_record
from journeys.models import Handoff, Task, TreatmentPlan, Visit
from metrics.cohorts import cohorts_snapshot
from metrics.models import CohortFigure
from tests.factories import PatientFactory
from tests.journeys.factories import HandoffFactory, TreatmentPlanFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def at(year, month, day):
    return datetime(year, month, day, 9, 0, tzinfo=UTC)  # 12:00 in Moscow


def visit(clinic, patient, starts_at, price=1000, status="completed"):
    return Visit.objects.create(
        patient=patient,
        doctor=clinic.doctor,
        branch=clinic.branch,
        service=clinic.service,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=30),
        status=status,
        price_charged=Decimal(price) if status == "completed" else None,
    )


def figures(metric):
    return {
        row.month.isoformat(): (row.hits, row.n, round(row.total, 3), round(row.total_sq, 3))
        for row in CohortFigure.objects.filter(metric=metric)
    }


@pytest.fixture
def history(clinic, visit_survey):
    """A: first visit 10 Jan 2026, back on 1 Mar (returned within 180 days).
    B: first visit 20 Jan 2026, back on 1 Sep (224 days: not within 180).
    C: first visit 10 May 2024, back on 1 Aug 2025 after 15 months (reactivated), nothing
       since: dormant now.
    D: first visit 1 Oct 2026 (its return window is still open), next one booked."""
    patients = {k: PatientFactory(home_branch=clinic.branch) for k in "ABCD"}
    a1 = visit(clinic, patients["A"], at(2026, 1, 10), price=1000)
    visit(clinic, patients["A"], at(2026, 3, 1), price=2000)
    visit(clinic, patients["B"], at(2026, 1, 20), price=1000)
    b2 = visit(clinic, patients["B"], at(2026, 9, 1), price=1000)
    visit(clinic, patients["C"], at(2024, 5, 10), price=1000)
    visit(clinic, patients["C"], at(2025, 8, 1), price=500)
    visit(clinic, patients["D"], at(2026, 10, 1), price=1000)
    visit(clinic, patients["D"], NOW + timedelta(days=10), status="scheduled")
    for visited, when in ((a1, at(2026, 1, 11)), (b2, at(2026, 9, 2))):
        survey_response_record(
            survey=visit_survey, visit=visited, channel="sms", nps_score=3, submitted_at=when
        )
    return patients


def test_return_rate_and_visits_per_patient_by_first_visit_month(history):
    cohorts_snapshot(now=NOW)
    # January 2026: A and B are mature; A came back within 180 days. Each had 2 visits in
    # the first year: total 4, squares 8. D (October) is not mature yet; C's May 2024
    # cohort: no return within 180 days, 1 visit in its first year.
    assert figures("return") == {"2026-01-01": (1, 2, 0, 0), "2024-05-01": (0, 1, 0, 0)}
    assert figures("visits") == {"2026-01-01": (0, 2, 4, 8), "2024-05-01": (0, 1, 1, 1)}


def test_clv_discounts_each_period_after_the_first(history):
    cohorts_snapshot(now=NOW)
    # Cost share 0.4 (the default): margin is 60 % of the price; d = 0.1 per 12 months.
    # A: 600 + 1200 = 1800; B: 600 + 600 = 1200 (both within their first 12 months).
    # C: 600 + 300 / 1.1 (the August 2025 visit is 14 months on) = 872.727.
    # D: 600.
    assert figures("clv") == {
        "2026-01-01": (0, 2, 3000, 1800**2 + 1200**2),
        "2024-05-01": (0, 1, 872.727, round(872.7272727**2, 3)),
        "2026-10-01": (0, 1, 600, 360000),
    }


def test_dormant_and_reactivated_as_of_now(history):
    cohorts_snapshot(now=NOW)
    # Patients with a completed visit: A, B, C, D; only C has had none for 12 months with
    # nothing booked. C is also the one who was dormant before and came back.
    assert figures("dormant") == {"2026-11-01": (1, 4, 0, 0)}
    assert figures("reactivated") == {"2026-11-01": (1, 1, 0, 0)}


def test_recovery_return_counts_negative_answers_followed_by_a_visit(history):
    cohorts_snapshot(now=NOW)
    # A answered badly in January and came back in March; B answered badly in September
    # and has not been back.
    assert figures("recovery_return") == {"2026-01-01": (1, 1, 0, 0), "2026-09-01": (0, 1, 0, 0)}


def test_the_visit_answered_about_is_no_return_even_when_answered_before_it_started(
    clinic, visit_survey
):
    # An early arrival answered (badly) before the booked start: that same visit,
    # completed afterwards, is not the patient coming back.
    patient = PatientFactory(home_branch=clinic.branch)
    answered = visit(clinic, patient, at(2026, 10, 5))
    survey_response_record(
        survey=visit_survey,
        visit=answered,
        channel="sms",
        nps_score=3,
        submitted_at=at(2026, 10, 5) - timedelta(minutes=20),
    )
    cohorts_snapshot(now=NOW)
    assert figures("recovery_return") == {"2026-10-01": (0, 1, 0, 0)}
    visit(clinic, patient, at(2026, 11, 1))  # now they did come back
    cohorts_snapshot(now=NOW)
    assert figures("recovery_return") == {"2026-10-01": (1, 1, 0, 0)}


def test_completion_handoffs_and_first_contact(clinic):
    def plan(status, **fields):
        return TreatmentPlanFactory(
            patient=clinic.patient,
            branch=clinic.branch,
            lead_doctor=clinic.doctor,
            status=status,
            accepted_at=at(2026, 3, 1),
            **fields,
        )

    plan(TreatmentPlan.Status.COMPLETED, completed_at=at(2026, 6, 15))
    abandoned = plan(TreatmentPlan.Status.ABANDONED, abandon_reason="Moved away")
    stalled = plan(TreatmentPlan.Status.IN_PROGRESS)
    plan(TreatmentPlan.Status.IN_PROGRESS)  # on track: not counted yet
    TreatmentPlan.objects.filter(pk=abandoned.pk).update(updated_at=at(2026, 11, 2))
    Task.objects.create(
        kind=Task.Kind.STALLED_JOURNEY,
        patient=clinic.patient,
        plan=stalled,
        cause_key=f"stalled:{stalled.pk}",
        title="Stalled",
        due_at=NOW,
    )
    for state in (Handoff.State.BOOKED, Handoff.State.OPEN, Handoff.State.COMPLETED):
        handoff = HandoffFactory(patient=clinic.patient, from_doctor=clinic.doctor, state=state)
        Handoff.objects.filter(pk=handoff.pk).update(created_at=at(2026, 10, 5))
    for hours in (3, 5):
        task = Task.objects.create(
            kind=Task.Kind.BOOKING_REQUEST,
            patient=clinic.patient,
            cause_key=f"request:{hours}",
            title="Wants a visit",
            due_at=NOW,
            state=Task.State.DONE,
            outcome="Booked",
        )
        Task.objects.filter(pk=task.pk).update(
            created_at=at(2026, 10, 7), closed_at=at(2026, 10, 7) + timedelta(hours=hours)
        )
    cohorts_snapshot(now=NOW)
    # Completed in June; abandoned in November; stalled now (November).
    assert figures("completion") == {"2026-06-01": (1, 1, 0, 0), "2026-11-01": (0, 2, 0, 0)}
    assert figures("handoff") == {"2026-10-01": (2, 3, 0, 0)}
    assert figures("first_contact") == {"2026-10-01": (0, 2, 8, 34)}


def test_the_snapshot_replaces_the_previous_one(history):
    cohorts_snapshot(now=NOW)
    first = CohortFigure.objects.count()
    cohorts_snapshot(now=NOW)
    assert CohortFigure.objects.count() == first


def test_cohort_figures_add_up_the_months_of_the_period(history, clinic):
    from datetime import date

    from metrics.selectors import Filters, cohort_figures

    cohorts_snapshot(now=NOW)
    year = cohort_figures(Filters(start=date(2026, 1, 1), end=date(2026, 11, 20)))
    assert year["return"].value == 50  # A of A and B
    assert year["return"].n == 2
    assert year["clv"].value == pytest.approx((1800 + 1200 + 600) / 3)
    assert year["recovery_return"].value == 50
    # As of today, whatever the period: C of A, B, C, D.
    assert year["dormant"].value == 25
    spring = cohort_figures(Filters(start=date(2026, 3, 1), end=date(2026, 5, 31)))
    assert spring["return"].value is None  # no first visits then
    assert spring["dormant"].value == 25
    other_doctor = cohort_figures(
        Filters(start=date(2026, 1, 1), end=date(2026, 11, 20), doctor_id=clinic.surgeon.pk)
    )
    assert other_doctor["clv"].n == 0


def test_the_funnel_counts_new_patients_who_accepted_and_completed_a_plan(history, clinic):
    for key, status in (
        ("A", TreatmentPlan.Status.COMPLETED),
        ("B", TreatmentPlan.Status.IN_PROGRESS),
    ):
        TreatmentPlanFactory(
            patient=history[key],
            branch=clinic.branch,
            lead_doctor=clinic.doctor,
            status=status,
            accepted_at=at(2026, 1, 25),
            completed_at=at(2026, 6, 1) if status == TreatmentPlan.Status.COMPLETED else None,
        )
    TreatmentPlanFactory(  # proposed, never accepted
        patient=history["D"], branch=clinic.branch, lead_doctor=clinic.doctor, status="proposed"
    )
    cohorts_snapshot(now=NOW)
    # January 2026: A and B both accepted, A completed.
    assert figures("funnel_accepted")["2026-01-01"] == (2, 2, 0, 0)
    assert figures("funnel_completed")["2026-01-01"] == (1, 2, 0, 0)
    assert figures("funnel_accepted")["2026-10-01"] == (0, 1, 0, 0)  # D: proposed only


def test_resurvey_improvement_compares_the_next_answer_with_the_negative_one(
    history, clinic, visit_survey
):
    # A answered 3 after the January visit; the March visit's answer is 9: +6 points.
    march = Visit.objects.get(patient=history["A"], starts_at=at(2026, 3, 1))
    survey_response_record(
        survey=visit_survey, visit=march, channel="sms", nps_score=9, submitted_at=at(2026, 3, 2)
    )
    cohorts_snapshot(now=NOW)
    # B's negative September answer has no later one: not counted.
    assert figures("resurvey") == {"2026-01-01": (1, 1, 6, 36)}


def test_a_patient_dormant_since_their_only_visit_is_not_counted_as_back(clinic):
    # Their one visit has no gap before it: "came back" must be false, not unknown, or
    # the branch's figure (every patient like this one) could not be stored.
    visit(clinic, PatientFactory(home_branch=clinic.branch), at(2025, 6, 1))
    cohorts_snapshot(now=NOW)
    assert figures("reactivated") == {"2026-11-01": (0, 1, 0, 0)}
    assert figures("dormant") == {"2026-11-01": (1, 1, 0, 0)}
