"""Writing the outbox. Planning (``message_plan``) runs inside the caller's transaction, so
a booking and its reminders commit or roll back together; a message due now asks for a
dispatch once that transaction commits (``dispatch_soon``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
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


def dispatch_soon() -> None:
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
    facts: Callable[[], Mapping[str, Any]] | None = None,
    context: dict[str, Any] | None = None,
    on_created: Callable[[Message], None] | None = None,
    suppressed: str = "",
) -> Message:
    """Writes one message into the outbox, once per ``key``: planning the same thing
    again returns the row already there. A patient who can't be reached gets the row
    too, suppressed with the reason, so staff see why nothing went out.

    ``facts()`` gives the template variables of what the message is about, from the layer
    that plans it (not stored: its registered facts provider gives them again when the
    message is re-rendered); ``context`` is extra data no row holds, stored with it.
    ``on_created(message)`` runs, in the same transaction, only for a new row (the layer
    that plans it notes what it is about). Neither runs when the key is planned already.
    ``suppressed`` (a SuppressReason) writes the row suppressed with that reason: the
    layer that plans it knows why it must not go out, and staff see it on the outbox."""
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
        context=context or {},
    )
    if message.channel not in MessageChannel.values:
        message.channel = MessageChannel.SMS
    reason = suppressed
    if not reason and patient_inactive(patient):
        reason = SuppressReason.PATIENT_INACTIVE
    elif not reason and not channels:
        reason = SuppressReason.NO_CONTACT
    message.subject, message.body = message_text(
        message, channel=message.channel, facts=facts() if facts is not None else {}
    )
    if reason:
        message.status = Message.Status.SUPPRESSED
        message.suppressed_reason = reason
        message.closed_at = timezone.now()
    message.save()
    if on_created is not None:
        on_created(message)
    if not reason and scheduled_for <= timezone.now():
        dispatch_soon()
    return message


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
        dispatch_soon()
    message.refresh_from_db()
    return message
