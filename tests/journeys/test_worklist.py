"""Rules open one task per cause, close it when the cause is gone; the routing queue."""

from datetime import timedelta

import pytest
from django.utils import timezone

from journeys.models import Handoff, Stage, Task, TreatmentPlan, Visit
from journeys.selectors import routing_queue
from journeys.selectors_worklist import worklist
from journeys.services.handoffs import handoff_create
from journeys.services.worklist import health_score, worklist_rules_run
from tests.factories import BranchFactory
from tests.journeys.factories import HandoffFactory, VisitFactory, accepted_plan, tomorrow_at

pytestmark = pytest.mark.django_db


def overdue(stage, days):
    Stage.objects.filter(pk=stage.pk).update(
        window_start=timezone.localdate() - timedelta(days=days + 14),
        window_end=timezone.localdate() - timedelta(days=days),
    )


def test_health_score_formula():
    assert health_score(overdue_days=0, no_shows=0, cancellations=0, lost_handoffs=0) == 0
    assert health_score(overdue_days=10, no_shows=1, cancellations=2, lost_handoffs=0) == 45
    assert health_score(overdue_days=100, no_shows=3, cancellations=0, lost_handoffs=1) == 100


def test_stalled_journey_opens_one_task_and_closes_when_booked(clinic):
    plan, stages = accepted_plan(clinic)
    overdue(stages[0], days=10)
    first = worklist_rules_run()
    second = worklist_rules_run()
    assert first["rule_stalled_journeys"].opened == 1
    assert second["rule_stalled_journeys"].opened == 0
    task = Task.objects.get(kind=Task.Kind.STALLED_JOURNEY)
    assert task.assignee == clinic.curator
    assert task.plan == plan
    assert "Step 0" in task.title
    assert task.risk == health_score(overdue_days=10, no_shows=0, cancellations=0, lost_handoffs=0)
    VisitFactory(
        patient=clinic.patient,
        doctor=clinic.doctor,
        branch=clinic.branch,
        service=clinic.service,
        starts_at=tomorrow_at(10),
        ends_at=tomorrow_at(10) + timedelta(minutes=30),
    )
    result = worklist_rules_run(patient_id=clinic.patient.pk)
    assert result["rule_stalled_journeys"].closed == 1
    task.refresh_from_db()
    assert task.state == Task.State.DONE


def test_stage_not_yet_overdue_by_n_days_opens_nothing(clinic, settings):
    settings.JOURNEY_STALLED_AFTER_DAYS = 7
    _plan, stages = accepted_plan(clinic)
    overdue(stages[0], days=3)
    worklist_rules_run()
    assert not Task.objects.exists()


def test_no_shows_raise_the_risk(clinic):
    _plan, stages = accepted_plan(clinic)
    overdue(stages[0], days=10)
    start = timezone.now() - timedelta(days=20)
    VisitFactory(
        patient=clinic.patient,
        doctor=clinic.doctor,
        branch=clinic.branch,
        service=clinic.service,
        starts_at=start,
        ends_at=start + timedelta(minutes=30),
        status=Visit.Status.NO_SHOW,
    )
    worklist_rules_run()
    assert Task.objects.get().risk == 2 * 10 + 15


def test_handoff_not_booked_in_time_opens_task_for_curator(clinic):
    plan, _ = accepted_plan(clinic)
    handoff = HandoffFactory(
        patient=clinic.patient,
        plan=plan,
        from_doctor=clinic.doctor,
        to_specialty=clinic.surgery,
        curator=clinic.curator,
    )
    worklist_rules_run()
    assert not Task.objects.filter(kind=Task.Kind.HANDOFF_NOT_BOOKED).exists()  # grace period
    Handoff.objects.filter(pk=handoff.pk).update(created_at=timezone.now() - timedelta(days=4))
    worklist_rules_run()
    task = Task.objects.get(kind=Task.Kind.HANDOFF_NOT_BOOKED)
    assert task.assignee == clinic.curator
    Handoff.objects.filter(pk=handoff.pk).update(state=Handoff.State.BOOKED)
    worklist_rules_run()
    task.refresh_from_db()
    assert task.state == Task.State.DONE


def test_recall_due_opens_task(clinic):
    plan, _ = accepted_plan(clinic)
    TreatmentPlan.objects.filter(pk=plan.pk).update(
        status=TreatmentPlan.Status.COMPLETED, recall_due_on=timezone.localdate()
    )
    worklist_rules_run()
    worklist_rules_run()
    assert Task.objects.filter(kind=Task.Kind.RECALL_DUE).count() == 1


