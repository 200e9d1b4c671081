"""Reads of the outbox that pages share."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from .models import Message

if TYPE_CHECKING:
    pass

PATIENT_MESSAGES_SHOWN = 20


def patient_messages(*, patient_id: int, limit: int = PATIENT_MESSAGES_SHOWN) -> list[Message]:
    """The patient's latest messages for the timeline: one query."""
    return list(
        Message.objects.filter(patient_id=patient_id)
        .defer("body")
        .order_by("-scheduled_for", "-id")[:limit]
    )


def _day_bounds(date_from: date | None, date_to: date | None) -> tuple[datetime, datetime]:
    zone = timezone.get_current_timezone()
    today = timezone.localdate()
    date_to = date_to or today
    date_from = date_from or date_to - timedelta(days=13)
    return (
        datetime.combine(date_from, time.min, tzinfo=zone),
        datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=zone),
    )


def outbox_messages(
    *,
    status: str = "",
    kind: str = "",
    channel: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[Message]:
    """Messages scheduled in the period (the last two weeks by default), newest first,
    each with its patient's name."""
    start, end = _day_bounds(date_from, date_to)
    messages = Message.objects.filter(scheduled_for__gte=start, scheduled_for__lt=end)
    if status:
        messages = messages.filter(status=status)
    if kind:
        messages = messages.filter(kind=kind)
    if channel:
        messages = messages.filter(channel=channel)
    return (
        messages.select_related("patient")
        .only(
            "kind",
            "channel",
            "status",
            "suppressed_reason",
            "waiting_reason",
            "last_error",
            "attempts",
            "scheduled_for",
            "sent_at",
            "delivery",
            "patient__last_name",
            "patient__first_name",
            "patient__middle_name",
        )
        .order_by("-scheduled_for", "-id")
    )


def outbox_daily_counts(
    *, date_from: date | None = None, date_to: date | None = None, kind: str = "", channel: str = ""
) -> list[dict[str, date | int]]:
    """Per day of the period: how many messages were sent, failed and suppressed (by the
    day they were closed, in the clinic's time zone), newest day first."""
    start, end = _day_bounds(date_from, date_to)
    closed = Message.objects.filter(
        closed_at__gte=start,
        closed_at__lt=end,
        status__in=[Message.Status.SENT, Message.Status.FAILED, Message.Status.SUPPRESSED],
    )
    if kind:
        closed = closed.filter(kind=kind)
    if channel:
        closed = closed.filter(channel=channel)
    rows = (
        closed.annotate(day=TruncDate("closed_at", tzinfo=timezone.get_current_timezone()))
        .values("day", "status")
        .annotate(n=Count("id"))
    )
    days: dict[date, dict[str, date | int]] = {}
    for row in rows:
        day = days.setdefault(
            row["day"], {"day": row["day"], "sent": 0, "failed": 0, "suppressed": 0}
        )
        day[row["status"]] = row["n"]
    return sorted(days.values(), key=lambda d: d["day"], reverse=True)
