"""Treatment plans: creating them with their options and stages, proposing, the patient's
choice, abandoning, the lead doctor, notes on the journey, and completing a plan."""

from __future__ import annotations

from calendar import monthrange
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic_crm import limits
from clinic_crm.audit.models import AuditAction
from clinic_crm.audit.services import audit_record
from clinic_crm.catalogue.models import Service, Specialty
from clinic_crm.staff.roles import Role
from journeys.errors import JourneyError
from journeys.models import JourneyEvent, PlanOption, Stage, Task, TreatmentPlan

from .events import journey_event_record

if TYPE_CHECKING:
    from clinic_crm.catalogue.models import Branch
    from clinic_crm.staff.models import User
    from patients.models import Patient


Kind = JourneyEvent.Kind
PlanStatus = TreatmentPlan.Status


def text_check(value: str, *, limit: int) -> None:
    problem = limits.text_problem(value or "", limit=limit)
    if problem:
        raise JourneyError(problem)


@dataclass(frozen=True)
class StageSpec:
    title: str
    specialty: Specialty
    purpose: str = ""
    service: Service | None = None
    significant: bool = False
    offset_days: int = 0
    window_days: int = 14


def plan_lock(plan: TreatmentPlan) -> TreatmentPlan:
    return TreatmentPlan.objects.select_for_update().get(pk=plan.pk)


@transaction.atomic
def plan_create(
    *,
    actor: User,
    patient: Patient,
    title: str,
    branch: Branch,
    lead_doctor: User,
    curator: User | None = None,
    observation_months: int = 6,
) -> TreatmentPlan:
    """Drafts a plan. The lead doctor must be a doctor; the curator a curator."""
    title = (title or "").strip()
    if not title:
        raise JourneyError(_("Give the plan a title."))
    if not lead_doctor.has_role(Role.DOCTOR):
        raise JourneyError(_("%(name)s is not a doctor.") % {"name": lead_doctor})
    if curator is not None and not curator.has_role(Role.CURATOR):
        raise JourneyError(_("%(name)s is not a curator.") % {"name": curator})
    if getattr(patient, "is_archived", False) or getattr(patient, "is_deceased", False):
        raise JourneyError(_("This patient's card is archived."))
    plan = TreatmentPlan.objects.create(
        patient=patient,
        title=title,
        branch=branch,
        lead_doctor=lead_doctor,
        curator=curator,
        observation_months=observation_months,
    )
    journey_event_record(
        patient_id=patient.pk, kind=Kind.PLAN_CREATED, actor=actor, plan=plan, summary=title
    )
    audit_record(action=AuditAction.CREATE, actor=actor, obj=plan, patient_id=patient.pk)
    return plan


@transaction.atomic
def plan_option_add(
    *,
    actor: User,
    plan: TreatmentPlan,
    title: str,
    stages: list[StageSpec],
    cost_estimate: Decimal = Decimal("0"),
    duration_weeks: int = 1,
    expected_result: str = "",
) -> PlanOption:
    """Adds an option with its ordered stages to a draft or proposed plan."""
    plan = plan_lock(plan)
    if plan.status not in (PlanStatus.DRAFT, PlanStatus.PROPOSED):
        raise JourneyError(_("Options can only be added before the patient has chosen."))
    if not (title or "").strip():
        raise JourneyError(_("Give the option a title."))
    if not stages:
        raise JourneyError(_("An option needs at least one stage."))
    if cost_estimate < 0:
        raise JourneyError(_("The cost estimate can't be negative."))
    text_check(expected_result, limit=limits.PURPOSE)
    for spec in stages:
        text_check(spec.purpose, limit=limits.PURPOSE)
    position = plan.options.count() + 1
    option = PlanOption.objects.create(
        plan=plan,
        position=position,
        title=title.strip(),
        cost_estimate=cost_estimate,
        duration_weeks=duration_weeks,
        expected_result=expected_result,
    )
    Stage.objects.bulk_create(
        Stage(
            option=option,
            position=index,
            title=spec.title,
            purpose=spec.purpose,
            specialty=spec.specialty,
            service=spec.service,
            significant=spec.significant,
            offset_days=spec.offset_days,
            window_days=spec.window_days,
        )
        for index, spec in enumerate(stages, start=1)
    )
    audit_record(
        action=AuditAction.UPDATE,
        actor=actor,
        obj=plan,
        patient_id=plan.patient_id,
        details={"option_added": option.pk},
    )
    return option


@transaction.atomic
def plan_propose(*, actor: User, plan: TreatmentPlan) -> TreatmentPlan:
    """Draft → proposed: the options are shown to the patient."""
    plan = plan_lock(plan)
    if plan.status != PlanStatus.DRAFT:
        raise JourneyError(_("Only a draft plan can be proposed."))
    options = list(plan.options.all())
    if not options:
        raise JourneyError(_("Add at least one option before proposing the plan."))
    plan.status = PlanStatus.PROPOSED
    plan.proposed_at = timezone.now()
    plan.save(update_fields=["status", "proposed_at", "updated_at"])
    journey_event_record(
        patient_id=plan.patient_id,
        kind=Kind.PLAN_PROPOSED,
        actor=actor,
        plan=plan,
        summary=", ".join(o.title for o in options),
        data={"options": [o.pk for o in options]},
    )
    return plan


