"""Rollups: kept current by the triggers' queue and the refresh, equal to a direct
computation from the raw rows on random data — also after visits move, are cancelled,
and responses arrive late for past days — and equal to a full rebuild."""

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from feedback.services import survey_response_record
from journeys.models import Task, Visit
from metrics.models import (
    DailyAttributeRollup,
    DailyReasonRollup,
    DailyRollup,
    PeriodRollup,
    RollupDirty,
)
from metrics.rollups import bucket_of, rollups_rebuild, rollups_refresh
from metrics.selectors import COUNTS, Filters, dashboard_figures, top_reasons
from tests.factories import BranchFactory, PatientFactory
from tests.journeys.factories import ServiceFactory, StageFactory, TreatmentPlanFactory

pytestmark = pytest.mark.django_db

DAY = date(2026, 10, 5)
MOSCOW_NOON = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)


def visit(clinic, *, starts_at=MOSCOW_NOON, status="completed", price="2500", **fields):
    fields.setdefault("patient", clinic.patient)
    fields.setdefault("doctor", clinic.doctor)
    fields.setdefault("branch", clinic.branch)
    fields.setdefault("service", clinic.service)
    return Visit.objects.create(
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=30),
        status=status,
        price_charged=Decimal(price) if status == "completed" else None,
        **fields,
    )


def test_a_day_of_visits_and_answers_rolls_up_to_hand_counted_figures(clinic, visit_survey):
    survey = visit_survey
    first = visit(clinic, price="3000")
    visit(clinic, starts_at=MOSCOW_NOON + timedelta(hours=1), price="1500")
    visit(clinic, starts_at=MOSCOW_NOON + timedelta(hours=2), status="no_show")
    visit(clinic, starts_at=MOSCOW_NOON + timedelta(hours=3), status="cancelled_by_patient")
    visit(clinic, starts_at=MOSCOW_NOON + timedelta(hours=4), status="scheduled")  # not counted
    survey_response_record(
        survey=survey,
        visit=first,
        channel="sms",
        nps_score=10,
        answers={"communication": 5, "waiting": 3},
    )
    assert RollupDirty.objects.exists()  # queued by the triggers, not by the test
    rollups_refresh()
    assert not RollupDirty.objects.exists()
    row = DailyRollup.objects.get()
    assert (row.day, row.branch, row.doctor, row.specialty, row.stage_kind) == (
        DAY,
        clinic.branch,
        clinic.doctor,
        clinic.ortho,
        "none",
    )
    assert (row.visits_completed, row.visits_no_show, row.visits_cancelled) == (2, 1, 1)
    assert row.revenue == Decimal("4500.00")
    assert (row.responses, row.promoters, row.passives, row.detractors) == (1, 1, 0, 0)
    assert (row.csi_responses, row.negative) == (1, 0)
    answers = {
        a.attribute.key: (a.answers, a.total, a.total_sq)
        for a in DailyAttributeRollup.objects.select_related("attribute")
    }
    assert answers == {"communication": (1, 5, 25), "waiting": (1, 3, 9)}
    totals = dashboard_figures(Filters(start=DAY, end=DAY)).totals
    assert totals.nps.value == 100
    assert totals.no_show_rate.value == pytest.approx(100 / 3)


def test_any_write_path_queues_the_day_and_a_move_refreshes_both_days(clinic):
    moved = visit(clinic)
    rollups_refresh()
    # Straight SQL-level update, no service involved: the trigger still queues both days.
    Visit.objects.filter(pk=moved.pk).update(
        starts_at=MOSCOW_NOON + timedelta(days=3),
        ends_at=MOSCOW_NOON + timedelta(days=3, minutes=30),
    )
    assert RollupDirty.objects.count() == 2
    rollups_refresh()
    assert list(DailyRollup.objects.values_list("day", "visits_completed")) == [
        (DAY + timedelta(days=3), 1)
    ]
    Visit.objects.filter(pk=moved.pk).update(status="cancelled_by_clinic")
    rollups_refresh()
    assert list(DailyRollup.objects.values_list("visits_completed", "visits_cancelled")) == [(0, 1)]


def test_the_clinic_day_is_the_date_at_the_branch(clinic):
    far = BranchFactory(name="Vladivostok", time_zone="Asia/Vladivostok")
    # 15:30 UTC on 5 October is 01:30 on 6 October in Vladivostok.
    visit(clinic, branch=far, starts_at=datetime(2026, 10, 5, 15, 30, tzinfo=UTC))
    rollups_refresh()
    assert list(DailyRollup.objects.values_list("day", flat=True)) == [date(2026, 10, 6)]


