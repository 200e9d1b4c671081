"""Beat schedules read on the clinic's wall clock.

Celery beat works in ``CELERY_TIMEZONE`` (UTC here, so the other jobs' hours are UTC).
A job a manager expects "on Monday at 08:00" must follow the clinic's zone
(``settings.TIME_ZONE``) through daylight saving, which a fixed UTC hour can't.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from celery.schedules import crontab
from django.conf import settings


class ClinicCrontab(crontab):
    """A ``crontab`` whose minute, hour and day of week are the clinic's local time:
    ``ClinicCrontab(hour=8, minute=0, day_of_week=1)`` is due every Monday at 08:00 in
    ``settings.TIME_ZONE``, whatever ``CELERY_TIMEZONE`` is.

    Celery compares the spec with the fields (weekday, hour, minute) of the last run and
    of now as ``maybe_make_aware`` gives them; both are converted to the clinic's zone
    here (beat records runs in UTC), and Celery takes the difference in UTC, so the
    wall-clock hour holds across a DST change. The zone is read when the schedule is
    evaluated, not when the settings are loaded."""

    def maybe_make_aware(self, dt: datetime, naive_as_utc: bool = True) -> datetime:
        zone = ZoneInfo(settings.TIME_ZONE)
        return super().maybe_make_aware(dt, naive_as_utc=naive_as_utc).astimezone(zone)