@transaction.atomic
def plan_choose_option(*, actor: User, plan: TreatmentPlan, option: PlanOption) -> TreatmentPlan:
    """Records the patient's decision: the chosen option's stages become the journey,
    each with an expected window counted from today."""
    plan = plan_lock(plan)
    if option.plan_id != plan.pk:
        raise JourneyError(_("That option belongs to another plan."))
    if plan.status != PlanStatus.PROPOSED:
        raise JourneyError(_("The patient can choose only when the plan is proposed."))
    today = timezone.localdate()
    stages = list(option.stages.all())
    for stage in stages:
        stage.window_start = today + timedelta(days=stage.offset_days)
        stage.window_end = stage.window_start + timedelta(days=stage.window_days)
    Stage.objects.bulk_update(stages, ["window_start", "window_end"])
    plan.chosen_option = option
    plan.status = PlanStatus.ACCEPTED
    plan.accepted_at = timezone.now()
    plan.save(update_fields=["chosen_option", "status", "accepted_at", "updated_at"])
    journey_event_record(
        patient_id=plan.patient_id,
        kind=Kind.OPTION_CHOSEN,
        actor=actor,
        plan=plan,
        summary=option.title,
        data={"option": option.pk, "cost_estimate": str(option.cost_estimate)},
    )
    return plan


@transaction.atomic
def plan_abandon(*, actor: User, plan: TreatmentPlan, reason: str) -> TreatmentPlan:
    plan = plan_lock(plan)
    reason = (reason or "").strip()
    if not reason:
        raise JourneyError(_("Say why the plan is abandoned."))
    text_check(reason, limit=limits.REASON)
    if plan.status not in TreatmentPlan.OPEN_STATUSES:
        raise JourneyError(_("This plan is already closed."))
    plan.status = PlanStatus.ABANDONED
    plan.abandon_reason = reason
    plan.save(update_fields=["status", "abandon_reason", "updated_at"])
    # Task's manager is an AuditedQuerySet, neither generic nor annotated
    # (clinic_crm/audit/tracking.py); its update() keeps QuerySet.update's contract.
    open_tasks: QuerySet[Task] = Task.objects.filter(plan=plan, state__in=Task.OPEN_STATES)
    open_tasks.update(
        state=Task.State.CANCELLED, closed_at=timezone.now(), outcome=_("Plan abandoned.")
    )
    journey_event_record(
        patient_id=plan.patient_id, kind=Kind.PLAN_ABANDONED, actor=actor, plan=plan, summary=reason
    )
    return plan


@transaction.atomic
def plan_change_lead_doctor(
    *, actor: User, plan: TreatmentPlan, doctor: User, handover_note: str
) -> TreatmentPlan:
    """Hands the plan to another doctor. The handover note is required: the next doctor
    must know what was decided and why."""
    plan = plan_lock(plan)
    note = (handover_note or "").strip()
    if not note:
        raise JourneyError(_("Write a handover note for the new doctor."))
    text_check(note, limit=limits.NOTE)
    if not doctor.has_role(Role.DOCTOR):
        raise JourneyError(_("%(name)s is not a doctor.") % {"name": doctor})
    if doctor.pk == plan.lead_doctor_id:
        raise JourneyError(_("%(name)s already leads this plan.") % {"name": doctor})
    if plan.status not in TreatmentPlan.OPEN_STATUSES:
        raise JourneyError(_("This plan is already closed."))
    previous = plan.lead_doctor
    plan.lead_doctor = doctor
    plan.save(update_fields=["lead_doctor", "updated_at"])
    journey_event_record(
        patient_id=plan.patient_id,
        kind=Kind.DOCTOR_CHANGED,
        actor=actor,
        plan=plan,
        summary=note,
        data={
            "from": previous.pk,
            "from_name": str(previous),
            "to": doctor.pk,
            "to_name": str(doctor),
        },
    )
    return plan


@transaction.atomic
def journey_note_add(
    *, actor: User, patient: Patient, text: str, plan: TreatmentPlan | None = None
) -> JourneyEvent:
    text = (text or "").strip()
    if not text:
        raise JourneyError(_("The note is empty."))
    text_check(text, limit=limits.NOTE)
    if plan is not None and plan.patient_id != patient.pk:
        raise JourneyError(_("That plan belongs to another patient."))
    return journey_event_record(
        patient_id=patient.pk, kind=Kind.NOTE, actor=actor, plan=plan, summary=text
    )


def plan_complete(*, actor: User, plan: TreatmentPlan, observation_months: int | None) -> None:
    if observation_months is not None:
        plan.observation_months = observation_months
    plan.status = PlanStatus.COMPLETED
    plan.completed_at = timezone.now()
    plan.recall_due_on = months_added(timezone.localdate(), plan.observation_months)
    plan.save(
        update_fields=[
            "status",
            "completed_at",
            "recall_due_on",
            "observation_months",
            "updated_at",
        ]
    )
    journey_event_record(
        patient_id=plan.patient_id,
        kind=Kind.PLAN_COMPLETED,
        actor=actor,
        plan=plan,
        data={
            "recall_due_on": plan.recall_due_on.isoformat(),
            "observation_months": plan.observation_months,
        },
    )


def months_added(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, monthrange(year, month)[1]))
