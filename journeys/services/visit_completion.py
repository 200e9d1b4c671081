"""Completing a visit, with the active handoff rule: the doctor always names the next step
(book the next visit, hand off to a colleague, or finish care with an observation period),
so no patient leaves a completed visit without a path."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic_crm import limits
from clinic_crm.catalogue.models import Service, Specialty
from journeys.errors import JourneyError
from journeys.models import Handoff, JourneyEvent, Stage, TreatmentPlan, Visit

from .events import after_journey_change, journey_event_record

if TYPE_CHECKING:
    from clinic_crm.staff.models import User
from .handoffs import handoff_create
from .plans import (
    Kind,
    PlanStatus,
    journey_note_add,
    months_added,
    plan_complete,
    plan_lock,
    text_check,
)
from .visit_status import visit_transition
from .visits import visit_book


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

CompletionHook = Callable[[Visit], None]
_completion_hooks: list[CompletionHook] = []


def visit_completed_register(hook: CompletionHook) -> None:
    """Adds ``hook(visit)``, run inside the transaction of every visit completion after
    its next step is saved (feedback plans its survey invitation there, so a completion
    and its invitation commit or roll back together). ``visit.stage`` is loaded and
    already done. Registered in ``AppConfig.ready`` by the layers above."""
    if hook not in _completion_hooks:
        _completion_hooks.append(hook)


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
        text_check(next_step.reason, limit=limits.REASON)
    if isinstance(next_step, FinishCare):
        text_check(next_step.note, limit=limits.NOTE)
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
            plan = plan_lock(plan)
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
            plan_complete(actor=actor, plan=plan, observation_months=next_step.observation_months)
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
    for hook in _completion_hooks:
        hook(visit)
    after_journey_change(patient_id=visit.patient_id)
    return result


def _visit_recall_set(*, actor: User, visit: Visit, months: int) -> None:
    """Care finished at a visit outside any plan: the patient is due for a check-up in
    ``months``, kept on the visit so the routing queue and the recall rule find it."""
    visit.recall_due_on = months_added(timezone.localdate(), months)
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
    plan = plan_lock(stage.option.plan)
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
