"""The active handoff rule: a visit can't be completed without a next step."""

from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from journeys.errors import JourneyError
from journeys.models import Handoff, JourneyEvent, Stage, TreatmentPlan, Visit
from journeys.services.visit_completion import BookNextVisit, FinishCare, HandOff, visit_complete
from tests.journeys.factories import VisitFactory, accepted_plan, arrived_visit, tomorrow_at

pytestmark = pytest.mark.django_db
MSK = ZoneInfo("Europe/Moscow")


def test_visit_cannot_be_completed_without_a_next_step(clinic):
    visit = arrived_visit(clinic)
    with pytest.raises(JourneyError, match="next step"):
        visit_complete(actor=clinic.doctor, visit=visit, next_step=None)
    visit.refresh_from_db()
    assert visit.status == Visit.Status.ARRIVED
    assert visit.price_charged is None


def test_complete_and_book_next_stage_in_one_step(clinic):
    plan, stages = accepted_plan(clinic)
    stages[0].status = Stage.Status.BOOKED
    stages[0].save()
    visit = arrived_visit(clinic, stage=stages[0])
    result = visit_complete(
        actor=clinic.doctor,
        visit=visit,
        next_step=BookNextVisit(
            doctor=clinic.doctor, service=clinic.service, starts_at=tomorrow_at(10)
        ),
    )
    visit.refresh_from_db()
    assert visit.status == Visit.Status.COMPLETED
    assert visit.price_charged == clinic.service.price
    assert result.next_visit.stage == stages[1]
    stages[0].refresh_from_db()
    stages[1].refresh_from_db()
    assert stages[0].status == Stage.Status.DONE
    assert stages[1].status == Stage.Status.BOOKED
    plan.refresh_from_db()
    assert plan.status == TreatmentPlan.Status.IN_PROGRESS
    kinds = set(JourneyEvent.objects.filter(patient=clinic.patient).values_list("kind", flat=True))
    assert {"stage_done", "plan_started", "visit_booked", "visit_status"} <= kinds


def test_failed_next_booking_rolls_back_the_completion(clinic):
    visit = arrived_visit(clinic)
    with pytest.raises(JourneyError):
        visit_complete(
            actor=clinic.doctor,
            visit=visit,
            next_step=BookNextVisit(
                doctor=clinic.doctor, service=clinic.service, starts_at=tomorrow_at(23)
            ),  # outside hours
        )
    visit.refresh_from_db()
    assert visit.status == Visit.Status.ARRIVED
    assert visit.completed_at is None
    assert not JourneyEvent.objects.filter(kind="visit_status", visit=visit).exists()


def test_complete_with_handoff_to_specialist(clinic):
    plan, _stages = accepted_plan(clinic)
    visit = arrived_visit(clinic)
    result = visit_complete(
        actor=clinic.doctor,
        visit=visit,
        price_charged=Decimal("500"),
        next_step=HandOff(
            to_specialty=clinic.surgery,
            reason="Wisdom tooth removal",
            due_date=timezone.localdate() + timedelta(days=10),
        ),
    )
    handoff = result.handoff
    assert handoff.state == Handoff.State.OPEN
    assert handoff.curator == clinic.curator
    assert handoff.plan == plan
    assert handoff.from_visit == visit
    visit.refresh_from_db()
    assert visit.price_charged == Decimal("500")


def test_handoff_in_the_past_is_refused(clinic):
    visit = arrived_visit(clinic)
    with pytest.raises(JourneyError, match="past"):
        visit_complete(
            actor=clinic.doctor,
            visit=visit,
            next_step=HandOff(
                to_specialty=clinic.surgery,
                reason="x",
                due_date=timezone.localdate() - timedelta(days=1),
            ),
        )
    visit.refresh_from_db()
    assert visit.status == Visit.Status.ARRIVED


def test_finish_completes_plan_and_sets_recall(clinic):
    plan, stages = accepted_plan(clinic, stages=2)
    visit = arrived_visit(clinic, stage=stages[0])
    visit_complete(
        actor=clinic.doctor,
        visit=visit,
        next_step=FinishCare(observation_months=6, note="Retainer at night"),
    )
    plan.refresh_from_db()
    assert plan.status == TreatmentPlan.Status.COMPLETED
    assert plan.recall_due_on > timezone.localdate() + timedelta(days=170)
    assert set(
        Stage.objects.filter(option=plan.chosen_option).values_list("status", flat=True)
    ) == {"done", "skipped"}


def test_finishing_care_without_a_plan_puts_the_check_up_on_the_routing_queue(clinic, time_machine):
    from journeys.models import Task
    from journeys.selectors import routing_queue
    from journeys.services.worklist import worklist_rules_run

    visit = arrived_visit(clinic)
    visit_complete(actor=clinic.doctor, visit=visit, next_step=FinishCare(observation_months=1))
    visit.refresh_from_db()
    assert visit.recall_due_on is not None
    event = JourneyEvent.objects.get(kind=JourneyEvent.Kind.CHECK_UP_PLANNED)
    assert event.visit == visit
    assert event.data["recall_due_on"] == visit.recall_due_on.isoformat()
    assert routing_queue(horizon_days=0) == []  # not due yet; the visit itself answers nothing

    time_machine.move_to(datetime.combine(visit.recall_due_on, time(12), tzinfo=MSK), tick=False)
    items = routing_queue(horizon_days=0)
    assert [(i.reason, i.patient) for i in items] == [("recall", clinic.patient)]
    assert clinic.service.name in items[0].title
    worklist_rules_run()
    task = Task.objects.get(kind=Task.Kind.RECALL_DUE)
    assert task.assignee is None
    assert task.patient == clinic.patient


def test_finishing_without_a_plan_and_without_observation_plans_no_check_up(clinic):
    visit = arrived_visit(clinic)
    visit_complete(actor=clinic.doctor, visit=visit, next_step=FinishCare(observation_months=0))
    visit.refresh_from_db()
    assert visit.recall_due_on is None
    assert not JourneyEvent.objects.filter(kind=JourneyEvent.Kind.CHECK_UP_PLANNED).exists()


def test_completing_a_scheduled_visit_is_refused(clinic):
    visit = VisitFactory(
        patient=clinic.patient,
        doctor=clinic.doctor,
        branch=clinic.branch,
        service=clinic.service,
        starts_at=tomorrow_at(9),
        ends_at=tomorrow_at(9) + timedelta(minutes=30),
    )
    with pytest.raises(JourneyError, match="came to"):
        visit_complete(actor=clinic.doctor, visit=visit, next_step=FinishCare())


def test_booking_a_handoff_visit_completes_it_on_completion(clinic):
    visit = arrived_visit(clinic)
    result = visit_complete(
        actor=clinic.doctor,
        visit=visit,
        next_step=HandOff(
            to_specialty=clinic.surgery,
            reason="Extraction",
            due_date=timezone.localdate() + timedelta(days=5),
        ),
    )
    from journeys.services.visits import visit_book

    follow = visit_book(
        actor=clinic.admin,
        patient=clinic.patient,
        doctor=clinic.surgeon,
        branch=clinic.branch,
        service=clinic.service,
        starts_at=tomorrow_at(11),
        handoff=result.handoff,
    )
    result.handoff.refresh_from_db()
    assert result.handoff.state == Handoff.State.BOOKED
    Visit.objects.filter(pk=follow.pk).update(status=Visit.Status.ARRIVED)
    visit_complete(actor=clinic.surgeon, visit=follow, next_step=FinishCare(observation_months=0))
    result.handoff.refresh_from_db()
    assert result.handoff.state == Handoff.State.COMPLETED
