"""Writing the outbox. Planning (``message_plan``, ``visit_messages_suppress``) runs inside
the caller's transaction, so a booking and its reminders commit or roll back together;
a message due now asks for a dispatch once that transaction commits."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from clinic_crm.after_commit import queue_after_commit
from patients.models import Patient

from .. import tasks
from ..models import (
    Message,
    MessageChannel,
    SuppressReason,
)
from .compose import message_text
from .reach import channels_for, patient_inactive

if TYPE_CHECKING:
    from clinic_crm.staff.models import User
    from journeys.models import Stage, TreatmentPlan, Visit


def _kick_dispatcher_after_commit() -> None:
    """Asks for a dispatch once the transaction commits. Only a shortcut: when the broker
    is away the message waits for beat's next minute, and the change that wrote it stands."""
    queue_after_commit(tasks.messages_dispatch_task, "immediate dispatch")


@transaction.atomic(savepoint=False)  # part of the caller's transaction: no savepoint
def message_plan(
    *,
    patient: Patient,
    kind: str,
    key: str,
    scheduled_for: datetime,
    visit: Visit | None = None,
    plan: TreatmentPlan | None = None,
    stage: Stage | None = None,
    context: dict[str, Any] | None = None,
) -> Message:
    """Writes one message into the outbox, once per ``key``: planning the same thing
    again returns the row already there. A patient who can't be reached gets the row
    too, suppressed with the reason, so staff see why nothing went out."""
    existing = Message.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing
    channels = channels_for(patient)
    message = Message(
        patient=patient,
        kind=kind,
        channel=channels[0] if channels else (patient.preferred_channel or MessageChannel.SMS),
        language=patient.preferred_language or "ru",
        scheduled_for=scheduled_for,
        due_at=scheduled_for,
        idempotency_key=key,
        visit=visit,
        plan=plan,
        stage=stage,
        context=context or {},
    )
    if message.channel not in MessageChannel.values:
        message.channel = MessageChannel.SMS
    reason = ""
    if patient_inactive(patient):
        reason = SuppressReason.PATIENT_INACTIVE
    elif not channels:
        reason = SuppressReason.NO_CONTACT
    message.subject, message.body = message_text(message, channel=message.channel)
    if reason:
        message.status = Message.Status.SUPPRESSED
        message.suppressed_reason = reason
        message.closed_at = timezone.now()
    message.save()
    if not reason and scheduled_for <= timezone.now():
        _kick_dispatcher_after_commit()
    return message


def visit_messages_suppress(*, visit: Visit, reason: str, keep_keys: Iterable[str] = ()) -> int:
    """Suppresses the visit's messages that have not gone out yet (a moved, cancelled or
    finished visit). Rows already being sent are left to their dispatcher."""
    return (
        Message.objects.filter(visit=visit, status=Message.Status.PENDING)
        .exclude(idempotency_key__in=list(keep_keys))
        .update(
            status=Message.Status.SUPPRESSED, suppressed_reason=reason, closed_at=timezone.now()
        )
    )


def visit_messages_unsuppress(*, visit: Visit, reason: str, since: datetime) -> int:
    """Puts back the visit's messages suppressed for ``reason`` from ``since`` on: the
    change that stopped them was undone (an arrival marked by mistake). They wait for the
    dispatcher again, whose guards still judge them (a reminder too late is not sent)."""
    restored = Message.objects.filter(
        visit=visit,
        status=Message.Status.SUPPRESSED,
        suppressed_reason=reason,
        closed_at__gte=since,
    ).update(status=Message.Status.PENDING, suppressed_reason="", closed_at=None)
    if restored:
        _kick_dispatcher_after_commit()
    return restored


@transaction.atomic
def message_retry(*, message: Message, actor: User) -> Message:
    """Puts a failed message back in the queue (staff's "retry")."""
    updated = Message.objects.filter(pk=message.pk, status=Message.Status.FAILED).update(
        status=Message.Status.PENDING,
        due_at=timezone.now(),
        attempts=0,
        closed_at=None,
    )
    if updated:
        _kick_dispatcher_after_commit()
    message.refresh_from_db()
    return message
