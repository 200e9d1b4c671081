from celery import shared_task

from .services import messages_dispatch

# A run stops taking new batches after this long, well inside the soft time limit, and
# queues the next run itself when work is left: a backlog drains without waiting for beat.
RUN_SECONDS = 45


@shared_task(acks_late=True, soft_time_limit=120, time_limit=150, ignore_result=True)
def messages_dispatch_task() -> dict[str, int]:
    """Sends the due messages (every minute from beat, and right after a commit that
    wrote a message due now). Safe to run twice at once or to redeliver: rows are claimed,
    not the task."""
    stats, more = messages_dispatch(max_seconds=RUN_SECONDS)
    if more:
        messages_dispatch_task.delay()
    return stats.__dict__


@shared_task(acks_late=True, soft_time_limit=900, time_limit=960)
def messaging_rules_run_task() -> dict[str, int]:
    """Plans the day's check-up invitations, reactivations, greetings and materials."""
    from .rules import messaging_rules_run

    return messaging_rules_run()
