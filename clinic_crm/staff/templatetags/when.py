"""Dates as staff read them: in the clinic's zone, with the year only when it is not
this year ("08.12 14:00", "08.12.2025 14:00")."""

from __future__ import annotations

from datetime import date, datetime

from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def when(value: datetime | date | None) -> str:
    if value is None:
        return ""
    today = timezone.localdate()
    if isinstance(value, datetime):
        local = timezone.localtime(value) if timezone.is_aware(value) else value
        pattern = "%d.%m %H:%M" if local.year == today.year else "%d.%m.%Y %H:%M"
        return local.strftime(pattern)
    return value.strftime("%d.%m" if value.year == today.year else "%d.%m.%Y")