def test_recovery_in_time_counts_once_the_task_is_done_within_24_hours(clinic, visit_survey):
    survey = visit_survey
    answered = MOSCOW_NOON + timedelta(hours=5)
    unhappy = survey_response_record(
        survey=survey, visit=visit(clinic), channel="sms", nps_score=2, submitted_at=answered
    )
    late = survey_response_record(
        survey=survey,
        visit=visit(clinic, starts_at=MOSCOW_NOON + timedelta(hours=1)),
        channel="sms",
        nps_score=3,
        submitted_at=answered,
    )
    rollups_refresh()
    row = DailyRollup.objects.get()
    assert (row.negative, row.negative_contacted_in_time) == (2, 0)
    Task.objects.filter(pk=unhappy.recovery_task_id).update(
        state="done", closed_at=answered + timedelta(hours=3), outcome="Called, apologised"
    )
    Task.objects.filter(pk=late.recovery_task_id).update(
        state="done", closed_at=answered + timedelta(hours=30), outcome="Called"
    )
    rollups_refresh()
    row = DailyRollup.objects.get()  # the day's rows are recomputed whole
    assert (row.negative, row.negative_contacted_in_time) == (2, 1)
    assert dashboard_figures(Filters(start=DAY, end=DAY)).totals.contacted_within_sla.value == 50


# --- property test ---------------------------------------------------------------------


# Comments naming no reason, one, or two ("wait" and "price" stems of the starting reasons).
COMMENTS = ["", "", "Всё отлично", "Долго ждал приёма", "Дорого, и ждать пришлось долго"]


def _random_clinic(rng, clinic):
    far = BranchFactory(name="Vladivostok", time_zone="Asia/Vladivostok")
    other = ServiceFactory(name="Implant", specialty=clinic.surgery, category="Surgery")
    plan = TreatmentPlanFactory(
        patient=clinic.patient, branch=clinic.branch, lead_doctor=clinic.doctor
    )
    stages = [
        StageFactory(option__plan=plan, specialty=clinic.ortho, significant=False),
        StageFactory(option__plan=plan, specialty=clinic.ortho, significant=True),
    ]
    patients = PatientFactory.create_batch(6, home_branch=clinic.branch)
    places = [
        (clinic.doctor, clinic.branch),
        (clinic.surgeon, clinic.branch),
        (clinic.surgeon, far),
    ]
    visits = []
    # Distinct hours, so no doctor is booked twice at once (the exclusion constraint).
    for slot in rng.sample(range(40 * 24), 70):
        doctor, branch = rng.choice(places)
        status = rng.choice(["completed"] * 5 + ["no_show", "cancelled_by_patient", "scheduled"])
        visits.append(
            visit(
                clinic,
                patient=rng.choice(patients),
                doctor=doctor,
                branch=branch,
                service=rng.choice([clinic.service, other]),
                stage=rng.choice([None, None, *stages]),
                starts_at=datetime(2026, 9, 1, tzinfo=UTC) + timedelta(hours=slot),
                status=status,
                price=str(rng.randrange(500, 9000)),
            )
        )
    return visits


def _respond(rng, survey, visits, *, when):
    for v in visits:
        if v.status != "completed" or v.responses.exists() or rng.random() < 0.3:
            continue
        survey_response_record(
            survey=survey,
            visit=v,
            channel="sms",
            nps_score=rng.choice([None, *range(11)]),
            answers={key: rng.choice([None, 1, 2, 3, 4, 5]) for key in ("communication", "waiting")}
            | {"communication": rng.randrange(1, 6)},
            comment=rng.choice(COMMENTS),
            submitted_at=when,
        )


def _assert_rollups_match_raw(clinic):
    # Whole buckets and edge days; a week across a month's end; no whole bucket at all.
    periods = [
        (date(2026, 9, 1), date(2026, 10, 20)),
        (date(2026, 9, 10), date(2026, 9, 17)),
        (date(2026, 9, 26), date(2026, 10, 6)),
        (date(2026, 9, 15), date(2026, 9, 16)),
    ]
    named = 0
    for start, end in periods:
        for extra in (
            {},
            {"branch_id": clinic.branch.pk},
            {"doctor_id": clinic.surgeon.pk},
            {"specialty_id": clinic.ortho.pk},
            {"stage_kind": "significant"},
            {"stage_kind": "none", "doctor_id": clinic.doctor.pk},
        ):
            filters = Filters(start=start, end=end, **extra)
            assert dashboard_figures(filters) == dashboard_figures(filters, source="raw")
            reasons = top_reasons(filters, limit=50)
            assert reasons == top_reasons(filters, limit=50, source="raw")
            named += sum(n for _name, n in reasons)
    assert named  # the comments named reasons: the comparison was not of two empty lists


def _snapshot():
    return (
        sorted(
            PeriodRollup.objects.values_list(
                "day", "branch_id", "doctor_id", "specialty_id", "stage_kind", *COUNTS
            )
        ),
        sorted(
            DailyRollup.objects.values_list(
                "day", "branch_id", "doctor_id", "specialty_id", "stage_kind", *COUNTS
            )
        ),
        sorted(
            DailyReasonRollup.objects.values_list(
                "day",
                "branch_id",
                "doctor_id",
                "specialty_id",
                "stage_kind",
                "reason_id",
                "answers",
            )
        ),
        sorted(
            DailyAttributeRollup.objects.values_list(
                "day",
                "branch_id",
                "doctor_id",
                "stage_kind",
                "attribute_id",
                "answers",
                "total",
                "total_sq",
            )
        ),
    )


