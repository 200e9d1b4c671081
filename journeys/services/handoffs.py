"""Handoffs between doctors: a referral that stays open on the routing queue until it is
booked, or is marked lost with a reason."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic_crm.catalogue.models import Specialty
from clinic_crm.staff.roles import Role
from journeys.errors import JourneyError
from journeys.models import Handoff, TreatmentPlan, Visit

from .events import after_journey_change, journey_event_record

if TYPE_CHECKING:
    from clinic_crm.staff.models import User
    from patients.models import Patient
from .plans import Kind


@transaction.atomic
def handoff_create(
    *,
    actor: User,
    patient: Patient,
    from_doctor: User,
    to_specialty: Specialty,
    reason: str,
    due_date: date,
    to_doctor: User | None = None,
    plan: TreatmentPlan | None = None,
    from_visit: Visit | None = None,
) -> Handoff:
    """Sends the patient on to a specialist. Until it is booked the plan's curator owns it."""
    reason = (reason or "").strip()
    if not reason:
        raise JourneyError(_("Say why the patient should see the specialist."))
    if due_date < timezone.localdate():
        raise JourneyError(_("The “book by” date is in the past."))
    if plan is not None and plan.patient_id != patient.pk:
        raise JourneyError(_("That plan belongs to another patient."))
    if to_doctor is not None and not to_doctor.has_role(Role.DOCTOR):
        raise JourneyError(_("%(name)s is not a doctor.") % {"name": to_doctor})
    handoff = Handoff.objects.create(
        patient=patient,
        plan=plan,
        branch_id=(
            plan.branch_id
            if plan is not None
            else from_visit.branch_id
            if from_visit is not None
            else patient.home_branch_id
        ),
        from_visit=from_visit,
        from_doctor=from_doctor,
        to_specialty=to_specialty,
        to_doctor=to_doctor,
        reason=reason,
        due_date=due_date,
        curator=plan.curator if plan is not None else None,
    )
    journey_event_record(
        patient_id=patient.pk,
        kind=Kind.HANDOFF_CREATED,
        actor=actor,
        plan=plan,
        handoff=handoff,
        visit=from_visit,
        summary=reason,
        data={"to_specialty": to_specialty.name, "due_date": due_date.isoformat()},
    )
    after_journey_change(patient_id=patient.pk)
    return handoff


@transaction.atomic
def handoff_mark_lost(*, actor: User, handoff: Handoff, reason: str) -> Handoff:
    handoff = Handoff.objects.select_for_update().get(pk=handoff.pk)
    reason = (reason or "").strip()
    if not reason:
        raise JourneyError(_("Say why the handoff is lost."))
    if handoff.state != Handoff.State.OPEN:
        raise JourneyError(_("Only an open handoff can be marked lost."))
    handoff.state = Handoff.State.LOST
    handoff.closed_at = timezone.now()
    handoff.save(update_fields=["state", "closed_at"])
    journey_event_record(
        patient_id=handoff.patient_id,
        kind=Kind.HANDOFF_UPDATED,
        actor=actor,
        plan=handoff.plan,
        handoff=handoff,
        summary=reason,
        data={"state": handoff.state},
    )
    after_journey_change(patient_id=handoff.patient_id)
    return handoff
