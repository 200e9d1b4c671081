"""Planning a large audience of “you said, we did” messages in the background."""

from celery import shared_task

# A module import: feedback.improvements queues this task and imports this module too.
from . import improvements

# A run stops taking new batches after this long, well inside the soft time limit, and
# queues the next run itself when patients are left.
RUN_SECONDS = 180


@shared_task(acks_late=True, soft_time_limit=240, time_limit=300, ignore_result=True)
def improvement_messages_plan_task(*, improvement_id: int) -> None:
    """Plans the messages of an announced improvement not planned yet. Safe to run twice
    or to redeliver: each patient's message has its idempotency key, and patients who
    have theirs are skipped. Returns quietly when the improvement is gone."""
    more = improvements.improvement_messages_plan(
        improvement_id=improvement_id, max_seconds=RUN_SECONDS
    )
    if more:
        improvement_messages_plan_task.delay(improvement_id=improvement_id)
