"""What other apps call when they change something the metrics count."""

from __future__ import annotations


def rollups_refresh_after_commit() -> None:
    """Refreshes the rollups the triggers queued, right after this transaction commits
    (the change itself queued its doctor-day inside the transaction)."""
    from clinic_crm.celery import queue_after_commit

    from .tasks import rollups_refresh_task

    queue_after_commit(rollups_refresh_task, "rollup refresh")
