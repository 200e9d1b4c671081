"""Claiming due messages for one dispatcher: ``FOR UPDATE SKIP LOCKED`` under a claim token
and a lease that a live dispatcher renews, so two never take the same row and a killed
one's rows are taken over once its lease runs out."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from ..models import (
    Message,
)

CLAIM_SQL = """
UPDATE messaging_message m
SET status = 'sending', claim = %(claim)s, lease_until = %(now)s + %(lease)s * interval '1 second',
    attempts = m.attempts + 1
FROM (
    SELECT id, status AS was FROM messaging_message
    WHERE (status = 'pending' AND due_at <= %(now)s)
       OR (status = 'sending' AND lease_until < %(now)s)
    ORDER BY due_at, id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
) due
WHERE m.id = due.id
RETURNING m.id
"""


RENEW_SQL = """
UPDATE messaging_message SET lease_until = %(now)s + %(lease)s * interval '1 second'
WHERE claim = %(claim)s AND status = 'sending'
"""


def _lease(claim: uuid.UUID, now: datetime | None) -> dict[str, uuid.UUID | datetime | int]:
    """The parameters of a statement that (re)leases rows to ``claim``."""
    return {
        "claim": claim,
        "now": now or timezone.now(),
        "lease": settings.MESSAGING_SEND_LEASE_SECONDS,
    }


def messages_lease_renew(*, claim: uuid.UUID, now: datetime | None = None) -> int:
    """Extends this dispatcher's claim while it is still working the batch, so that a
    short lease (taken over soon after a worker dies) never runs out under a live one."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(RENEW_SQL, _lease(claim, now))
        renewed: int = cursor.rowcount
        return renewed


def messages_claim(*, limit: int, now: datetime | None = None) -> tuple[uuid.UUID, list[int]]:
    """Claims up to ``limit`` due messages for this dispatcher, in one statement that
    commits at once: rows still pending, and rows whose earlier claim ran out (the worker
    died). Returns the claim and the ids."""
    claim = uuid.uuid4()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(CLAIM_SQL, {**_lease(claim, now), "limit": limit})
        return claim, [row[0] for row in cursor.fetchall()]


def messages_next_takeover(now: datetime | None = None) -> datetime | None:
    """When the earliest claim held by another dispatcher runs out, if it does within one
    lease: the moment to look again, in case that dispatcher died (a live one renews its
    claim, and the look finds nothing to take)."""
    now = now or timezone.now()
    horizon = now + timedelta(seconds=settings.MESSAGING_SEND_LEASE_SECONDS)
    earliest = (
        Message.objects.filter(status=Message.Status.SENDING, lease_until__lte=horizon)
        .order_by("lease_until")
        .values_list("lease_until", flat=True)
        .first()
    )
    return max(earliest, now) if earliest is not None else None
