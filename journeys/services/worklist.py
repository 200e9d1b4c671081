"""Rules that open worklist tasks, and the journey-health score that sorts them.

Each rule finds its causes with one query, opens at most one task per cause (a partial
unique index on ``Task.cause_key`` among open tasks, with ``ON CONFLICT DO NOTHING``),
and closes the tasks whose cause has gone away (a visit got booked). Running a rule
twice does nothing the second time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypedDict, cast

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic_crm import limits
from clinic_crm.signals import counted_change
from journeys.errors import JourneyError
from journeys.models import Handoff, JourneyEvent, Stage, Task, TreatmentPlan, Visit
from journeys.selectors import recall_answered, visit_recalls_due
from journeys.services.events import journey_event_record
from journeys.services.waitlist import slot_offers_expire
from journeys.texts import task_title_fields
from journeys.texts_builtin import TaskText

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    from clinic_crm.staff.models import User


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def stalled_after_days() -> int:
    return _setting("JOURNEY_STALLED_AFTER_DAYS", 7)


def handoff_grace_days() -> int:
    return _setting("JOURNEY_HANDOFF_GRACE_DAYS", 3)


TASK_SLA = timedelta(hours=24)


def health_score(
    *, overdue_days: int, no_shows: int, cancellations: int, lost_handoffs: int
) -> int:
    """Dropout risk of a journey, 0 (healthy) … 100 (about to be lost).

    risk = min(100, 2·overdue days + 15·no-shows + 5·cancellations + 20·lost handoffs)
    Overdue days count how long the next stage is past its window; a no-show weighs three
    cancellations, a lost handoff four.
    """
    raw = 2 * max(overdue_days, 0) + 15 * no_shows + 5 * cancellations + 20 * lost_handoffs
    return min(100, raw)


def future_visit_exists(patient_ref: str = "patient_id") -> Exists:
    return Exists(
        Visit.objects.filter(
            patient_id=OuterRef(patient_ref),
            status__in=Visit.UPCOMING,
            starts_at__gte=timezone.now(),
        )
    )


class HealthCounts(TypedDict):
    """What :func:`plans_with_health` annotates on each plan."""

    no_shows: int
    cancellations: int
    lost_handoffs: int


def plans_with_health(
    plans: QuerySet[TreatmentPlan],
) -> QuerySet[WithAnnotations[TreatmentPlan, HealthCounts]]:
    """Annotates plans with the counts that the health score needs."""
    return plans.annotate(
        no_shows=Count(
            "patient__visits", filter=Q(patient__visits__status=Visit.Status.NO_SHOW), distinct=True
        ),
        cancellations=Count(
            "patient__visits",
            filter=Q(patient__visits__status=Visit.Status.CANCELLED_BY_PATIENT),
            distinct=True,
        ),
        lost_handoffs=Count(
            "handoffs", filter=Q(handoffs__state=Handoff.State.LOST), distinct=True
        ),
    )


@dataclass
class RuleResult:
    opened: int = 0
    closed: int = 0


def _open_tasks(tasks: list[Task]) -> int:
    if not tasks:
        return 0
    before = Task.objects.filter(
        cause_key__in=[t.cause_key for t in tasks], state__in=Task.OPEN_STATES
    ).count()
    Task.objects.bulk_create(tasks, ignore_conflicts=True)
    after = Task.objects.filter(
        cause_key__in=[t.cause_key for t in tasks], state__in=Task.OPEN_STATES
    ).count()
    return after - before


def _close_resolved(
    kind: str, still_open_causes: set[str], outcome: str, patient_id: int | None
) -> int:
    # Task's manager is an AuditedQuerySet, neither generic nor annotated
    # (clinic_crm/audit/tracking.py); its update() keeps QuerySet.update's contract.
    stale: QuerySet[Task] = Task.objects.filter(kind=kind, state__in=Task.OPEN_STATES)
    if patient_id is not None:
        stale = stale.filter(patient_id=patient_id)
    return stale.exclude(cause_key__in=still_open_causes).update(
        state=Task.State.DONE, outcome=outcome, closed_at=timezone.now()
    )


@transaction.atomic
def rule_stalled_journeys(*, patient_id: int | None = None) -> RuleResult:
    """A plan in treatment with no future visit and a stage overdue by N days: the
    curator calls the patient — “where the patient stopped”."""
    today = timezone.localdate()
    cutoff = today - timedelta(days=stalled_after_days())
    overdue_stage = Stage.objects.filter(
        option_id=OuterRef("chosen_option_id"),
        status=Stage.Status.PLANNED,
        window_end__lt=cutoff,
    ).order_by("position")
    plans = (
        TreatmentPlan.objects.filter(status__in=TreatmentPlan.ACTIVE_STATUSES)
        .annotate(has_future=future_visit_exists(), has_overdue=Exists(overdue_stage))
        .filter(has_future=False, has_overdue=True)
    )
    if patient_id is not None:
        plans = plans.filter(patient_id=patient_id)
    plans_health = plans_with_health(plans).select_related("patient")
    stages: dict[int | None, Stage] = {
        s.option_id: s
        for s in Stage.objects.filter(
            option__plan__in=plans_health, status=Stage.Status.PLANNED, window_end__lt=cutoff
        ).order_by("option_id", "-position")
    }  # the earliest overdue stage per option wins (ordered so it is written last)
    now = timezone.now()
    tasks, causes = [], set()
    for plan in plans_health:
        stage = stages.get(plan.chosen_option_id)
        if stage is None:
            continue
        # The stages were read with window_end__lt=cutoff: never NULL.
        overdue = (today - cast(date, stage.window_end)).days
        cause = f"stalled:plan:{plan.pk}"
        causes.add(cause)
        tasks.append(
            Task(
                kind=Task.Kind.STALLED_JOURNEY,
                patient_id=plan.patient_id,
                plan=plan,
                assignee_id=plan.curator_id,
                cause_key=cause,
                due_at=now + TASK_SLA,
                **task_title_fields(
                    TaskText.STALLED_JOURNEY, {"stage": stage.title, "days": overdue}
                ),
                details=stage.purpose,
                risk=health_score(
                    overdue_days=overdue,
                    no_shows=plan.no_shows,
                    cancellations=plan.cancellations,
                    lost_handoffs=plan.lost_handoffs,
                ),
            )
        )
    opened = _open_tasks(tasks)
    closed = _close_resolved(Task.Kind.STALLED_JOURNEY, causes, _("A visit is booked."), patient_id)
    return RuleResult(opened=opened, closed=closed)


@transaction.atomic
def rule_handoffs_not_booked(*, patient_id: int | None = None) -> RuleResult:
    """An open handoff not booked within N days (or past its “book by” date)."""
    now = timezone.now()
    today = timezone.localdate()
    handoffs = (
        Handoff.objects.filter(state=Handoff.State.OPEN)
        .filter(
            Q(created_at__lt=now - timedelta(days=handoff_grace_days())) | Q(due_date__lt=today)
        )
        .select_related("plan", "to_specialty")
    )
    if patient_id is not None:
        handoffs = handoffs.filter(patient_id=patient_id)
    tasks, causes = [], set()
    for handoff in handoffs:
        cause = f"handoff:{handoff.pk}"
        causes.add(cause)
        late = max((today - handoff.due_date).days, 0)
        tasks.append(
            Task(
                kind=Task.Kind.HANDOFF_NOT_BOOKED,
                patient_id=handoff.patient_id,
                plan=handoff.plan,
                handoff=handoff,
                cause_key=cause,
                assignee_id=handoff.curator_id
                or (handoff.plan.curator_id if handoff.plan else None),
                due_at=now + TASK_SLA,
                **task_title_fields(
                    TaskText.HANDOFF_NOT_BOOKED, {"specialty": str(handoff.to_specialty)}
                ),
                details=handoff.reason,
                risk=health_score(overdue_days=late, no_shows=0, cancellations=0, lost_handoffs=0),
            )
        )
    opened = _open_tasks(tasks)
    closed = _close_resolved(
        Task.Kind.HANDOFF_NOT_BOOKED, causes, _("The handoff is booked."), patient_id
    )
    return RuleResult(opened=opened, closed=closed)


@transaction.atomic
def rule_recalls_due(*, patient_id: int | None = None) -> RuleResult:
    """A check-up is due and nothing answers it: after a completed plan, or after a visit
    at which care was finished without a plan (unassigned: any curator may take it)."""
    today = timezone.localdate()
    now = timezone.now()
    plans = TreatmentPlan.objects.filter(
        ~recall_answered(), status=TreatmentPlan.Status.COMPLETED, recall_due_on__lte=today
    )
    if patient_id is not None:
        plans = plans.filter(patient_id=patient_id)
    visits = visit_recalls_due(until=today).select_related("service")
    if patient_id is not None:
        visits = visits.filter(patient_id=patient_id)
    # Both were read with recall_due_on__lte=today, so their due dates are never NULL.
    due: list[tuple[str, TreatmentPlan | Visit, date, dict[str, Any]]] = [
        (
            f"recall:plan:{plan.pk}",
            plan,
            cast(date, plan.recall_due_on),
            task_title_fields(TaskText.RECALL_PLAN, {"plan": plan.title}),
        )
        for plan in plans
    ] + [
        (
            f"recall:visit:{visit.pk}",
            visit,
            cast(date, visit.recall_due_on),
            task_title_fields(TaskText.RECALL_VISIT, {"service": visit.service.name}),
        )
        for visit in visits
    ]
    tasks, causes = [], set()
    for source, row, due_on, title_fields in due:
        cause = f"{source}:{due_on.isoformat()}"
        causes.add(cause)
        plan = row if isinstance(row, TreatmentPlan) else None
        tasks.append(
            Task(
                kind=Task.Kind.RECALL_DUE,
                patient_id=row.patient_id,
                plan=plan,
                assignee_id=plan.curator_id if plan is not None else None,
                branch_id=row.branch_id,
                cause_key=cause,
                due_at=now + timedelta(days=3),
                **title_fields,
                risk=min(100, (today - due_on).days),
            )
        )
    opened = _open_tasks(tasks)
    closed = _close_resolved(
        Task.Kind.RECALL_DUE, causes, _("The check-up is booked or done."), patient_id
    )
    return RuleResult(opened=opened, closed=closed)


def rule_slot_offers_expire(*, patient_id: int | None = None) -> RuleResult:
    """Offers of freed slots whose time has passed close as expired (all patients: the
    offer's patient is not the cancelled visit's)."""
    return RuleResult(closed=slot_offers_expire())


RULES = (
    rule_stalled_journeys,
    rule_handoffs_not_booked,
    rule_recalls_due,
    rule_slot_offers_expire,
)


def worklist_rules_run(*, patient_id: int | None = None) -> dict[str, RuleResult]:
    return {rule.__name__: rule(patient_id=patient_id) for rule in RULES}


@transaction.atomic
def _task_event(task: Task, *, actor: User, action: str, **data: object) -> None:
    """Every change of a task is a fact of the patient's journey (who, when, what)."""
    journey_event_record(
        patient_id=task.patient_id,
        kind=JourneyEvent.Kind.TASK,
        actor=actor,
        plan=task.plan if task.plan_id else None,
        handoff=task.handoff if task.handoff_id else None,
        data={"task": task.pk, "task_kind": task.kind, "action": action, **data},
    )


