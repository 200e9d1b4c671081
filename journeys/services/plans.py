"""Treatment plans, their options and stages, completing a visit with a next step, and
handoffs between doctors."""

from __future__ import annotations

from calendar import monthrange
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
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
from journeys.models import Handoff, JourneyEvent, PlanOption, Stage, Task, TreatmentPlan, Visit

from .events import after_journey_change, journey_event_record
from .scheduling import visit_book, visit_transition

if TYPE_CHECKING:
    from clinic_crm.catalogue.models import Branch
    from clinic_crm.staff.models import User
    from patients.models import Patient

Kind = JourneyEvent.Kind
PlanStatus = TreatmentPlan.Status


def _check_text(value: str, *, limit: int) -> None:
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


def _lock_plan(plan: TreatmentPlan) -> TreatmentPlan:
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
    plan = _lock_plan(plan)
    if plan.status not in (PlanStatus.DRAFT, PlanStatus.PROPOSED):
        raise JourneyError(_("Options can only be added before the patient has chosen."))
    if not (title or "").strip():
        raise JourneyError(_("Give the option a title."))
    if not stages:
        raise JourneyError(_("An option needs at least one stage."))
    if cost_estimate < 0:
        raise JourneyError(_("The cost estimate can't be negative."))
    _check_text(expected_result, limit=limits.PURPOSE)
    for spec in stages:
        _check_text(spec.purpose, limit=limits.PURPOSE)
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
    plan = _lock_plan(plan)
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
    plan = _lock_plan(plan)
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
    plan = _lock_plan(plan)
    reason = (reason or "").strip()
    if not reason:
        raise JourneyError(_("Say why the plan is abandoned."))
    _check_text(reason, limit=limits.REASON)
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
    plan = _lock_plan(plan)
    note = (handover_note or "").strip()
    if not note:
        raise JourneyError(_("Write a handover note for the new doctor."))
    _check_text(note, limit=limits.NOTE)
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
    _check_text(text, limit=limits.NOTE)
    if plan is not None and plan.patient_id != patient.pk:
        raise JourneyError(_("That plan belongs to another patient."))
    return journey_event_record(
        patient_id=patient.pk, kind=Kind.NOTE, actor=actor, plan=plan, summary=text
    )


def _plan_complete(*, actor: User, plan: TreatmentPlan, observation_months: int | None) -> None:
    if observation_months is not None:
        plan.observation_months = observation_months
    plan.status = PlanStatus.COMPLETED
    plan.completed_at = timezone.now()
    plan.recall_due_on = _add_months(timezone.localdate(), plan.observation_months)
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


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, monthrange(year, month)[1]))


@transaction.atomic
def handoff_create(
    *,
    actor: User,
    patient: Patient,
    from_doctor: User,
    to_specialty: Specialty,
    reason: str,
    due_date: date,
    to_doctor: User | None = None,
    plan: TreatmentPlan | None = None,
    from_visit: Visit | None = None,
) -> Handoff:
    """Sends the patient on to a specialist. Until it is booked the plan's curator owns it."""
    reason = (reason or "").strip()
    if not reason:
        raise JourneyError(_("Say why the patient should see the specialist."))
    if due_date < timezone.localdate():
        raise JourneyError(_("The “book by” date is in the past."))
    if plan is not None and plan.patient_id != patient.pk:
        raise JourneyError(_("That plan belongs to another patient."))
    if to_doctor is not None and not to_doctor.has_role(Role.DOCTOR):
        raise JourneyError(_("%(name)s is not a doctor.") % {"name": to_doctor})
    handoff = Handoff.objects.create(
        patient=patient,
        plan=plan,
        branch_id=(
            plan.branch_id
            if plan is not None
            else from_visit.branch_id
            if from_visit is not None
            else patient.home_branch_id
        ),
        from_visit=from_visit,
        from_doctor=from_doctor,
        to_specialty=to_specialty,
        to_doctor=to_doctor,
        reason=reason,
        due_date=due_date,
        curator=plan.curator if plan is not None else None,
    )
    journey_event_record(
        patient_id=patient.pk,
        kind=Kind.HANDOFF_CREATED,
        actor=actor,
        plan=plan,
        handoff=handoff,
        visit=from_visit,
        summary=reason,
        data={"to_specialty": to_specialty.name, "due_date": due_date.isoformat()},
    )
    after_journey_change(patient_id=patient.pk)
    return handoff