def test_a_recall_is_answered_by_the_check_up_and_stays_answered_after_it(clinic):
    plan, _ = accepted_plan(clinic)
    due = timezone.localdate() - timedelta(days=5)
    TreatmentPlan.objects.filter(pk=plan.pk).update(
        status=TreatmentPlan.Status.COMPLETED, recall_due_on=due
    )
    long_before = timezone.now() - timedelta(days=200)
    VisitFactory(  # the plan's last treatment visit answers nothing
        patient=clinic.patient,
        doctor=clinic.doctor,
        branch=clinic.branch,
        service=clinic.service,
        starts_at=long_before,
        ends_at=long_before + timedelta(minutes=30),
        status=Visit.Status.COMPLETED,
    )
    worklist_rules_run()
    task = Task.objects.get(kind=Task.Kind.RECALL_DUE)
    assert [i.reason for i in routing_queue()] == ["recall"]

    check_up = VisitFactory(
        patient=clinic.patient,
        doctor=clinic.doctor,
        branch=clinic.branch,
        service=clinic.service,
        starts_at=tomorrow_at(9),
        ends_at=tomorrow_at(9) + timedelta(minutes=30),
    )
    worklist_rules_run()
    task.refresh_from_db()
    assert task.state == Task.State.DONE
    assert routing_queue() == []

    # The check-up took place: the recall must not come back as due.
    Visit.objects.filter(pk=check_up.pk).update(
        status=Visit.Status.COMPLETED,
        starts_at=timezone.now() - timedelta(hours=2),
        ends_at=timezone.now() - timedelta(hours=1, minutes=30),
    )
    worklist_rules_run()
    assert routing_queue() == []
    assert not Task.objects.filter(kind=Task.Kind.RECALL_DUE, state=Task.State.OPEN).exists()


def test_worklist_sorted_by_due_then_risk(clinic):
    patients = []
    for days in (8, 40, 15):
        plan, stages = accepted_plan(clinic)
        patients.append(plan.patient)
        overdue(stages[0], days=days)
    worklist_rules_run()
    tasks = list(worklist(user=clinic.curator, branch_ids=None))
    assert [t.risk for t in tasks] == [80, 30, 16]


def test_routing_queue_lists_due_stage_handoff_and_recall(clinic):
    plan, stages = accepted_plan(clinic)  # first stage due today, nothing booked
    HandoffFactory(
        patient=clinic.patient, plan=plan, from_doctor=clinic.doctor, to_specialty=clinic.surgery
    )
    items = routing_queue()
    reasons = sorted(i.reason for i in items)
    assert reasons == ["handoff", "stage"]
    stage_item = next(i for i in items if i.reason == "stage")
    assert stage_item.stage_id == stages[0].pk  # only the first open stage, not later ones
    VisitFactory(
        patient=clinic.patient,
        doctor=clinic.doctor,
        branch=clinic.branch,
        service=clinic.service,
        stage=stages[0],
        starts_at=tomorrow_at(9),
        ends_at=tomorrow_at(9) + timedelta(minutes=30),
    )
    assert [i.reason for i in routing_queue()] == ["handoff"]


def test_the_plan_always_knows_its_first_open_stage(clinic):
    plan, stages = accepted_plan(clinic)
    plan.refresh_from_db()
    assert plan.next_stage == stages[0]
    Stage.objects.filter(pk=stages[0].pk).update(status=Stage.Status.DONE)
    plan.refresh_from_db()
    assert plan.next_stage == stages[1]
    stale = TreatmentPlan.objects.get(pk=plan.pk)
    stale.next_stage = stages[2]
    stale.save()  # a full save (admin, a stale form) can't put a wrong stage there
    plan.refresh_from_db()
    assert plan.next_stage == stages[1]
    Stage.objects.filter(option=plan.chosen_option).update(status=Stage.Status.SKIPPED)
    plan.refresh_from_db()
    assert plan.next_stage is None


def test_the_plan_knows_from_when_its_next_stage_waits_for_booking(clinic):
    plan, stages = accepted_plan(clinic)
    plan.refresh_from_db()
    assert plan.next_booking_due_on == stages[0].window_start
    later = stages[0].window_start + timedelta(days=20)
    Stage.objects.filter(pk=stages[0].pk).update(window_start=later)  # the window moves
    plan.refresh_from_db()
    assert plan.next_booking_due_on == later
    Stage.objects.filter(pk=stages[0].pk).update(status=Stage.Status.BOOKED)
    plan.refresh_from_db()
    assert (plan.next_stage, plan.next_booking_due_on) == (stages[0], None)  # booked: not due
    Stage.objects.filter(pk=stages[0].pk).update(status=Stage.Status.DONE)
    plan.refresh_from_db()
    assert (plan.next_stage, plan.next_booking_due_on) == (stages[1], stages[1].window_start)
    Stage.objects.filter(pk=stages[1].pk).update(window_start=None)
    plan.refresh_from_db()
    assert (plan.next_stage, plan.next_booking_due_on) == (stages[1], None)


def test_routing_queue_of_a_branch_lists_the_handoffs_to_be_booked_there(clinic):
    plan, _ = accepted_plan(clinic)
    other = BranchFactory()
    here = handoff_create(
        actor=clinic.doctor,
        patient=clinic.patient,
        from_doctor=clinic.doctor,
        to_specialty=clinic.surgery,
        reason="Wisdom teeth first",
        due_date=timezone.localdate(),
        plan=plan,
    )
    assert here.branch == plan.branch
    elsewhere = HandoffFactory(from_doctor=clinic.doctor, to_specialty=clinic.surgery)
    elsewhere.patient.home_branch = other
    elsewhere.patient.save()
    Handoff.objects.filter(pk=elsewhere.pk).update(branch=other)
    handoffs = [i.handoff_id for i in routing_queue(branch_id=clinic.branch.pk) if i.handoff_id]
    assert handoffs == [here.pk]
    assert [i.handoff_id for i in routing_queue(branch_id=other.pk)] == [elsewhere.pk]


def test_routing_queue_query_count_is_constant(clinic, django_assert_max_num_queries):
    for _ in range(8):
        accepted_plan(clinic)
    with django_assert_max_num_queries(4):
        items = routing_queue()
        [i.patient.full_name for i in items]
    assert len(items) == 8
