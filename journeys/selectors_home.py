"""Reads for the role home pages."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.utils import timezone

from .models import Visit

if TYPE_CHECKING:
    from clinic_crm.staff.models import User


def doctor_day(*, doctor: User, day: date | None = None) -> QuerySet[Visit]:
    """The doctor's visits of a day (the clinic's time zone), cancelled ones left out,
    each with the pre-visit questionnaire's answers if the patient sent them."""
    day = day or timezone.localdate()
    zone = timezone.get_current_timezone()
    start = datetime.combine(day, time.min, tzinfo=zone)
    return (
        Visit.objects.filter(
            doctor=doctor, starts_at__gte=start, starts_at__lt=start + timedelta(days=1)
        )
        .exclude(status__in=Visit.CANCELLED)
        .select_related("patient", "service", "stage", "branch", "screening")
        .order_by("starts_at")
    )
