"""Reads shared by the journey pages (scheduling reads live in selectors_scheduling)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, cast

from django.db.models import (
    DateField,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic_crm.messaging.selectors import patient_messages
from patients.models import Patient

from .models import Handoff, JourneyEvent, LinkAnswer, PlanOption, Stage, TreatmentPlan, Visit

if TYPE_CHECKING:
    from clinic_crm.messaging.models import Message

TIMELINE_EVENT_LIMIT = 300
# A visit up to this many days before a check-up's due date counts as that check-up.
RECALL_EARLY_DAYS = 30
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)


def recall_answered(*, due_ref: str = "recall_due_on", after_ref: str = "completed_at") -> Exists:
    """True when the patient has a visit that answers a check-up due on ``due_ref``: a
    visit after ``after_ref`` (when care was finished) that is upcoming, or attended from
    RECALL_EARLY_DAYS before the due date on. Once the check-up visit is over the recall
    stays answered, instead of reappearing as due."""
    earliest = ExpressionWrapper(
        OuterRef(due_ref) - timedelta(days=RECALL_EARLY_DAYS), output_field=DateField()
    )
    return Exists(
        Visit.objects.filter(
            patient_id=OuterRef("patient_id"),
            starts_at__gt=Coalesce(OuterRef(after_ref), Value(EARLIEST)),
        ).filter(
            Q(status__in=Visit.UPCOMING, starts_at__gte=timezone.now())
            | Q(status__in=Visit.ATTENDED, starts_at__gte=earliest)
        )
    )


def visit_recalls_due(*, until: date, branch_id: int | None = None) -> QuerySet[Visit]:
    """Visits at which care was finished without a plan, whose check-up is due by
    ``until`` and not yet answered."""
    visits = Visit.objects.filter(~recall_answered(after_ref="starts_at"), recall_due_on__lte=until)
    return visits.filter(branch_id=branch_id) if branch_id else visits


@dataclass
class PlanProgress:
    plan: TreatmentPlan
    stages: list[Stage]
    done: int
    total: int

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0

    @property
    def next_stage(self) -> Stage | None:
        return next((s for s in self.stages if s.status in ("planned", "booked")), None)


@dataclass
class Timeline:
    patient: Patient
    plans: list[PlanProgress]
    upcoming_visits: list[Visit]
    past_visits: list[Visit]
    handoffs: list[Handoff]
    events: list[JourneyEvent]
    kinds: list[str] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)


def plans_with_stages(*, patient_id: int) -> QuerySet[TreatmentPlan]:
    return (
        TreatmentPlan.objects.filter(patient_id=patient_id)
        .select_related("lead_doctor", "curator", "branch", "chosen_option")
        .prefetch_related(
            Prefetch(
                "options",
                queryset=PlanOption.objects.prefetch_related(
                    Prefetch(
                        "stages", queryset=Stage.objects.select_related("specialty", "service")
                    )
                ),
            )
        )
        .order_by("-created_at")
    )


def timeline_events(*, patient_id: int, kinds: list[str] | None = None) -> QuerySet[JourneyEvent]:
    events = JourneyEvent.objects.filter(patient_id=patient_id).select_related(
        "actor", "plan", "stage", "visit__service", "handoff__to_specialty"
    )
    if kinds:
        events = events.filter(kind__in=kinds)
    return events.order_by("-at", "-id")[:TIMELINE_EVENT_LIMIT]


def patient_timeline(*, patient: Patient, kinds: list[str] | None = None) -> Timeline:
    """Everything a doctor needs to read a patient's journey, in a fixed number of
    queries whatever the number of plans, visits and events."""
    plans = []
    for plan in plans_with_stages(patient_id=patient.pk):
        chosen = next((o for o in plan.options.all() if o.pk == plan.chosen_option_id), None)
        stages = list(chosen.stages.all()) if chosen else []
        done = sum(1 for s in stages if s.status in ("done", "skipped"))
        plans.append(PlanProgress(plan=plan, stages=stages, done=done, total=len(stages)))
    visits = list(
        Visit.objects.filter(patient_id=patient.pk)
        .select_related("doctor", "service", "branch", "stage", "screening")
        .order_by("-starts_at")
    )
    now = timezone.now()
    upcoming = sorted(
        (v for v in visits if v.starts_at >= now and v.status in Visit.UPCOMING),
        key=lambda v: v.starts_at,
    )
    past = [v for v in visits if v not in upcoming]
    handoffs = list(
        Handoff.objects.filter(patient_id=patient.pk)
        .select_related("to_specialty", "to_doctor", "from_doctor", "curator")
        .order_by("-created_at")
    )
    return Timeline(
        patient=patient,
        plans=plans,
        upcoming_visits=upcoming,
        past_visits=past,
        handoffs=handoffs,
        events=list(timeline_events(patient_id=patient.pk, kinds=kinds)),
        kinds=kinds or [],
        messages=patient_messages(patient_id=patient.pk),
    )


# --- Worklist and routing queue ---------------------------------------------------------


# What a routing item shows of its patient (RoutingItem.patient has only these loaded).
ROUTING_PATIENT_FIELDS = ("last_name", "first_name", "middle_name", "phone")


@dataclass
class RoutingItem:
    reason: str  # "stage", "handoff", "recall"
    patient: Patient
    due: date
    title: str
    specialty_id: int | None
    stage_id: int | None = None
    handoff_id: int | None = None
    plan_id: int | None = None

    @property
    def overdue_days(self) -> int:
        return (timezone.localdate() - self.due).days


def routing_queue(
    *, branch_id: int | None = None, horizon_days: int = 7, limit: int = 200
) -> list[RoutingItem]:
    """Every patient who must be booked now, most overdue first: the next stage of a plan
    due within ``horizon_days`` with no visit booked for it, an open handoff, a check-up
    due. Four queries whatever the size of the clinic."""
    today = timezone.localdate()
    horizon = today + timedelta(days=horizon_days)
    # Each active plan knows its next stage and, while that stage waits to be booked, the
    # day its window opens (TreatmentPlan.next_booking_due_on, kept by the database), so
    # the due plans of a branch come in order off one partial index: no walk over every
    # active plan or stage. Only the items are joined to their patient.
    upcoming = Visit.objects.filter(status__in=Visit.UPCOMING, starts_at__gte=timezone.now())
    next_stages = TreatmentPlan.objects.filter(
        ~Exists(upcoming.filter(stage_id=OuterRef("next_stage_id"))),
        status__in=TreatmentPlan.ACTIVE_STATUSES,
        next_booking_due_on__lte=horizon,
    )
    handoffs = Handoff.objects.filter(state=Handoff.State.OPEN)
    recalls = TreatmentPlan.objects.filter(
        ~recall_answered(),
        status=TreatmentPlan.Status.COMPLETED,
        recall_due_on__lte=horizon,
    )
    if branch_id:
        next_stages = next_stages.filter(branch_id=branch_id)
        handoffs = handoffs.filter(branch_id=branch_id)
        recalls = recalls.filter(branch_id=branch_id)
    stages = (
        next_stages.select_related("next_stage", "patient")
        .only(
            "patient_id",
            "next_booking_due_on",
            "next_stage__title",
            "next_stage__specialty_id",
            *(f"patient__{name}" for name in ROUTING_PATIENT_FIELDS),
        )
        .order_by("next_booking_due_on", "id")[:limit]
    )
    handoffs = (
        handoffs.select_related("patient")
        .only(
            "reason",
            "due_date",
            "to_specialty_id",
            "plan_id",
            *(f"patient__{name}" for name in ROUTING_PATIENT_FIELDS),
        )
        .order_by("due_date", "id")
    )
    recalls = (
        recalls.select_related("patient", "lead_doctor__profile")
        .only(
            "title",
            "recall_due_on",
            "lead_doctor__profile__specialty_id",
            *(f"patient__{name}" for name in ROUTING_PATIENT_FIELDS),
        )
        .order_by("recall_due_on", "id")
    )
    # The filters above guarantee what the nullable columns cannot say: a plan selected by
    # next_booking_due_on__lte has that date and, by the trigger that keeps it, a next
    # stage; the recalls are selected by recall_due_on__lte, so they have their due date.
    items = [
        RoutingItem(
            reason="stage",
            patient=p.patient,
            due=cast(date, p.next_booking_due_on),
            title=cast(Stage, p.next_stage).title,
            specialty_id=cast(Stage, p.next_stage).specialty_id,
            stage_id=p.next_stage_id,
            plan_id=p.pk,
        )
        for p in stages
    ]
    items += [
        RoutingItem(
            reason="handoff",
            patient=h.patient,
            due=h.due_date,
            title=h.reason,
            specialty_id=h.to_specialty_id,
            handoff_id=h.pk,
            plan_id=h.plan_id,
        )
        for h in handoffs[:limit]
    ]
    items += [
        RoutingItem(
            reason="recall",
            patient=p.patient,
            due=cast(date, p.recall_due_on),
            title=p.title,
            specialty_id=getattr(getattr(p.lead_doctor, "profile", None), "specialty_id", None),
            plan_id=p.pk,
        )
        for p in recalls[:limit]
    ]
    visit_recalls = (
        visit_recalls_due(until=horizon, branch_id=branch_id)
        .select_related("patient", "service", "doctor__profile")
        .only(
            "recall_due_on",
            "service__name",
            "doctor__profile__specialty_id",
            *(f"patient__{name}" for name in ROUTING_PATIENT_FIELDS),
        )
        .order_by("recall_due_on", "id")
    )
    items += [
        RoutingItem(
            reason="recall",
            patient=v.patient,
            due=cast(date, v.recall_due_on),
            title=_("Check-up after “%(service)s”") % {"service": v.service.name},
            specialty_id=getattr(getattr(v.doctor, "profile", None), "specialty_id", None),
        )
        for v in visit_recalls[:limit]
    ]
    items.sort(key=lambda item: (item.due, item.reason))
    return items[:limit]


def link_answer_find(*, link: str, visit: Visit) -> LinkAnswer | None:
    """The answer already given through this visit's link (as sent for its current
    start), if any."""
    return LinkAnswer.objects.filter(
        link=link, visit=visit, visit_starts_at=visit.starts_at
    ).first()
