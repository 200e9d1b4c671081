"""Offering a freed slot: first to patients whose plan stage of that specialty is overdue,
then to those whose stage is due, then to the waitlist."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic_crm.catalogue.models import Specialty
from journeys.errors import JourneyError
from journeys.models import Stage, Task, TreatmentPlan, Visit, WaitlistEntry
from journeys.texts import task_title_fields
from journeys.texts_builtin import TaskText, moment

# An offer's cause names the cancelled visit whose slot it offers: "slot:<visit id>".
SLOT_CAUSE = "slot:"


@dataclass(frozen=True)
class SlotCandidate:
    reason: str  # "overdue_stage", "due_stage", "waitlist"
    patient_id: int
    patient_name: str
    stage_id: int | None = None
    stage_title: str = ""
    due: date | None = None
    waitlist_entry_id: int | None = None


def slot_candidates(
    *,
    branch_id: int,
    specialty: Specialty,
    starts_at: datetime,
    ends_at: datetime,
    doctor_id: int | None = None,
    limit: int = 10,
) -> list[SlotCandidate]:
    """Who should get this slot, in order. Two queries; patients already busy at that
    time, or already booked for the stage, are left out."""
    busy = Visit.objects.filter(
        patient_id=OuterRef("option__plan__patient_id"),
        starts_at__lt=ends_at,
        ends_at__gt=starts_at,
    ).exclude(status__in=Visit.CANCELLED)
    stage_booked = Visit.objects.filter(stage_id=OuterRef("pk"), status__in=Visit.UPCOMING)
    slot_day = timezone.localtime(starts_at).date()
    stages = (
        Stage.objects.filter(
            specialty=specialty,
            status=Stage.Status.PLANNED,
            window_start__lte=slot_day,
            option__plan__status__in=TreatmentPlan.ACTIVE_STATUSES,
            option__plan__branch_id=branch_id,
        )
        .exclude(option__plan__chosen_option_id__isnull=True)
        .annotate(busy=Exists(busy), booked=Exists(stage_booked))
        .filter(busy=False, booked=False)
        .select_related("option__plan__patient")
        .order_by("window_end", "id")[:limit]
    )
    today = timezone.localdate()
    candidates: list[SlotCandidate] = []
    seen: set[int] = set()
    for stage in stages:
        if stage.option.plan.chosen_option_id != stage.option_id:
            continue
        patient = stage.option.plan.patient
        if patient.pk in seen:
            continue
        seen.add(patient.pk)
        overdue = stage.window_end is not None and stage.window_end < today
        candidates.append(
            SlotCandidate(
                reason="overdue_stage" if overdue else "due_stage",
                patient_id=patient.pk,
                patient_name=patient.full_name,
                stage_id=stage.pk,
                stage_title=stage.title,
                due=stage.window_end,
            )
        )
    waiting = (
        WaitlistEntry.objects.filter(
            state=WaitlistEntry.State.WAITING, specialty=specialty, branch_id=branch_id
        )
        .exclude(patient_id__in=seen)
        .select_related("patient")
        .order_by("created_at")
    )
    if doctor_id is not None:
        waiting = waiting.filter(Q(doctor__isnull=True) | Q(doctor_id=doctor_id))
    for entry in waiting[:limit]:
        if entry.patient_id in seen:
            continue
        seen.add(entry.patient_id)
        candidates.append(
            SlotCandidate(
                reason="waitlist",
                patient_id=entry.patient_id,
                patient_name=entry.patient.full_name,
                waitlist_entry_id=entry.pk,
            )
        )
    return candidates[:limit]


@transaction.atomic
def freed_slot_offer(*, visit: Visit) -> Task | None:
    """After a cancellation, opens one task to offer the slot to the best candidate (the
    task lists the next ones). Nothing when the slot is already past or nobody fits."""
    if visit.status not in Visit.CANCELLED:
        raise JourneyError(_("Only a cancelled visit frees a slot."))
    if visit.starts_at <= timezone.now():
        return None
    specialty = visit.service.specialty
    candidates = slot_candidates(
        branch_id=visit.branch_id,
        specialty=specialty,
        starts_at=visit.starts_at,
        ends_at=visit.ends_at,
        doctor_id=visit.doctor_id,
    )
    candidates = [c for c in candidates if c.patient_id != visit.patient_id]
    if not candidates:
        return None
    first = candidates[0]
    task = Task(
        kind=Task.Kind.SLOT_OFFER,
        patient_id=first.patient_id,
        branch_id=visit.branch_id,
        cause_key=f"{SLOT_CAUSE}{visit.pk}",
        due_at=min(visit.starts_at, timezone.now() + timedelta(hours=2)),
        **task_title_fields(
            TaskText.SLOT_OFFER, {"when": moment(visit.starts_at), "doctor": str(visit.doctor)}
        ),
        details="\n".join(
            f"{n}. {c.patient_name}" + (f" — {c.stage_title}" if c.stage_title else "")
            for n, c in enumerate(candidates, start=1)
        ),
        risk=100 if first.reason == "overdue_stage" else 50,
    )
    Task.objects.bulk_create([task], ignore_conflicts=True)
    return Task.objects.filter(cause_key=task.cause_key, state__in=Task.OPEN_STATES).first()


@transaction.atomic
def slot_offers_taken(*, visit: Visit) -> int:
    """``visit`` now takes a slot: the open offers of freed slots it overlaps (the same
    doctor, overlapping time) are done, whoever booked it — from the offer or not."""
    freed = Visit.objects.filter(
        doctor_id=visit.doctor_id,
        status__in=Visit.CANCELLED,
        starts_at__lt=visit.ends_at,
        ends_at__gt=visit.starts_at,
    ).values_list("pk", flat=True)
    causes = [f"{SLOT_CAUSE}{pk}" for pk in freed]
    if not causes:
        return 0
    # Read as the base QuerySet for its typed update(): AuditedQuerySet.update
    # (clinic_crm.audit.tracking) is not annotated; it also returns the row count.
    offers: QuerySet[Task] = Task.objects.filter(
        kind=Task.Kind.SLOT_OFFER, state__in=Task.OPEN_STATES, cause_key__in=causes
    )
    return offers.update(
        state=Task.State.DONE,
        outcome=_("Booked: the slot is taken."),
        closed_at=timezone.now(),
    )


@transaction.atomic
def slot_offers_expire(*, now: datetime | None = None) -> int:
    """Offers of freed slots whose time has come are closed as expired: nobody can be
    booked into the past."""
    now = now or timezone.now()
    offers = {
        int(key.removeprefix(SLOT_CAUSE)): key
        for key in Task.objects.filter(
            kind=Task.Kind.SLOT_OFFER,
            state__in=Task.OPEN_STATES,
            cause_key__startswith=SLOT_CAUSE,
        ).values_list("cause_key", flat=True)
        if key.removeprefix(SLOT_CAUSE).isdigit()
    }
    if not offers:
        return 0
    past = Visit.objects.filter(pk__in=offers, starts_at__lte=now).values_list("pk", flat=True)
    # The base QuerySet's typed update(), as in slot_offers_taken.
    expired: QuerySet[Task] = Task.objects.filter(
        kind=Task.Kind.SLOT_OFFER,
        state__in=Task.OPEN_STATES,
        cause_key__in=[offers[pk] for pk in past],
    )
    return expired.update(
        state=Task.State.CANCELLED,
        outcome=_("Expired: the slot's time has passed."),
        closed_at=now,
    )
