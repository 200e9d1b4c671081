from celery import shared_task

from clinic_crm.messaging.services.outbox import dispatch_soon

from .invitations import survey_reminders_plan
from .recovery import recovery_escalate


@shared_task(acks_late=True, soft_time_limit=240, time_limit=300)
def survey_reminders_plan_task() -> int:
    """Plans the one reminder of invitations left unanswered (beat, every 15 minutes)."""
    planned = survey_reminders_plan()
    if planned:
        dispatch_soon()
    return planned


@shared_task(acks_late=True, soft_time_limit=240, time_limit=300)
def recovery_escalate_task() -> int:
    """Escalates recovery calls past their due time to the branch's managers (beat)."""
    return recovery_escalate()
