import logging

from celery import shared_task
from celery.signals import worker_ready
from django.core.cache import cache
from django.utils import timezone

from .services.claims import messages_next_takeover
from .services.dispatch import messages_dispatch

logger = logging.getLogger(__name__)

# A run stops taking new batches after this long, well inside the soft time limit, and
# queues the next run itself when work is left: a backlog drains without waiting for beat.
RUN_SECONDS = 45
# One look-again run queued at a time (cache key), however many runs found the same claim.
TAKEOVER_KEY = "messaging:takeover-run"


@shared_task(acks_late=True, soft_time_limit=120, time_limit=150, ignore_result=True)
def messages_dispatch_task() -> dict[str, int]:
    """Sends the due messages (every minute from beat, right after a commit that wrote a
    message due now, and when a worker starts). Safe to run twice at once or to
    redeliver: rows are claimed, not the task.

    A run that leaves claims of other dispatchers behind queues one more run for the
    moment the earliest of them runs out: if that dispatcher was killed, its messages
    are taken over then (within one lease, inside the providers' duplicate windows)
    rather than at beat's next minute. The run itself is the only thing delayed; no
    patient message is ever queued in Celery."""
    stats, more = messages_dispatch(max_seconds=RUN_SECONDS)
    if more:
        messages_dispatch_task.delay()
    else:
        _look_again_at_takeover()
    return stats.__dict__


def _look_again_at_takeover() -> None:
    moment = messages_next_takeover()
    if moment is None:
        return
    countdown = (moment - timezone.now()).total_seconds() + 0.5
    try:
        if cache.add(TAKEOVER_KEY, moment.isoformat(), timeout=max(1, int(countdown))):
            messages_dispatch_task.apply_async(countdown=countdown)
    except Exception:  # Redis is away: beat's next run looks instead
        logger.warning("takeover run not queued; beat will look", exc_info=True)


@worker_ready.connect(dispatch_uid="messaging-dispatch-on-worker-ready")
def _dispatch_when_a_worker_starts(sender: object | None = None, **kwargs: object) -> None:
    """A worker that comes back after a crash looks at once for what it (or another)
    left claimed, instead of waiting for beat: one run per pool process, since the runs
    that a killed worker was making (and that would each have queued the next) are gone,
    and each run claims rows of its own."""
    runs = getattr(getattr(sender, "controller", None), "concurrency", None) or 1
    try:
        for _ in range(runs):
            messages_dispatch_task.delay()
    except Exception:  # the broker is away: beat catches up
        logger.warning("dispatch not queued at worker start", exc_info=True)


@shared_task(acks_late=True, soft_time_limit=900, time_limit=960)
def messaging_rules_run_task() -> dict[str, int]:
    """Plans the day's check-up invitations, reactivations, greetings and materials."""
    from .rules import messaging_rules_run

    return messaging_rules_run()
