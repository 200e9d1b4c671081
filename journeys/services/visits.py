"""Booking and moving visits (the status steps: ``journeys.services.visit_status``; whether
a time is free: ``journeys.services.availability``).

Rules every write here keeps:

- A visit lies inside one block of the doctor's working hours at that branch, on a day
  without a schedule exception, and not in the past. Hours are wall-clock times in the
  branch's time zone.
- No doctor is double-booked (``availability``).
- Every write appends a journey event and an audit event in the same transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic_crm.audit.models import AuditAction
from clinic_crm.audit.services import audit_record
from clinic_crm.catalogue.models import Branch, Service
from clinic_crm.signals import counted_change
from journeys.errors import JourneyError
from journeys.models import (
    Handoff,
    JourneyEvent,
    Stage,
    TreatmentPlan,
    Visit,
)
from journeys.services.events import after_journey_change, journey_event_record
from journeys.services.messages import visit_messages_sync
from journeys.services.waitlist import slot_offers_taken

if TYPE_CHECKING:
    from clinic_crm.staff.models import User
    from patients.models import Patient
from .availability import (
    slot_check,
    visit_save_refusing_overlap,
)

S = Visit.Status


def _unbookable_reason(patient: Patient) -> str:
    """Why the patient can't be booked, or "". The flags are read with getattr so that
    this module does not depend on the order in which the patient card grows."""
    if getattr(patient, "is_deceased", False):
        return _("%(patient)s is recorded as deceased; visits can't be booked.") % {
            "patient": patient
        }
    if getattr(patient, "is_archived", False):
        return _("%(patient)s is archived; restore the record before booking.") % {
            "patient": patient
        }
    return ""


def booking_refusal(patient: Patient) -> str:
    """Why ``patient`` can't be booked, or "": what pages say before offering a booking
    (visit_book refuses with the same words)."""
    return _unbookable_reason(patient)


def actor_or_none(actor: User | None) -> User | None:
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


def _plan_of(stage: Stage | None, handoff: Handoff | None) -> TreatmentPlan | None:
    if stage is not None:
        return stage.option.plan
    if handoff is not None:
        return handoff.plan
    return None


def visit_changed(visit: Visit) -> None:
    """Called inside the transaction of every booking, move and status change: the
    visit's reminders are planned, re-planned or suppressed in this same transaction, and
    the worklist rules for the patient run again once it commits (a booked visit closes a
    "stalled journey" task)."""
    visit_messages_sync(visit=visit)
    after_journey_change(patient_id=visit.patient_id)
    counted_change.send(sender=Visit, patient_id=visit.patient_id)


def _visit_data(visit: Visit) -> dict[str, str | int]:
    """What the timeline needs to show a visit; times at the branch, with their offset."""
    zone = visit.branch.zone
    return {
        "starts_at": timezone.localtime(visit.starts_at, zone).isoformat(),
        "ends_at": timezone.localtime(visit.ends_at, zone).isoformat(),
        "doctor_id": visit.doctor_id,
        "branch_id": visit.branch_id,
        "service_id": visit.service_id,
    }


def _summary(visit: Visit) -> str:
    local = timezone.localtime(visit.starts_at, visit.branch.zone)
    return f"{visit.service} · {visit.doctor} · {visit.branch} · {local:%d.%m.%Y %H:%M}"


# --- booking ----------------------------------------------------------------------------


def _validate_stage(stage: Stage, patient: Patient) -> Stage:
    stage = (
        Stage.objects.select_for_update(of=("self",))
        .select_related("option__plan")
        .get(pk=stage.pk)
    )
    plan = stage.option.plan
    if plan.patient_id != patient.pk:
        raise JourneyError(
            _("Stage “%(stage)s” belongs to another patient's plan.") % {"stage": stage}
        )
    if plan.chosen_option_id != stage.option_id:
        raise JourneyError(
            _("Stage “%(stage)s” is not part of the option the patient chose.") % {"stage": stage}
        )
    if plan.status not in TreatmentPlan.OPEN_STATUSES:
        raise JourneyError(
            _("The plan “%(plan)s” is %(status)s; its stages can't be booked.")
            % {"plan": plan, "status": plan.get_status_display().lower()}
        )
    if stage.status in (Stage.Status.DONE, Stage.Status.SKIPPED):
        raise JourneyError(
            _("Stage “%(stage)s” is already %(status)s.")
            % {"stage": stage, "status": stage.get_status_display().lower()}
        )
    return stage


def _validate_handoff(handoff: Handoff, patient: Patient) -> Handoff:
    handoff = (
        Handoff.objects.select_for_update(of=("self",)).select_related("plan").get(pk=handoff.pk)
    )
    if handoff.patient_id != patient.pk:
        raise JourneyError(_("This handoff belongs to another patient."))
    if handoff.state != Handoff.State.OPEN:
        raise JourneyError(
            _("This handoff is already %(state)s.") % {"state": handoff.get_state_display().lower()}
        )
    return handoff


@transaction.atomic
def visit_book(
    *,
    actor: User | None,
    patient: Patient,
    doctor: User,
    branch: Branch,
    service: Service,
    starts_at: datetime,
    stage: Stage | None = None,
    handoff: Handoff | None = None,
) -> Visit:
    """Books ``patient`` with ``doctor`` at ``branch`` for ``service`` from ``starts_at``.

    The visit lasts the service's duration. Refused, with a message for the user and
    nothing saved, when the time is past, outside the doctor's hours, on a day off, or
    overlaps another visit of the doctor or the patient. A stage of the patient's chosen
    option becomes "booked"; an open handoff becomes "booked".
    """
    reason = _unbookable_reason(patient)
    if reason:
        raise JourneyError(reason)
    if not service.is_active:
        raise JourneyError(
            _("The service “%(service)s” is no longer offered.") % {"service": service}
        )
    ends_at = starts_at + timedelta(minutes=service.duration_minutes)
    slot_check(doctor=doctor, branch=branch, patient=patient, starts_at=starts_at, ends_at=ends_at)
    if stage is not None:
        stage = _validate_stage(stage, patient)
    if handoff is not None:
        handoff = _validate_handoff(handoff, patient)

    visit = Visit(
        patient=patient,
        doctor=doctor,
        branch=branch,
        service=service,
        stage=stage,
        handoff=handoff,
        starts_at=starts_at,
        ends_at=ends_at,
        status=S.SCHEDULED,
        booked_by=actor_or_none(actor),
    )
    visit_save_refusing_overlap(visit, save=visit.save)
    slot_offers_taken(visit=visit)

    if stage is not None and stage.status == Stage.Status.PLANNED:
        stage.status = Stage.Status.BOOKED
        stage.save(update_fields=["status"])
    if handoff is not None:
        handoff.state = Handoff.State.BOOKED
        handoff.save(update_fields=["state"])

    journey_event_record(
        patient_id=patient.pk,
        kind=JourneyEvent.Kind.VISIT_BOOKED,
        actor=actor,
        plan=_plan_of(stage, handoff),
        visit=visit,
        stage=stage,
        handoff=handoff,
        summary=_summary(visit),
        data=_visit_data(visit),
    )
    audit_record(
        action=AuditAction.CREATE,
        actor=actor_or_none(actor),
        obj=visit,
        details=_visit_data(visit),
    )
    visit_changed(visit)
    return visit


def _locked(visit: Visit) -> Visit:
    return (
        Visit.objects.select_for_update(of=("self",))
        .select_related("branch", "doctor", "patient", "service")
        .get(pk=visit.pk)
    )


@transaction.atomic
def visit_move(
    *, actor: User | None, visit: Visit, starts_at: datetime, doctor: User | None = None
) -> Visit:
    """Moves an upcoming visit to ``starts_at`` (and to ``doctor``, when given), with the
    same checks as booking. A confirmed visit goes back to "scheduled": the patient
    confirmed the old time, not the new one."""
    current = _locked(visit)
    if current.status not in Visit.UPCOMING:
        raise JourneyError(
            _("Only scheduled or confirmed visits can be moved; this one is %(status)s.")
            % {"status": current.get_status_display().lower()}
        )
    doctor = doctor or current.doctor
    ends_at = starts_at + timedelta(minutes=current.service.duration_minutes)
    if doctor.pk == current.doctor_id and starts_at == current.starts_at:
        raise JourneyError(_("The visit is already at that time with that doctor."))
    slot_check(
        doctor=doctor,
        branch=current.branch,
        patient=current.patient,
        starts_at=starts_at,
        ends_at=ends_at,
        exclude_id=current.pk,
    )

    old = _visit_data(current)
    current.doctor = doctor
    current.starts_at = starts_at
    current.ends_at = ends_at
    current.status = S.SCHEDULED
    visit_save_refusing_overlap(
        current,
        save=lambda: current.save(
            update_fields=["doctor", "starts_at", "ends_at", "status", "updated_at"]
        ),
    )
    slot_offers_taken(visit=current)
    new = _visit_data(current)
    journey_event_record(
        patient_id=current.patient_id,
        kind=JourneyEvent.Kind.VISIT_MOVED,
        actor=actor,
        visit=current,
        stage=current.stage,
        handoff=current.handoff,
        summary=_summary(current),
        data={"old": old, "new": new},
    )
    audit_record(
        action=AuditAction.UPDATE,
        actor=actor_or_none(actor),
        obj=current,
        details={"moved": {"old": old, "new": new}},
    )
    visit_changed(current)
    _copy_into(visit, current)
    return visit


def _copy_into(target: Visit, source: Visit) -> None:
    """Keeps the caller's instance in step with the row."""
    target.doctor = source.doctor
    for field in ("starts_at", "ends_at", "status", "updated_at"):
        setattr(target, field, getattr(source, field))