def _open_task_for_update(task: Task) -> Task:
    locked = Task.objects.select_for_update().filter(pk=task.pk, state__in=Task.OPEN_STATES)
    current: Task | None = locked.first()  # AuditedQuerySet rows read as Any
    if current is None:
        raise JourneyError(_("This task is already closed."))
    return current


TaskClosedHook = Callable[[Task], None]
_closed_hooks: list[TaskClosedHook] = []


def task_closed_register(hook: TaskClosedHook) -> None:
    """Adds ``hook(task)``, run inside the transaction that closes a task (feedback plans
    the re-survey of a patient reached after negative feedback). Registered in
    ``AppConfig.ready`` by the layers above."""
    if hook not in _closed_hooks:
        _closed_hooks.append(hook)


def _result_check(task: Task, result: str) -> None:
    if result and result not in Task.Result.values:
        raise JourneyError(_("Choose how the call ended."))
    if task.kind == Task.Kind.NEGATIVE_FEEDBACK and not result:
        raise JourneyError(
            _("Choose how the call ended: reached (solved or not), refused, or unreachable.")
        )
    if result == Task.Result.UNREACHABLE and task.attempts < Task.UNREACHABLE_AFTER_ATTEMPTS:
        raise JourneyError(
            _(
                "Try at least %(n)s times before closing as unreachable "
                "(%(done)s so far: press “No answer” after each call)."
            )
            % {"n": Task.UNREACHABLE_AFTER_ATTEMPTS, "done": task.attempts}
        )


