"""“You said, we did”: the public list of what the clinic changed after feedback, and
telling the patients whose complaints an improvement answers.

Who is told: a patient with a negative response, in the twelve months before the
improvement was announced, that gave one of the reasons the improvement answers (in its
branch, when it has one). One message per patient and improvement, whatever the number of
such responses (``we_did:improvement:<id>:patient:<id>``). Whether a message may go out
(the patient archived, deceased or merged, no consent for reminders, opted out of this
kind, quiet hours, the weekly cap) is the outbox's business, judged when it is written
and when it is sent; here they are only planned.

Announcing is idempotent and resumable: the audience is fixed by ``announced_at``, and a
second announcement plans only whom the first one has not (nobody, once it finished). A
large audience is planned by a Celery task, in batches.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import CharField, Exists, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Cast, Concat
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic_crm.after_commit import queue_after_commit
from clinic_crm.audit.models import AuditAction
from clinic_crm.audit.services import audit_record
from clinic_crm.messaging.models import Message, MessageKind, MessagingSettings
from clinic_crm.messaging.rendering import absolute_url
from clinic_crm.messaging.rules import local_moment
from clinic_crm.messaging.services.outbox import message_plan
from patients.models import Patient
from patients.zones import patient_zone

# Module imports both ways (the task plans through this module, which queues the task):
# either may be imported first. Importing this module registers the task with Celery;
# feedback.admin_improvements does so in every process, the worker's too.
from . import tasks_improvements
from .models import Response
from .models_improvements import Improvement

if TYPE_CHECKING:
    from clinic_crm.staff.models import User

# Whose feedback an improvement answers: negative responses this long before it.
AUDIENCE_WINDOW = timedelta(days=365)
# Patients planned within the manager's request; a larger audience goes to the task.
INLINE_MAX = 200
# Patients planned per transaction by the task.
PLAN_BATCH = 500


class ImprovementError(ValidationError):
    """An improvement that can't be announced; the message is shown to the manager."""


@dataclass(frozen=True)
class Announcement:
    """What announcing did: ``waiting`` patients were still to be told, ``planned`` of
    them got their message now, the rest (``queued``) are planned by the task."""

    waiting: int
    planned: int
    queued: bool


# --- Reads ------------------------------------------------------------------------------


def public_improvements(*, branch_id: int | None = None) -> QuerySet[Improvement]:
    """Public improvements, newest first, with their branch and reasons: all of them, or
    a branch's and the whole clinic's."""
    improvements = Improvement.objects.filter(is_public=True)
    if branch_id is not None:
        improvements = improvements.filter(Q(branch_id=branch_id) | Q(branch__isnull=True))
    return (
        improvements.select_related("branch")
        .prefetch_related("reasons")
        .order_by("-changed_on", "-id")
    )


def message_key(*, improvement_id: int, patient_id: int) -> str:
    return f"we_did:improvement:{improvement_id}:patient:{patient_id}"


def _told(improvement: Improvement) -> Exists:
    """The patient has the improvement's message already (any status)."""
    key = Concat(
        Value(f"we_did:improvement:{improvement.pk}:patient:"),
        Cast(OuterRef("pk"), output_field=CharField()),
        output_field=CharField(),
    )
    return Exists(Message.objects.filter(idempotency_key=key))


def improvement_audience(
    improvement: Improvement, *, at: datetime | None = None
) -> QuerySet[Patient]:
    """The patients to tell, by id: a negative response in the year before ``at`` (the
    announcement, else now) giving one of the improvement's reasons, in its branch if it
    has one. One query (the responses are a subquery)."""
    at = at or improvement.announced_at or timezone.now()
    responses = Response.objects.filter(
        negative=True,
        submitted_at__gt=at - AUDIENCE_WINDOW,
        submitted_at__lte=at,
        reasons__improvements=improvement,
    )
    if improvement.branch_id is not None:
        responses = responses.filter(branch_id=improvement.branch_id)
    return Patient.objects.filter(pk__in=responses.values("patient_id")).order_by("pk")


def improvement_patients_waiting(improvement: Improvement) -> int:
    """How many patients announcing would tell now (the admin's confirmation)."""
    return improvement_audience(improvement).exclude(_told(improvement)).count()