@pytest.mark.parametrize("seed", range(4))
def test_rollups_equal_a_direct_computation_on_random_data(
    clinic, seed, time_machine, visit_survey
):
    rng = random.Random(seed)
    time_machine.move_to(datetime(2026, 10, 25, 9, 0, tzinfo=UTC), tick=False)
    survey = visit_survey
    visits = _random_clinic(rng, clinic)
    _respond(rng, survey, visits, when=timezone.now())
    rollups_refresh()
    _assert_rollups_match_raw(clinic)

    # Visits move (some to another doctor), are cancelled, marked no-show; responses
    # arrive late for past days; recovery tasks close, some within the day, some late.
    for v in rng.sample(visits, 15):
        v.refresh_from_db()
        action = rng.choice(["move", "cancel", "no_show", "complete"])
        if action == "move":
            shift = timedelta(days=rng.randrange(-5, 6), minutes=30)
            try:
                with transaction.atomic():
                    Visit.objects.filter(pk=v.pk).update(
                        starts_at=v.starts_at + shift, ends_at=v.ends_at + shift
                    )
            except IntegrityError:  # the doctor is busy then: the calendar refuses it too
                pass
        elif action == "cancel":
            Visit.objects.filter(pk=v.pk).update(status="cancelled_by_clinic")
        elif action == "no_show":
            Visit.objects.filter(pk=v.pk).update(status="no_show", price_charged=None)
        else:
            Visit.objects.filter(pk=v.pk).update(status="completed", price_charged=Decimal(700))
    for v in visits:
        v.refresh_from_db()
    time_machine.move_to(datetime(2026, 11, 20, 9, 0, tzinfo=UTC), tick=False)
    _respond(rng, survey, visits, when=timezone.now())
    for task in Task.objects.filter(kind=Task.Kind.NEGATIVE_FEEDBACK):
        response = task.responses.get()
        Task.objects.filter(pk=task.pk).update(
            state="done",
            outcome="Called",
            closed_at=response.submitted_at + timedelta(hours=rng.choice([2, 23, 25, 60])),
        )
    rollups_refresh()
    _assert_rollups_match_raw(clinic)

    incremental = _snapshot()
    DailyRollup.objects.all().delete()
    DailyAttributeRollup.objects.all().delete()
    DailyReasonRollup.objects.all().delete()
    PeriodRollup.objects.all().delete()
    rollups_rebuild()
    assert _snapshot() == incremental


def test_rebuild_metrics_command_shows_progress_and_rebuilds(clinic):
    from io import StringIO

    from django.core.management import call_command

    visit(clinic)
    visit(clinic, starts_at=MOSCOW_NOON + timedelta(days=40), status="no_show")
    DailyRollup.objects.all().delete()  # as if lost: the rebuild must bring them back
    out = StringIO()
    call_command("rebuild_metrics", stdout=out)
    text = out.getvalue()
    assert "] 2/2 months" in text  # October and November
    assert "Rebuilt 2 rollup rows" in text
    assert sorted(DailyRollup.objects.values_list("day", "visits_completed", "visits_no_show")) == [
        (DAY, 1, 0),
        (DAY + timedelta(days=40), 0, 1),
    ]


@pytest.mark.parametrize(
    ("day", "bucket"),
    [
        (date(2026, 9, 30), (date(2026, 9, 28), date(2026, 10, 1))),  # Wednesday, month's end
        (date(2026, 10, 1), (date(2026, 10, 1), date(2026, 10, 5))),  # Thursday, the 1st
        (date(2026, 10, 5), (date(2026, 10, 5), date(2026, 10, 12))),  # a whole week
        (date(2026, 11, 29), (date(2026, 11, 23), date(2026, 11, 30))),  # Sunday
    ],
)
def test_a_bucket_is_a_weeks_days_within_one_month(day, bucket):
    assert bucket_of(day) == bucket


def test_period_rollups_follow_the_daily_ones(clinic):
    visit(clinic)  # Monday 5 October
    visit(clinic, starts_at=MOSCOW_NOON + timedelta(days=2), status="no_show")
    rollups_refresh()
    assert list(PeriodRollup.objects.values_list("day", "visits_completed", "visits_no_show")) == [
        (DAY, 1, 1)
    ]
    Visit.objects.filter(status="no_show").update(status="completed", price_charged=100)
    rollups_refresh()
    assert list(PeriodRollup.objects.values_list("day", "visits_completed", "revenue")) == [
        (DAY, 2, Decimal("2600.00"))
    ]