@transaction.atomic
def task_close(*, actor: User, task: Task, outcome: str, result: str = "") -> Task:
    """Closes an open task with what came of it. A recovery call (negative feedback) also
    needs its ``result`` (``Task.Result``); "unreachable" only after three attempts."""
    outcome = (outcome or "").strip()
    result = (result or "").strip()
    if not outcome and not result:
        raise JourneyError(_("Write what came of it."))
    problem = limits.text_problem(outcome, limit=limits.OUTCOME) if outcome else None
    if problem:
        raise JourneyError(problem)
    current = _open_task_for_update(task)
    _result_check(current, result)
    current.state = Task.State.DONE
    current.outcome = outcome or str(Task.Result(result).label)
    current.result = result
    current.closed_at = timezone.now()
    current.save(update_fields=["state", "outcome", "result", "closed_at"])
    _task_event(current, actor=actor, action="closed", outcome=current.outcome, result=result)
    for hook in _closed_hooks:
        hook(current)
    if current.kind == Task.Kind.NEGATIVE_FEEDBACK:
        # "contacted within 24 h" may have changed
        counted_change.send(sender=Task, patient_id=current.patient_id)
    task.refresh_from_db()
    return task


@transaction.atomic
def task_assign(*, actor: User, task: Task, assignee: User) -> Task:
    """Gives an open task to ``assignee`` (the actor themselves: taking it). Who may is
    checked by the caller (``journeys.access.can_assign_task``)."""
    current = _open_task_for_update(task)
    previous = current.assignee_id
    if previous == assignee.pk:
        return current
    current.assignee = assignee
    current.save(update_fields=["assignee"])
    _task_event(
        current,
        actor=actor,
        action="taken" if assignee.pk == actor.pk else "assigned",
        assignee=assignee.pk,
        assignee_name=str(assignee),
        previous=previous,
    )
    task.refresh_from_db()
    return task


