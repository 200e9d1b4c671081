"""Writing the audit log. Every read of a patient record, every change, every export and
every login outcome goes through :func:`audit_record`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.http import HttpRequest

from .context import current_context
from .models import AuditAction, AuditEvent, AuditSource

if TYPE_CHECKING:
    from clinic_crm.staff.models import User


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, or the address the trusted proxies saw."""
    proxies: int = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded_for: str = request.META.get("HTTP_X_FORWARDED_FOR", "")
        forwarded = [part.strip() for part in forwarded_for.split(",") if part.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    remote_addr: str | None = request.META.get("REMOTE_ADDR")
    return remote_addr or None


def audit_event_build(
    *,
    action: AuditAction | str,
    request: HttpRequest | None = None,
    actor: User | None = None,
    actor_email: str = "",
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    patient_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """An unsaved audit event. Without a ``request`` it is the one being served (the
    audit context), so events written by services carry the IP address and user agent
    too; outside a request the event says it came from a background task or the system.
    """
    context = current_context()
    if request is None:
        request = context.request
    source = AuditSource.REQUEST if request is not None else context.source
    if actor is None and request is not None:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            actor = user
    if obj is not None:
        object_type, object_id = obj._meta.label, str(obj.pk)
        if patient_id is None:
            if object_type == "patients.Patient":
                patient_id = obj.pk
            else:
                patient_id = getattr(obj, "patient_id", None)
    return AuditEvent(
        action=action,
        actor=actor,
        actor_email=(actor_email or (actor.email if actor is not None else ""))[:254],
        object_type=object_type,
        object_id=object_id,
        patient_id=patient_id,
        ip_address=client_ip(request) if request is not None else None,
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300] if request is not None else "",
        path=(request.path if request is not None else context.task)[:300],
        source=source,
        details=details or {},
    )


def audit_record(
    *,
    action: AuditAction | str,
    request: HttpRequest | None = None,
    actor: User | None = None,
    actor_email: str = "",
    obj: models.Model | None = None,
    patient_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Appends one audit event. ``obj`` names the record; ``patient_id`` ties it to a
    patient (taken from ``obj`` when it is a patient or has a ``patient_id``)."""
    event = audit_event_build(
        action=action,
        request=request,
        actor=actor,
        actor_email=actor_email,
        obj=obj,
        patient_id=patient_id,
        details=details,
    )
    event.save(force_insert=True)
    return event


def audit_records_create(events: list[AuditEvent]) -> list[AuditEvent]:
    """Appends many events built by :func:`audit_event_build` in one statement."""
    return AuditEvent.objects.bulk_create(events) if events else []


def audit_list_read(
    *, request: HttpRequest, page: str, patient_ids: Iterable[int | None]
) -> AuditEvent:
    """One row for a page or API response that lists patients (a search, a calendar, a
    worklist): who read which patients' data, by their ids."""
    ids = sorted({pk for pk in patient_ids if pk is not None})
    return audit_record(
        action=AuditAction.READ, request=request, details={"page": page, "patient_ids": ids}
    )
