"""Work queued for after the current transaction commits (core layer: any app may use it)."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

logger = logging.getLogger("clinic_crm.celery")


def queue_after_commit(task: Any, what: str, **kwargs: Any) -> None:
    """Queues the Celery ``task`` once the current transaction commits. Only a shortcut:
    when the broker is away it is logged and beat's next run does the work; the change
    stands."""

    def enqueue() -> None:
        try:
            task.delay(**kwargs)
        except Exception:  # broker down
            logger.warning("%s not queued; beat will catch up", what, exc_info=True)

    transaction.on_commit(enqueue)
