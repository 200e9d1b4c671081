from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, cast

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Field, Model, QuerySet
from django.utils import timezone
from django.utils.translation import ngettext

from .describers import describe_records
from .models import AuditEvent

PATIENT = "patients.Patient"


def audit_events(
    *,
    actor_id: int | None = None,
    action: str = "",
    object_type: str = "",
    patient_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.select_related("actor").order_by("-at", "-id")
    if actor_id:
        events = events.filter(actor_id=actor_id)
    if action:
        events = events.filter(action=action)
    if object_type:
        events = events.filter(object_type=object_type)
    if patient_id:
        events = events.filter(patient_id=patient_id)
    tz = timezone.get_current_timezone()
    if date_from:
        events = events.filter(at__gte=datetime.combine(date_from, time.min, tzinfo=tz))
    if date_to:
        events = events.filter(at__lte=datetime.combine(date_to, time.max, tzinfo=tz))
    return events


@dataclass
class Change:
    field: str
    before: str
    after: str


@dataclass
class AuditRow:
    """One event as the log page shows it."""

    event: AuditEvent
    record: str = ""  # what a person recognises, or the label and id
    patient: str = ""
    changes: list[Change] = field(default_factory=list)


def _field(label: str, name: str) -> Field[Any, Any] | None:
    try:
        # The names in the details are tracked fields (tracking.py reads their
        # ``attname``), so concrete fields, never reverse relations.
        return cast("Field[Any, Any]", apps.get_model(label)._meta.get_field(name))
    except (LookupError, ValueError, FieldDoesNotExist):
        return None


def _related_label(model_field: Field[Any, Any]) -> str:
    # A relation field (``is_relation``) always names the model it points to.
    return cast("type[Model]", model_field.related_model)._meta.label


def _changes_of(event: AuditEvent) -> dict[str, dict[str, Any]]:
    """{field: {"from", "to"}} from the details, as the trackers (``changes``) and the
    visit's status steps (``status``) write them."""
    details = event.details if isinstance(event.details, dict) else {}
    changes = details.get("changes")
    if isinstance(changes, dict):
        return {k: v for k, v in changes.items() if isinstance(v, dict)}
    status = details.get("status")
    if isinstance(status, dict) and "from" in status and "to" in status:
        return {"status": status}
    return {}


def _referenced(event: AuditEvent) -> list[tuple[str, str]]:
    """Records named by the foreign keys a change moved (a task's assignee…)."""
    refs = []
    for name, change in _changes_of(event).items():
        model_field = _field(event.object_type, name)
        if model_field is not None and model_field.is_relation:
            label = _related_label(model_field)
            refs += [(label, str(v)) for v in (change.get("from"), change.get("to")) if v]
    return refs


def _value_text(
    model_field: Field[Any, Any] | None,
    value: Any,
    names: dict[tuple[str, str], str],
) -> str:
    if value in (None, ""):
        return "—"
    if model_field is None:
        return str(value)
    if model_field.is_relation:
        label = _related_label(model_field)
        return names.get((label, str(value)), f"#{value}")
    choices = dict(model_field.flatchoices or ())
    return str(choices.get(value, value))


def audit_rows(events: list[AuditEvent]) -> list[AuditRow]:
    """The events of a page, each record named by its app's describer: one query per
    kind of record on the page, whatever the number of events."""
    wanted: list[tuple[str, str]] = []
    for event in events:
        wanted.append((event.object_type, event.object_id))
        if event.patient_id:
            wanted.append((PATIENT, str(event.patient_id)))
        wanted += _referenced(event)
    names = describe_records(wanted)
    rows = []
    for event in events:
        row = AuditRow(event=event)
        if event.object_type:
            row.record = names.get(
                (event.object_type, event.object_id),
                f"{event.object_type} #{event.object_id}",
            )
        elif isinstance(event.details, dict) and event.details.get("patient_ids") is not None:
            count = len(event.details["patient_ids"])
            row.record = ngettext(
                "A list of %(count)d patient", "A list of %(count)d patients", count
            ) % {"count": count}
        if event.patient_id:
            row.patient = names.get((PATIENT, str(event.patient_id)), f"#{event.patient_id}")
        for name, change in _changes_of(event).items():
            model_field = _field(event.object_type, name)
            row.changes.append(
                Change(
                    field=str(model_field.verbose_name) if model_field is not None else name,
                    before=_value_text(model_field, change.get("from"), names),
                    after=_value_text(model_field, change.get("to"), names),
                )
            )
        rows.append(row)
    return rows