# After a call that reached nobody, the task comes back this much later.
RETRY_AFTER = timedelta(hours=2)


@transaction.atomic
def task_attempt_record(*, actor: User, task: Task, note: str = "") -> Task:
    """A call that reached nobody (or "call me later"): the task stays open, in progress,
    due again in two hours at the latest, and the attempt is on the task and the journey."""
    note = (note or "").strip()
    problem = limits.text_problem(note, limit=200) if note else None
    if problem:
        raise JourneyError(problem)
    current = _open_task_for_update(task)
    now = timezone.now()
    current.state = Task.State.IN_PROGRESS
    current.attempts += 1
    current.last_attempt_at = now
    current.last_attempt_note = note
    if current.due_at < now + RETRY_AFTER:
        current.due_at = now + RETRY_AFTER
    current.save(
        update_fields=["state", "attempts", "last_attempt_at", "last_attempt_note", "due_at"]
    )
    _task_event(current, actor=actor, action="attempt", note=note, attempt=current.attempts)
    task.refresh_from_db()
    return task


def task_open_once(
    *,
    visit: Visit,
    kind: str,
    cause: str,
    title_key: str,
    title_params: dict[str, Any],
    details: str,
    risk: int,
    due_in: timedelta = timedelta(hours=4),
    now: datetime | None = None,
) -> Task:
    """Opens a task about ``visit`` for its plan's curator (the front desk when there is
    no plan), due ``due_in`` from ``now``; a second call for the same cause opens nothing
    (the partial unique index on open tasks' causes) and returns the open one. The title
    is ``title_key`` with ``title_params``, written in the reader's language when shown
    (journeys.texts)."""
    plan = visit.stage.option.plan if visit.stage is not None else None
    task = Task(
        kind=kind,
        patient_id=visit.patient_id,
        plan=plan,
        assignee=plan.curator if plan is not None else None,
        branch_id=visit.branch_id,
        cause_key=f"{cause}:{visit.pk}",
        due_at=(now or timezone.now()) + due_in,
        **task_title_fields(title_key, title_params),
        details=details,
        risk=risk,
    )
    Task.objects.bulk_create([task], ignore_conflicts=True)
    # Typed here: rows of the AuditedQuerySet manager read as Any (see _close_resolved).
    opened: Task = Task.objects.get(cause_key=task.cause_key, state__in=Task.OPEN_STATES)
    return opened
