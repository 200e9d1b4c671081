"""How the metrics hear of changes they count: the lower layers send
``clinic_crm.signals.counted_change`` and never import metrics (connected in
``MetricsConfig.ready``)."""

from __future__ import annotations

from typing import Any

from clinic_crm.after_commit import queue_after_commit

from .tasks import rollups_refresh_task


def rollups_refresh_after_commit(**_signal: Any) -> None:
    """Refreshes the rollups the triggers queued, right after this transaction commits
    (the change itself queued its doctor-day inside the transaction). The receiver of
    ``counted_change``."""
    queue_after_commit(rollups_refresh_task, "rollup refresh")
