"""The closed loop after a negative answer.

- The recovery call is a task due 24 hours after the answer (``services``); the curator's
  worklist shows the scores and the comment on it (``recovery_task_details``).
- Overdue (past its due time, still open): escalated once to the branch's managers, on
  their home page and by email (``recovery_escalate``, every quarter of an hour). Out of
  SLA when still not closed 48 hours after the answer (``out_of_sla``).
- Closed with a result (reached and solved, reached and not solved, refused, unreachable
  after three attempts; journeys keeps each attempt). A patient who was reached is asked
  again ``resurvey_days`` later, one question, "how do you feel about the clinic now?"
  (``recovery_resurvey_plan``, by journeys' ``task_closed_register``). The answer is kept
  on the negative response (``resurvey_score``), so it never counts in the NPS, and the
  dashboard reads the recovered share from it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta
from typing import cast

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, override

from clinic_crm.messaging.models import MessageKind
from clinic_crm.messaging.rendering import absolute_url
from clinic_crm.staff.models import User
from clinic_crm.staff.roles import Role
from journeys.models import Task, Visit
from journeys.services.messages import journey_message_plan

from .links import new_key, survey_url
from .models import CSI_SCALE_MAX, FeedbackSettings, Response, Survey, SurveyInvitation

logger = logging.getLogger("clinic_crm.feedback")

OUT_OF_SLA_AFTER = timedelta(hours=48)
ESCALATION_BATCH = 500


def out_of_sla(response: Response, task: Task | None, now: datetime) -> bool:
    """A recovery call not closed within 48 hours of the answer."""
    if task is None:
        return False
    closed = task.closed_at if task.state not in Task.OPEN_STATES else None
    return (closed or now) > response.submitted_at + OUT_OF_SLA_AFTER


def recovery_task_details(response: Response, scores: dict[str, int]) -> str:
    """What the curator sees on the task: the score, the aspects rated and the comment."""
    parts = []
    if response.nps_score is not None:
        parts.append(_("would recommend: %(score)s of 10") % {"score": response.nps_score})
    parts += [f"{name}: {value}/{CSI_SCALE_MAX}" for name, value in scores.items()]
    text = " · ".join(parts)
    if response.comment:
        text += f" — «{response.comment}»"
    return text


# --- Re-survey after a call that reached the patient ------------------------------------


@transaction.atomic(savepoint=False)  # part of the task's closing
def recovery_resurvey_plan(task: Task) -> list[SurveyInvitation]:
    """Plans "how do you feel about the clinic now?" for each negative response the closed
    task answered, when the call reached the patient."""
    if task.kind != Task.Kind.NEGATIVE_FEEDBACK or task.result not in Task.REACHED:
        return []
    config = FeedbackSettings.current()
    survey = Survey.objects.filter(kind=Survey.Kind.RECOVERY, is_active=True).first()
    if not config.surveys or survey is None:
        return []
    planned = []
    responses = Response.objects.filter(recovery_task=task, visit__isnull=False).select_related(
        "visit__patient"
    )
    for response in responses:
        if SurveyInvitation.objects.filter(recovers=response).exists():
            continue
        visit = cast(Visit, response.visit)  # visit__isnull=False above
        send_at = (task.closed_at or timezone.now()) + timedelta(days=config.resurvey_days)
        invitation = SurveyInvitation.objects.create(
            patient_id=response.patient_id,
            visit=visit,
            survey=survey,
            recovers=response,
            key=new_key(),
            stale_at=send_at + timedelta(hours=config.stale_hours),
            expires_at=send_at + timedelta(days=config.link_days),
        )
        invitation.message = journey_message_plan(
            patient=visit.patient,
            kind=MessageKind.SURVEY,
            key=f"survey:response:{response.pk}:recovery",
            scheduled_for=send_at,
            visit=visit,
            context={"survey_url": survey_url(invitation.key), "survey_reminder": ""},
        )
        invitation.save(update_fields=["message"])
        planned.append(invitation)
    return planned


# --- Escalation of overdue calls ----------------------------------------------------------


def _overdue() -> Q:
    return Q(
        negative=True,
        escalated_at__isnull=True,
        recovery_task__state__in=Task.OPEN_STATES,
        recovery_task__due_at__lt=timezone.now(),
    )


def recovery_escalate(*, now: datetime | None = None) -> int:
    """Marks each overdue recovery call escalated (once; rows claimed with SKIP LOCKED)
    and emails the managers of its branch how many are waiting. The email names no
    patient: the home page, behind the login, lists them."""
    now = now or timezone.now()
    with transaction.atomic():
        rows = list(
            Response.objects.select_for_update(of=("self",), skip_locked=True)
            .filter(_overdue())
            .values_list("pk", "branch_id")[:ESCALATION_BATCH]
        )
        if not rows:
            return 0
        Response.objects.filter(pk__in=[pk for pk, _branch in rows]).update(escalated_at=now)
        per_branch: dict[int, int] = defaultdict(int)
        for _pk, branch_id in rows:
            per_branch[branch_id] += 1
        transaction.on_commit(lambda: _email_managers(dict(per_branch)))
    return len(rows)


def branch_managers(branch_id: int) -> list[User]:
    """Active managers of the branch, and those who work for every branch or none."""
    return list(
        User.objects.filter(is_active=True, groups__name=Role.MANAGER)
        .filter(
            Q(profile__branch_id=branch_id)
            | Q(profile__branch__isnull=True)
            | Q(profile__all_branches=True)
        )
        .exclude(email="")
        .distinct()
    )


def _email_managers(per_branch: dict[int, int]) -> None:
    home = absolute_url(reverse("staff:home"))
    for branch_id, count in per_branch.items():
        for manager in branch_managers(branch_id):
            with override(settings.LANGUAGE_CODE):
                subject = ngettext(
                    "%(n)s recovery call is overdue",
                    "%(n)s recovery calls are overdue",
                    count,
                ) % {"n": count}
                body = _(
                    "Patients who answered negatively have not been called back within "
                    "24 hours. The list is on your home page: %(url)s"
                ) % {"url": home}
            try:
                send_mail(subject, body, None, [manager.email])
            except Exception:  # the mark stands; the home page lists them anyway
                logger.exception("escalation email to manager %s failed", manager.pk)


def escalations_for_home(branch_id: int | None) -> list[Response]:
    """The escalated calls still open, oldest first, for a manager's home page."""
    rows = Response.objects.filter(
        negative=True,
        escalated_at__isnull=False,
        recovery_task__state__in=Task.OPEN_STATES,
    )
    if branch_id is not None:
        rows = rows.filter(branch_id=branch_id)
    return list(
        rows.select_related("patient", "recovery_task__assignee").order_by("submitted_at")[:20]
    )
