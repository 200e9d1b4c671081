"""The journey summary on the patient card: where the patient stands today.

Open plans with their current stage, the next visit and the last one, open tasks and
open handoffs — in six queries whatever the patient's history (the card's cost must not
grow with the number of plans, visits or tasks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, Protocol, TypeVar, cast

from django.db.models import Count, Model, Prefetch, Q, QuerySet, Window
from django.utils import timezone

from .models import Handoff, Stage, Task, TreatmentPlan, Visit

# The card lists this many open tasks and handoffs; the rest are counted ("and 3 more").
CARD_LIST_LIMIT = 5

# Active plans first, then those awaiting the patient's decision, then drafts.
_PLAN_ORDER: dict[str, int] = {
    TreatmentPlan.Status.IN_PROGRESS: 0,
    TreatmentPlan.Status.ACCEPTED: 1,
    TreatmentPlan.Status.PROPOSED: 2,
    TreatmentPlan.Status.DRAFT: 3,
}
_FINISHED_STAGE = (Stage.Status.DONE, Stage.Status.SKIPPED)


@dataclass
class PlanSummary:
    plan: TreatmentPlan
    stages: list[Stage]

    @property
    def total(self) -> int:
        return len(self.stages)

    @property
    def done(self) -> int:
        return sum(1 for s in self.stages if s.status in _FINISHED_STAGE)

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0

    @property
    def current_stage(self) -> Stage | None:
        """The stage the patient is in, else the next one to come."""
        in_progress = next((s for s in self.stages if s.status == Stage.Status.IN_PROGRESS), None)
        return in_progress or next(
            (s for s in self.stages if s.status in (Stage.Status.PLANNED, Stage.Status.BOOKED)),
            None,
        )

    @property
    def stage_to_book(self) -> Stage | None:
        """The current stage when it still waits for a visit."""
        stage = self.current_stage
        return stage if stage is not None and stage.status == Stage.Status.PLANNED else None

    @property
    def is_active(self) -> bool:
        return self.plan.status in TreatmentPlan.ACTIVE_STATUSES


RowT = TypeVar("RowT", bound=Model)


@dataclass
class ListPart(Generic[RowT]):
    """The first rows of a list and how many more there are."""

    rows: list[RowT] = field(default_factory=list)
    more: int = 0


@dataclass
class JourneySummary:
    plans: list[PlanSummary]
    next_visit: Visit | None
    last_visit: Visit | None
    tasks: ListPart[Task]
    handoffs: ListPart[Handoff]

    @property
    def active_plans(self) -> list[PlanSummary]:
        return [p for p in self.plans if p.is_active]


class _WithTotalRows(Protocol):
    total_rows: int


def _first(queryset: QuerySet[RowT], limit: int = CARD_LIST_LIMIT) -> ListPart[RowT]:
    """The first ``limit`` rows and how many more there are, in one query (the total
    comes with each row as a window count)."""
    rows = list(queryset.annotate(total_rows=Window(Count("id")))[:limit])
    # The plugin cannot carry annotate()'s field through the type variable RowT; every
    # row has total_rows, annotated on the line above.
    more = cast(_WithTotalRows, rows[0]).total_rows - len(rows) if rows else 0
    return ListPart(rows=rows, more=more)


def open_plans(*, patient_id: int) -> list[PlanSummary]:
    plans = (
        TreatmentPlan.objects.filter(patient_id=patient_id, status__in=TreatmentPlan.OPEN_STATUSES)
        .select_related("lead_doctor", "curator", "branch", "chosen_option")
        .annotate(option_count=Count("options"))
        .prefetch_related(
            Prefetch(
                "chosen_option__stages",
                queryset=Stage.objects.select_related("specialty", "service").order_by(
                    "position", "id"
                ),
            )
        )
        .order_by("-created_at", "-id")
    )
    summaries = [
        PlanSummary(
            plan=plan,
            stages=list(plan.chosen_option.stages.all()) if plan.chosen_option else [],
        )
        for plan in plans
    ]
    summaries.sort(key=lambda s: _PLAN_ORDER.get(s.plan.status, 9))
    return summaries


def _visits(patient_id: int) -> QuerySet[Visit]:
    return Visit.objects.filter(patient_id=patient_id).select_related(
        "doctor", "service", "branch", "stage"
    )


def next_visit(*, patient_id: int, now: datetime) -> Visit | None:
    """The visit going on now, else the next one booked."""
    return (
        _visits(patient_id)
        .filter(status__in=Visit.OPEN, ends_at__gte=now)
        .order_by("starts_at", "id")
        .first()
    )


def last_visit(*, patient_id: int, now: datetime) -> Visit | None:
    """The latest visit that began before now and is over (attended, missed, or left
    unmarked); cancelled ones don't count, nor the one going on now."""
    return (
        _visits(patient_id)
        .filter(starts_at__lt=now)
        .exclude(status__in=Visit.CANCELLED)
        .exclude(Q(status__in=Visit.OPEN) & Q(ends_at__gte=now))
        .order_by("-starts_at", "-id")
        .first()
    )


def open_tasks(*, patient_id: int) -> ListPart[Task]:
    return _first(
        Task.objects.filter(patient_id=patient_id, state__in=Task.OPEN_STATES)
        .select_related("assignee")
        .order_by("due_at", "-risk", "id")
    )


def open_handoffs(*, patient_id: int) -> ListPart[Handoff]:
    return _first(
        Handoff.objects.filter(patient_id=patient_id, state=Handoff.State.OPEN)
        .select_related("to_specialty", "to_doctor", "from_doctor", "curator", "branch")
        .order_by("due_date", "id")
    )


def patient_journey_summary(*, patient_id: int, now: datetime | None = None) -> JourneySummary:
    now = now or timezone.now()
    return JourneySummary(
        plans=open_plans(patient_id=patient_id),
        next_visit=next_visit(patient_id=patient_id, now=now),
        last_visit=last_visit(patient_id=patient_id, now=now),
        tasks=open_tasks(patient_id=patient_id),
        handoffs=open_handoffs(patient_id=patient_id),
    )
