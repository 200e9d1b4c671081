from datetime import date

from celery import shared_task

from .cohorts import cohorts_snapshot
from .rollups import rollups_rebuild, rollups_refresh
from .weekly_report import last_week_start, weekly_report_build, weekly_report_send

# A run refreshes at most this many batches, then queues the next run itself when work
# is left, so a burst of changes never holds one task past its time limit.
REFRESH_BATCHES = 40


@shared_task(acks_late=True, soft_time_limit=120, time_limit=150, ignore_result=True)
def rollups_refresh_task() -> dict[str, int]:
    """Recomputes the doctor-days queued by the triggers (right after each change, and
    every minute from beat). Safe to run twice at once or to redeliver."""
    result = rollups_refresh(max_batches=REFRESH_BATCHES)
    if result.batches >= REFRESH_BATCHES:
        rollups_refresh_task.delay()
    return result.__dict__


@shared_task(acks_late=True, soft_time_limit=3000, time_limit=3300)
def rollups_rebuild_task() -> dict[str, float]:
    """The nightly full rebuild; catches what no trigger sees (a service's specialty or
    a stage's "significant" flag edited in the catalogue)."""
    return rollups_rebuild().__dict__


@shared_task(acks_late=True, soft_time_limit=1800, time_limit=1900)
def cohorts_snapshot_task() -> dict[str, float]:
    """The nightly snapshot of the cohort metrics (return, CLV, dormant…)."""
    return cohorts_snapshot()


@shared_task(acks_late=True, soft_time_limit=600, time_limit=660)
def weekly_reason_report_task(week_start: str | None = None) -> dict[str, object]:
    """Monday morning (clinic time): builds last week's pattern report of complaint
    reasons (or the week of ``week_start``, an ISO date of its Monday) and emails it to
    the managers. Run twice, it builds the week again and emails nobody again."""
    week = date.fromisoformat(week_start) if week_start else last_week_start()
    report = weekly_report_build(week)
    return {"week_start": week.isoformat(), "emailed": weekly_report_send(report)}
