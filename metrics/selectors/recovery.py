"""The recovery loop's live count: negative answers' recovery calls open and overdue."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from feedback.models import Response
from journeys.models import Task

from .filters import Filters


def recovery_tasks(filters: Filters, *, now: datetime | None = None) -> dict[str, int]:
    """The recovery calls still open, and how many of them are overdue, for the negative
    answers the filters select (their day in the period, their branch, doctor, specialty
    and stage). Open and overdue are states of now; which tasks count follows the page's
    filters like every other figure. One query: the few open tasks from the partial index
    ``task_open_kind_due``, each looked up in its answers by ``recovery_task`` (EXISTS,
    so a task that two answers of one visit share counts once)."""
    answers = Response.objects.filter(
        recovery_task=OuterRef("pk"), day__gte=filters.start, day__lte=filters.end
    )
    for name in ("branch_id", "doctor_id", "specialty_id", "stage_kind"):
        if getattr(filters, name) is not None:
            answers = answers.filter(**{name: getattr(filters, name)})
    return Task.objects.filter(
        Exists(answers), kind=Task.Kind.NEGATIVE_FEEDBACK, state__in=Task.OPEN_STATES
    ).aggregate(open=Count("id"), overdue=Count("id", filter=Q(due_at__lt=now or timezone.now())))