def public_page_url(improvement: Improvement, *, language: str) -> str:
    """The public page the improvement is on (its branch's, else the clinic's), in the
    patient's language, at the improvement."""
    if improvement.branch_id is not None:
        path = reverse("improvements:branch", args=[improvement.branch_id])
    else:
        path = reverse("improvements:clinic")
    return absolute_url(f"{path}?lang={language}#improvement-{improvement.pk}")


# --- Writes -----------------------------------------------------------------------------


def _next_send_moment(patient: Patient, now: datetime, config: MessagingSettings) -> datetime:
    """The next time non-urgent messages go out in the patient's zone (today's if still
    ahead, else tomorrow's): news is no reason to write at once."""
    today: date = now.astimezone(patient_zone(patient)).date()
    moment = local_moment(patient, today, config.send_at)
    return (
        moment if moment > now else local_moment(patient, today + timedelta(days=1), config.send_at)
    )


def _plan(improvement: Improvement, patients: Iterable[Patient]) -> int:
    """Plans the message of each of ``patients``; how many rows were new."""
    config = MessagingSettings.current()
    now = timezone.now()
    created: list[Message] = []
    for patient in patients:
        language = patient.preferred_language or "ru"
        message_plan(
            patient=patient,
            kind=MessageKind.WE_DID,
            key=message_key(improvement_id=improvement.pk, patient_id=patient.pk),
            scheduled_for=_next_send_moment(patient, now, config),
            # What the patient is told is what the improvement said when it was announced.
            context={
                "improvement_title": improvement.title_in(language),
                "improvement_url": public_page_url(improvement, language=language),
            },
            on_created=created.append,
        )
    return len(created)


def improvement_messages_plan(*, improvement_id: int, max_seconds: float | None = None) -> bool:
    """Plans the messages of an announced improvement not planned yet, a batch per
    transaction, in order of patient id (the task's work). Stops taking new batches after
    ``max_seconds``; says whether patients are left."""
    started = time.monotonic()
    last_id = 0
    while True:
        with transaction.atomic():
            # Locked: two runs (a redelivery, a second announcement) take turns per batch,
            # each finding who is left after the other's batch.
            improvement = Improvement.objects.select_for_update().filter(pk=improvement_id).first()
            if improvement is None or improvement.announced_at is None:
                return False
            batch = list(
                improvement_audience(improvement)
                .exclude(_told(improvement))
                .filter(pk__gt=last_id)[:PLAN_BATCH]
            )
            if not batch:
                return False
            _plan(improvement, batch)
            last_id = batch[-1].pk
        if max_seconds is not None and time.monotonic() - started >= max_seconds:
            return True


@transaction.atomic
def improvement_announce(*, actor: User, improvement: Improvement) -> Announcement:
    """Tells the patients whose negative feedback the improvement answers (see the
    module's docstring): plans their messages now, or queues the task for a large
    audience, and notes when they were told. Announcing again plans only whom an earlier
    announcement did not reach (nobody, once it has finished)."""
    improvement = Improvement.objects.select_for_update().get(pk=improvement.pk)
    if not improvement.is_public:
        raise ImprovementError(
            _("“%(title)s” is not public: the message links to the public page.")
            % {"title": improvement.title}
        )
    if not improvement.reasons.exists():
        raise ImprovementError(
            _("“%(title)s” answers no reason yet: choose the reasons patients gave.")
            % {"title": improvement.title}
        )
    at = improvement.announced_at or timezone.now()
    waiting = improvement_audience(improvement, at=at).exclude(_told(improvement))
    count = waiting.count()
    if count == 0:
        return Announcement(waiting=0, planned=0, queued=False)
    first = improvement.announced_at is None
    if first:
        improvement.announced_at = at
        improvement.save(update_fields=["announced_at"])
    planned, queued = 0, False
    if count <= INLINE_MAX:
        planned = _plan(improvement, waiting)
    else:
        queue_after_commit(
            tasks_improvements.improvement_messages_plan_task,
            "improvement announcement",
            improvement_id=improvement.pk,
        )
        queued = True
    audit_record(
        action=AuditAction.UPDATE,
        actor=actor,
        obj=improvement,
        details={"announced": True, "first": first, "patients": count},
    )
    return Announcement(waiting=count, planned=planned, queued=queued)
