"""The curator's worklist: which open tasks a person sees, filtered and sorted, and the
score that says which to call first, with its reasons.

The score spreads tasks that the rules open at the same urgency: half the rule's own
risk, plus points for time overdue, the value of the plan at stake, the patient's
earlier no-shows and negative answers. It is computed by the database (so the list can
be sorted by it) from the parts that the page shows as the score's reasons.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, TypedDict

from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    IntegerField,
    Model,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Cast, Coalesce, Floor, Greatest, Least, TruncHour
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .models import Task, Visit

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    from clinic_crm.staff.models import User

# Points of each part of the score, and where each part stops growing.
OVERDUE_POINTS_PER_DAY = 5
OVERDUE_POINTS_MAX = 25
VALUE_POINTS_PER = 20000  # one point per this much of the chosen option's cost
VALUE_POINTS_MAX = 10
NO_SHOW_POINTS = 5
NO_SHOW_POINTS_MAX = 15
NEGATIVE_POINTS = 5
NEGATIVE_POINTS_MAX = 10

DUE_CHOICES = ("overdue", "today", "week")
SORTS = ("due", "risk")
# Who: the user's tasks and the unassigned ones of their branches (a curator's default),
# only theirs, only unassigned, everyone's of the branches (a manager's default), or one
# colleague's (an id).
WHO = ("mine_and_unassigned", "mine", "unassigned", "all")


@dataclass(frozen=True)
class WorklistFilter:
    kind: str = ""
    due: str = ""
    branch_id: int | None = None
    who: str = "mine_and_unassigned"
    colleague_id: int | None = None
    sort: str = "due"


class ScoreParts(TypedDict):
    """What ``with_score`` annotates on each task."""

    overdue_days: int
    no_shows: int
    negatives: int
    plan_value: Decimal
    points_rule: int
    points_overdue: int
    points_value: int
    points_no_shows: int
    points_negatives: int
    score: int


if TYPE_CHECKING:
    ScoredTask = WithAnnotations[Task, ScoreParts]


class _Epoch(Func):
    template = "EXTRACT(EPOCH FROM %(expressions)s)"
    output_field = FloatField()


def _count_of(queryset: QuerySet[Model]) -> Coalesce:
    counted = queryset.order_by().values("patient_id").annotate(n=Count("*")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def with_score(tasks: QuerySet[Task], *, now: datetime | None = None) -> QuerySet[ScoredTask]:
    """Annotates each task with the parts of its score and the score itself."""
    now = now or timezone.now()
    overdue_days = Greatest(
        _Epoch(ExpressionWrapper(Value(now) - F("due_at"), output_field=FloatField())) / 86400,
        Value(0.0),
    )
    cost = Coalesce(F("plan__chosen_option__cost_estimate"), Value(0), output_field=DecimalField())
    return tasks.annotate(
        overdue_days=Cast(Floor(overdue_days), IntegerField()),
        no_shows=_count_of(
            Visit.objects.filter(patient_id=OuterRef("patient_id"), status=Visit.Status.NO_SHOW)
        ),
        negatives=_count_of(
            Task.objects.filter(patient_id=OuterRef("patient_id"), kind=Task.Kind.NEGATIVE_FEEDBACK)
        ),
        plan_value=cost,
        points_rule=F("risk") / 2,
        points_overdue=Cast(
            Least(Floor(overdue_days * OVERDUE_POINTS_PER_DAY), Value(OVERDUE_POINTS_MAX)),
            IntegerField(),
        ),
        points_value=Cast(
            Least(Floor(cost / VALUE_POINTS_PER), Value(VALUE_POINTS_MAX)), IntegerField()
        ),
        points_no_shows=Least(F("no_shows") * NO_SHOW_POINTS, Value(NO_SHOW_POINTS_MAX)),
        points_negatives=Least(F("negatives") * NEGATIVE_POINTS, Value(NEGATIVE_POINTS_MAX)),
    ).annotate(
        score=Least(
            F("points_rule")
            + F("points_overdue")
            + F("points_value")
            + F("points_no_shows")
            + F("points_negatives"),
            Value(100),
        )
    )


def score_reasons(task: ScoredTask) -> list[str]:
    """The score's parts in words, for the hover text (a task from ``with_score``)."""
    reasons = [_("urgency of the rule: +%(points)s") % {"points": task.points_rule}]
    if task.points_overdue:
        reasons.append(
            ngettext(
                "overdue %(days)s day: +%(points)s",
                "overdue %(days)s days: +%(points)s",
                task.overdue_days,
            )
            % {"days": task.overdue_days, "points": task.points_overdue}
        )
    if task.points_value:
        reasons.append(
            _("plan of %(value)s: +%(points)s")
            % {"value": f"{task.plan_value:,.0f}".replace(",", " "), "points": task.points_value}
        )
    if task.points_no_shows:
        reasons.append(
            ngettext(
                "%(count)s no-show before: +%(points)s",
                "%(count)s no-shows before: +%(points)s",
                task.no_shows,
            )
            % {"count": task.no_shows, "points": task.points_no_shows}
        )
    if task.points_negatives:
        reasons.append(
            ngettext(
                "%(count)s negative answer: +%(points)s",
                "%(count)s negative answers: +%(points)s",
                task.negatives,
            )
            % {"count": task.negatives, "points": task.points_negatives}
        )
    return reasons