@transaction.atomic
def handoff_mark_lost(*, actor: User, handoff: Handoff, reason: str) -> Handoff:
    handoff = Handoff.objects.select_for_update().get(pk=handoff.pk)
    reason = (reason or "").strip()
    if not reason:
        raise JourneyError(_("Say why the handoff is lost."))
    if handoff.state != Handoff.State.OPEN:
        raise JourneyError(_("Only an open handoff can be marked lost."))
    handoff.state = Handoff.State.LOST
    handoff.closed_at = timezone.now()
    handoff.save(update_fields=["state", "closed_at"])
    journey_event_record(
        patient_id=handoff.patient_id,
        kind=Kind.HANDOFF_UPDATED,
        actor=actor,
        plan=handoff.plan,
        handoff=handoff,
        summary=reason,
        data={"state": handoff.state},
    )
    after_journey_change(patient_id=handoff.patient_id)
    return handoff


# --- Completing a visit: the active handoff rule ---------------------------------------


@dataclass(frozen=True)
class BookNextVisit:
    doctor: User
    service: Service
    starts_at: datetime
    stage: Stage | None = None


@dataclass(frozen=True)
class HandOff:
    to_specialty: Specialty
    reason: str
    due_date: date
    to_doctor: User | None = None


@dataclass(frozen=True)
class FinishCare:
    """No further treatment now: the plan (if any) is completed and the patient is
    invited for a check-up after the observation period."""

    observation_months: int = 6
    note: str = ""


NextStep = BookNextVisit | HandOff | FinishCare


@dataclass
class VisitCompletion:
    visit: Visit
    next_visit: Visit | None = None
    handoff: Handoff | None = None
    events: list[JourneyEvent] = field(default_factory=list)


@transaction.atomic
def visit_complete(
    *,
    actor: User,
    visit: Visit,
    next_step: NextStep | None,
    price_charged: Decimal | None = None,
) -> VisitCompletion:
    """Completes a visit. A next step is required — book the next visit, hand off to a
    specialist, or finish care with observation — so no patient leaves with “see an
    orthopedist some day”. Everything is saved together or not at all."""
    if next_step is None:
        raise JourneyError(
            _(
                "Choose the next step: book the next visit, hand off to a specialist, "
                "or finish the treatment with a check-up date."
            )
        )
    if isinstance(next_step, HandOff):
        _check_text(next_step.reason, limit=limits.REASON)
    if isinstance(next_step, FinishCare):
        _check_text(next_step.note, limit=limits.NOTE)
    visit = (
        Visit.objects.select_for_update(of=("self",))
        .select_related("stage__option__plan", "service", "patient", "branch", "doctor")
        .get(pk=visit.pk)
    )
    if visit.status not in (Visit.Status.ARRIVED, Visit.Status.IN_PROGRESS):
        raise JourneyError(_("Only a visit the patient came to can be completed."))
    price = visit.service.price if price_charged is None else price_charged
    if price < 0:
        raise JourneyError(_("The price can't be negative."))
    Visit.objects.filter(pk=visit.pk).update(price_charged=price)
    visit.price_charged = price
    visit = visit_transition(actor=actor, visit=visit, to_status=Visit.Status.COMPLETED)
    Visit.objects.filter(pk=visit.pk).update(completed_at=timezone.now())

    plan = (
        visit.stage.option.plan
        if visit.stage is not None
        else active_plan(patient_id=visit.patient_id)
    )
    if visit.stage is not None:
        _stage_done(actor=actor, stage=visit.stage, visit=visit)
    if visit.handoff_id:
        # Handoff's manager is an AuditedQuerySet, neither generic nor annotated
        # (clinic_crm/audit/tracking.py); its update() keeps QuerySet.update's contract.
        booked: QuerySet[Handoff] = Handoff.objects.filter(
            pk=visit.handoff_id, state=Handoff.State.BOOKED
        )
        booked.update(state=Handoff.State.COMPLETED, closed_at=timezone.now())
    result = VisitCompletion(visit=visit)
    if isinstance(next_step, BookNextVisit):
        stage = next_step.stage
        if stage is None and plan is not None:
            stage = _next_open_stage(plan)
        result.next_visit = visit_book(
            actor=actor,
            patient=visit.patient,
            doctor=next_step.doctor,
            branch=visit.branch,
            service=next_step.service,
            starts_at=next_step.starts_at,
            stage=stage,
        )
    elif isinstance(next_step, HandOff):
        result.handoff = handoff_create(
            actor=actor,
            patient=visit.patient,
            from_doctor=visit.doctor,
            to_specialty=next_step.to_specialty,
            to_doctor=next_step.to_doctor,
            reason=next_step.reason,
            due_date=next_step.due_date,
            plan=plan,
            from_visit=visit,
        )
    elif isinstance(next_step, FinishCare):
        if next_step.observation_months < 0 or next_step.observation_months > 120:
            raise JourneyError(_("The observation period must be between 0 and 120 months."))
        if plan is not None:
            plan = _lock_plan(plan)
            open_stages = (
                plan.chosen_option.stages.exclude(
                    status__in=[Stage.Status.DONE, Stage.Status.SKIPPED]
                )
                if plan.chosen_option is not None
                else Stage.objects.none()
            )
            for stage in open_stages:
                stage.status = Stage.Status.SKIPPED
                stage.save(update_fields=["status"])
            _plan_complete(actor=actor, plan=plan, observation_months=next_step.observation_months)
        elif next_step.observation_months > 0:
            _visit_recall_set(actor=actor, visit=visit, months=next_step.observation_months)
        if next_step.note:
            journey_note_add(actor=actor, patient=visit.patient, text=next_step.note, plan=plan)
    else:  # pragma: no cover - typing guard
        raise JourneyError(_("Unknown next step."))
    interval = visit.service.recall_interval_days
    if (
        interval
        and plan is None
        and not isinstance(next_step, BookNextVisit)
        and visit.recall_due_on is None
    ):
        # A service with a recall interval (a hygiene cleaning every six months) brings
        # the patient back by itself; inside a plan, the plan's observation period does.
        visit.recall_due_on = timezone.localdate() + timedelta(days=interval)
        Visit.objects.filter(pk=visit.pk).update(recall_due_on=visit.recall_due_on)
    after_journey_change(patient_id=visit.patient_id)
    return result


