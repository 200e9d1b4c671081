"""Auditing the state changes of a model, whichever code path writes them.

An app registers a model and the fields whose changes matter (a task's state and
assignee, a handoff's state) with :func:`track_changes` from its ``AppConfig.ready``, and
gives the model the :class:`AuditedQuerySet` manager. Then

- ``instance.save()`` writes an "update" event naming each tracked field that changed,
  from → to (compared with the value the instance was loaded with), and a "create"
  event for a new row;
- ``queryset.update(state=…)`` — the conditional updates the services use so that two
  clicks can't both win — writes one such event per row it changed, in the same
  transaction;

with the user, IP address and user agent of the request being served, or "task" /
"system" outside one (:mod:`clinic_crm.audit.context`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
from django.db.models.expressions import Combinable
from django.db.models.signals import post_init, post_save

from .models import AuditAction
from .services import audit_event_build, audit_records_create

_NOT_LOADED = object()
_LOADED = "_audit_loaded_values"


@dataclass(frozen=True)
class Tracked:
    fields: tuple[str, ...]  # field names, e.g. ("state", "assignee")
    attnames: tuple[str, ...]  # their columns' attributes, e.g. ("state", "assignee_id")
    patient: str  # the attribute holding the patient's id


_tracked: dict[type[models.Model], Tracked] = {}


def track_changes(
    model: type[models.Model], *, fields: tuple[str, ...], patient: str = "patient_id"
) -> None:
    """Audits every change of ``fields`` of ``model`` (see the module's docstring)."""
    attnames = tuple(model._meta.get_field(name).attname for name in fields)
    _tracked[model] = Tracked(fields=fields, attnames=attnames, patient=patient)
    uid = f"audit-track-{model._meta.label}"
    post_init.connect(_remember, sender=model, dispatch_uid=uid)
    post_save.connect(_saved, sender=model, dispatch_uid=uid)


def _change_details(spec: Tracked, before: dict[str, Any], after: dict[str, Any]) -> dict:
    return {
        "changes": {
            name: {"from": before[attname], "to": after[attname]}
            for name, attname in zip(spec.fields, spec.attnames, strict=True)
            if attname in before and attname in after and before[attname] != after[attname]
        }
    }


def _remember(sender, instance, **kwargs) -> None:
    spec = _tracked[sender]
    values = instance.__dict__
    setattr(instance, _LOADED, {a: values.get(a, _NOT_LOADED) for a in spec.attnames})


def _saved(sender, instance, created, raw=False, update_fields=None, **kwargs) -> None:
    if raw:  # loading fixtures
        return
    spec = _tracked[sender]
    now = {a: getattr(instance, a) for a in spec.attnames if a in instance.__dict__}
    event = None
    if created:
        event = audit_event_build(
            action=AuditAction.CREATE,
            obj=instance,
            patient_id=getattr(instance, spec.patient, None),
            details={
                "values": {n: now.get(a) for n, a in zip(spec.fields, spec.attnames, strict=True)}
            },
        )
    else:
        loaded = getattr(instance, _LOADED, {})
        saved = set(update_fields) if update_fields is not None else None
        before = {
            attname: loaded[attname]
            for name, attname in zip(spec.fields, spec.attnames, strict=True)
            if loaded.get(attname, _NOT_LOADED) is not _NOT_LOADED
            and (saved is None or name in saved or attname in saved)
        }
        details = _change_details(spec, before, now)
        if details["changes"]:
            event = audit_event_build(
                action=AuditAction.UPDATE,
                obj=instance,
                patient_id=getattr(instance, spec.patient, None),
                details=details,
            )
    if event is not None:
        audit_records_create([event])
    setattr(instance, _LOADED, {a: now.get(a, _NOT_LOADED) for a in spec.attnames})


class AuditedQuerySet(models.QuerySet):
    """A QuerySet whose ``update()`` audits the tracked fields it changes, row by row."""

    def update(self, **kwargs):
        spec = _tracked.get(self.model)
        touched = (
            [
                (name, attname)
                for name, attname in zip(spec.fields, spec.attnames, strict=True)
                if name in kwargs or attname in kwargs
            ]
            if spec
            else []
        )
        if not touched:
            return super().update(**kwargs)
        columns = [attname for _, attname in touched]
        with transaction.atomic(using=self.db, savepoint=False):
            # Lock the rows first: they keep matching the filter until the update, so
            # the events name exactly the rows it changes, with their old values.
            rows = list(
                self.select_for_update(of=("self",))
                .order_by("pk")
                .values_list("pk", spec.patient, *columns)
            )
            if not rows:
                return 0
            ids = [row[0] for row in rows]
            count = models.QuerySet.update(self.model._base_manager.filter(pk__in=ids), **kwargs)
            new_values = {}
            for name, attname in touched:
                value = kwargs[name] if name in kwargs else kwargs[attname]
                if isinstance(value, models.Model):
                    value = value.pk
                new_values[attname] = value
            if any(isinstance(v, Combinable) for v in new_values.values()):
                after_rows = {
                    row[0]: row[1:]
                    for row in self.model._base_manager.filter(pk__in=ids).values_list(
                        "pk", *columns
                    )
                }
            else:
                after_rows = {pk: tuple(new_values[c] for c in columns) for pk in ids}
            events = []
            for pk, patient_id, *old in rows:
                details = _change_details(
                    spec,
                    dict(zip(columns, old, strict=True)),
                    dict(zip(columns, after_rows[pk], strict=True)),
                )
                if details["changes"]:
                    events.append(
                        audit_event_build(
                            action=AuditAction.UPDATE,
                            object_type=self.model._meta.label,
                            object_id=str(pk),
                            patient_id=patient_id,
                            details=details,
                        )
                    )
            audit_records_create(events)
        return count