def _up_to_the_hour_of(tasks: QuerySet[Task], limit: int) -> QuerySet[Task]:
    """Only the tasks due up to the end of the hour of the ``limit``-th by due time: the
    first ``limit`` in (due hour, score) order are all among them, so only those need a
    score. (A curator with 1,600 open tasks had every one scored to be shown 50.) The
    hour is the current zone's, as TruncHour reads it. One query on the worklist index."""
    nth = list(tasks.order_by("due_at", "id").values_list("due_at", flat=True)[limit - 1 : limit])
    if not nth:
        return tasks  # fewer than ``limit``: every one is shown
    hour = timezone.localtime(nth[0]).replace(minute=0, second=0, microsecond=0)
    return tasks.filter(due_at__lt=hour + timedelta(hours=1))


def worklist(
    *,
    user: User,
    branch_ids: frozenset[int] | None,
    filters: WorklistFilter = WorklistFilter(),
    limit: int | None = None,
    now: datetime | None = None,
) -> QuerySet[ScoredTask]:
    """Open tasks ``user`` works with: their own, and those of ``branch_ids`` (every
    branch when None) as ``filters.who`` says; filtered, sorted by due hour then score
    (or by score), at most ``limit``. The patient, plan and assignee come joined."""
    now = now or timezone.now()
    branch_condition = Q() if branch_ids is None else Q(branch_id__in=sorted(branch_ids))
    mine = Q(assignee=user)
    who = filters.who
    if filters.colleague_id is not None:
        condition = Q(assignee_id=filters.colleague_id) & branch_condition
    elif who == "mine":
        condition = mine
    elif who == "unassigned":
        condition = Q(assignee__isnull=True) & branch_condition
    elif who == "all":
        condition = mine | branch_condition
    else:
        condition = mine | (Q(assignee__isnull=True) & branch_condition)
    tasks: QuerySet[Task] = Task.objects.filter(condition, state__in=Task.OPEN_STATES)
    if filters.kind:
        tasks = tasks.filter(kind=filters.kind)
    if filters.branch_id is not None:
        tasks = tasks.filter(branch_id=filters.branch_id)
    if filters.due:
        end_of_today = timezone.localtime(now).replace(hour=23, minute=59, second=59)
        until = {
            "overdue": now,
            "today": end_of_today,
            "week": end_of_today + timedelta(days=6),
        }[filters.due]
        tasks = (
            tasks.filter(due_at__lt=until)
            if filters.due == "overdue"
            else tasks.filter(due_at__lte=until)
        )
    if limit is not None and filters.sort != "risk":
        tasks = _up_to_the_hour_of(tasks, limit)
    scored = with_score(tasks, now=now)
    order = ("-score", "due_at", "id") if filters.sort == "risk" else ("due_hour", "-score", "id")
    scored = scored.annotate(due_hour=TruncHour("due_at")).order_by(*order)
    if limit is not None:
        scored = scored[:limit]
    return scored.select_related("patient", "plan", "handoff__to_specialty", "assignee")
