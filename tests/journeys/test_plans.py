"""Treatment plans: options, decisions, stages, lead-doctor handover, abandonment."""

from decimal import Decimal

import pytest
from django.db import DatabaseError, transaction

from journeys.errors import JourneyError
from journeys.models import JourneyEvent, Stage, TreatmentPlan
from journeys.services.plans import (
    StageSpec,
    journey_note_add,
    plan_abandon,
    plan_change_lead_doctor,
    plan_choose_option,
    plan_create,
    plan_option_add,
    plan_propose,
)
from tests.conftest import refused_by_privilege
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def make_plan(c, *, stages=3):
    plan = plan_create(
        actor=c.doctor,
        patient=c.patient,
        title="Braces",
        branch=c.branch,
        lead_doctor=c.doctor,
        curator=c.curator,
    )
    specs = [
        StageSpec(
            title=f"Step {i}",
            specialty=c.ortho,
            service=c.service,
            purpose=f"Why {i}",
            offset_days=30 * i,
            window_days=14,
        )
        for i in range(stages)
    ]
    option = plan_option_add(
        actor=c.doctor,
        plan=plan,
        title="Metal braces",
        stages=specs,
        cost_estimate=Decimal("120000"),
        duration_weeks=60,
        expected_result="Straight teeth",
    )
    return plan, option


def kinds(patient):
    return list(
        JourneyEvent.objects.filter(patient=patient)
        .order_by("at", "id")
        .values_list("kind", flat=True)
    )


def test_plan_goes_from_draft_to_accepted_with_decision_recorded(clinic):
    plan, option = make_plan(clinic)
    second = plan_option_add(
        actor=clinic.doctor,
        plan=plan,
        title="Aligners",
        stages=[StageSpec(title="Scan", specialty=clinic.ortho)],
        cost_estimate=Decimal("250000"),
    )
    plan_propose(actor=clinic.doctor, plan=plan)
    plan_choose_option(actor=clinic.curator, plan=plan, option=second)
    plan.refresh_from_db()
    assert plan.status == TreatmentPlan.Status.ACCEPTED
    assert plan.chosen_option == second
    stage = second.stages.get()
    assert stage.window_start is not None
    assert stage.window_end > stage.window_start
    assert kinds(clinic.patient) == ["plan_created", "plan_proposed", "option_chosen"]
    decision = JourneyEvent.objects.get(kind="option_chosen")
    assert decision.actor == clinic.curator
    assert decision.data["option"] == second.pk


def test_choosing_an_option_of_another_plan_is_refused(clinic):
    plan, _ = make_plan(clinic)
    other_patient_plan = plan_create(
        actor=clinic.doctor,
        patient=PatientFactory(),
        title="X",
        branch=clinic.branch,
        lead_doctor=clinic.doctor,
    )
    foreign = plan_option_add(
        actor=clinic.doctor,
        plan=other_patient_plan,
        title="Other",
        stages=[StageSpec(title="S", specialty=clinic.ortho)],
    )
    plan_propose(actor=clinic.doctor, plan=plan)
    with pytest.raises(JourneyError, match="another plan"):
        plan_choose_option(actor=clinic.doctor, plan=plan, option=foreign)
    plan.refresh_from_db()
    assert plan.status == TreatmentPlan.Status.PROPOSED
    assert plan.chosen_option is None


def test_cannot_propose_without_options_or_choose_before_proposal(clinic):
    plan = plan_create(
        actor=clinic.doctor,
        patient=clinic.patient,
        title="Empty",
        branch=clinic.branch,
        lead_doctor=clinic.doctor,
    )
    with pytest.raises(JourneyError, match="at least one option"):
        plan_propose(actor=clinic.doctor, plan=plan)
    _, option = make_plan(clinic)
    with pytest.raises(JourneyError, match="proposed"):
        plan_choose_option(actor=clinic.doctor, plan=option.plan, option=option)


def test_option_needs_stages_and_plan_needs_a_doctor(clinic):
    plan, _ = make_plan(clinic)
    with pytest.raises(JourneyError, match="at least one stage"):
        plan_option_add(actor=clinic.doctor, plan=plan, title="Nothing", stages=[])
    with pytest.raises(JourneyError, match="not a doctor"):
        plan_create(
            actor=clinic.doctor,
            patient=clinic.patient,
            title="X",
            branch=clinic.branch,
            lead_doctor=clinic.curator,
        )
    assert TreatmentPlan.objects.count() == 1


def test_changing_lead_doctor_requires_a_handover_note(clinic):
    plan, _ = make_plan(clinic)
    with pytest.raises(JourneyError, match="handover note"):
        plan_change_lead_doctor(
            actor=clinic.doctor, plan=plan, doctor=clinic.surgeon, handover_note="  "
        )
    plan_change_lead_doctor(
        actor=clinic.doctor,
        plan=plan,
        doctor=clinic.surgeon,
        handover_note="Brackets on upper jaw; watch the left canine.",
    )
    plan.refresh_from_db()
    assert plan.lead_doctor == clinic.surgeon
    event = JourneyEvent.objects.get(kind="doctor_changed")
    assert event.summary.startswith("Brackets")
    assert event.data["from"] == clinic.doctor.pk
    assert event.data["to"] == clinic.surgeon.pk


def test_abandoning_needs_a_reason(clinic):
    plan, _ = make_plan(clinic)
    with pytest.raises(JourneyError, match="why"):
        plan_abandon(actor=clinic.doctor, plan=plan, reason="")
    plan_abandon(actor=clinic.doctor, plan=plan, reason="Moved to another city")
    plan.refresh_from_db()
    assert plan.status == "abandoned"
    with pytest.raises(JourneyError, match="already closed"):
        plan_abandon(actor=clinic.doctor, plan=plan, reason="again")


def test_journey_events_are_append_only(clinic, app_role):
    event = journey_note_add(actor=clinic.doctor, patient=clinic.patient, text="Called, no answer")
    with refused_by_privilege("journeys_journeyevent"), transaction.atomic():
        JourneyEvent.objects.filter(pk=event.pk).update(summary="rewritten")
    with refused_by_privilege("journeys_journeyevent"), transaction.atomic():
        JourneyEvent.objects.filter(pk=event.pk).delete()
    # The application may move an event to another card, but the trigger lets it only
    # from a merged card to the card it was merged into (merging duplicates).
    stranger = PatientFactory()
    with pytest.raises(DatabaseError, match="merged"), transaction.atomic():
        JourneyEvent.objects.filter(pk=event.pk).update(patient=stranger)
    clinic.patient.merged_into, clinic.patient.is_archived = stranger, True
    clinic.patient.save()
    JourneyEvent.objects.filter(pk=event.pk).update(patient=stranger)
    event.refresh_from_db()
    assert event.patient == stranger
    assert event.summary == "Called, no answer"


def test_stage_order_is_kept(clinic):
    _, option = make_plan(clinic, stages=4)
    assert list(Stage.objects.filter(option=option).values_list("title", flat=True)) == [
        "Step 0",
        "Step 1",
        "Step 2",
        "Step 3",
    ]