def _visit_recall_set(*, actor: User, visit: Visit, months: int) -> None:
    """Care finished at a visit outside any plan: the patient is due for a check-up in
    ``months``, kept on the visit so the routing queue and the recall rule find it."""
    visit.recall_due_on = _add_months(timezone.localdate(), months)
    Visit.objects.filter(pk=visit.pk).update(recall_due_on=visit.recall_due_on)
    journey_event_record(
        patient_id=visit.patient_id,
        kind=Kind.CHECK_UP_PLANNED,
        actor=actor,
        visit=visit,
        summary=visit.service.name,
        data={"recall_due_on": visit.recall_due_on.isoformat(), "observation_months": months},
    )


def active_plan(*, patient_id: int) -> TreatmentPlan | None:
    """The patient's plan in treatment (accepted or in progress), the latest accepted."""
    return (
        TreatmentPlan.objects.filter(
            patient_id=patient_id, status__in=TreatmentPlan.ACTIVE_STATUSES
        )
        .order_by("-accepted_at")
        .first()
    )


def _next_open_stage(plan: TreatmentPlan) -> Stage | None:
    if not plan.chosen_option_id:
        return None
    return (
        Stage.objects.filter(option_id=plan.chosen_option_id, status=Stage.Status.PLANNED)
        .order_by("position")
        .first()
    )


def _stage_done(*, actor: User, stage: Stage, visit: Visit) -> None:
    plan = _lock_plan(stage.option.plan)
    stage.status = Stage.Status.DONE
    stage.done_at = timezone.now()
    stage.save(update_fields=["status", "done_at"])
    if plan.status == PlanStatus.ACCEPTED:
        plan.status = PlanStatus.IN_PROGRESS
        plan.save(update_fields=["status", "updated_at"])
        journey_event_record(
            patient_id=plan.patient_id, kind=Kind.PLAN_STARTED, actor=actor, plan=plan
        )
    journey_event_record(
        patient_id=plan.patient_id,
        kind=Kind.STAGE_DONE,
        actor=actor,
        plan=plan,
        stage=stage,
        visit=visit,
        summary=stage.title,
    )
