"""The recovery loop's live count: negative answers' recovery calls open and overdue."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from feedback.models import Response
from journeys.models import Task

from .. import formulas
from .filters import Filters

RECOVERED_FROM = 7  # a re-survey answer of 7–10: no longer a detractor


def _answers(filters: Filters, answers: QuerySet[Response]) -> QuerySet[Response]:
    answers = answers.filter(day__gte=filters.start, day__lte=filters.end)
    for name in ("branch_id", "doctor_id", "specialty_id", "stage_kind"):
        if getattr(filters, name) is not None:
            answers = answers.filter(**{name: getattr(filters, name)})
    return answers


def recovered_by_resurvey(filters: Filters) -> formulas.Figure:
    """Of the negative answers under the filters whose patient was asked again after the
    recovery call, the share now answering 7–10 (one query, over the few answered
    re-surveys)."""
    counts = _answers(
        filters, Response.objects.filter(negative=True, resurvey_score__isnull=False)
    ).aggregate(
        asked=Count("id"), recovered=Count("id", filter=Q(resurvey_score__gte=RECOVERED_FROM))
    )
    return formulas.recovered_by_resurvey(counts["recovered"], counts["asked"])


def recovery_tasks(filters: Filters, *, now: datetime | None = None) -> dict[str, int]:
    """The recovery calls still open, and how many of them are overdue, for the negative
    answers the filters select (their day in the period, their branch, doctor, specialty
    and stage). Open and overdue are states of now; which tasks count follows the page's
    filters like every other figure. One query: the few open tasks from the partial index
    ``task_open_kind_due``, each looked up in its answers by ``recovery_task`` (EXISTS,
    so a task that two answers of one visit share counts once)."""
    answers = _answers(filters, Response.objects.filter(recovery_task=OuterRef("pk")))
    return Task.objects.filter(
        Exists(answers), kind=Task.Kind.NEGATIVE_FEEDBACK, state__in=Task.OPEN_STATES
    ).aggregate(open=Count("id"), overdue=Count("id", filter=Q(due_at__lt=now or timezone.now())))
