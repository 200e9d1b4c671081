"""Booking, moving and cancelling visits; arrival, no-show and the other status steps.
(Free slots are read by ``journeys.selectors_slots``.)

Rules every write here keeps:

- A visit lies inside one block of the doctor's working hours at that branch, on a day
  without a schedule exception, and not in the past. Hours are wall-clock times in the
  branch's time zone.
- No doctor is double-booked. The friendly check below names the clashing visit, and the
  PostgreSQL exclusion constraint ``visit_doctor_no_overlap`` settles the race when two
  bookings pass the check at the same moment; its violation becomes the same message.
- A status change is a conditional UPDATE on the status the caller saw, so of two clicks
  at once exactly one wins.
- Every write appends a journey event and an audit event in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, cast
from zoneinfo import ZoneInfo

from django.db import IntegrityError, OperationalError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic_crm import limits
from clinic_crm.audit.models import AuditAction
from clinic_crm.audit.services import audit_record
from clinic_crm.catalogue.models import Branch, Service
from clinic_crm.signals import counted_change
from clinic_crm.staff.roles import Role
from journeys.errors import JourneyError
from journeys.models import (
    Handoff,
    JourneyEvent,
    ScheduleException,
    Stage,
    Task,
    TreatmentPlan,
    Visit,
    Weekday,
    WorkingHours,
)
from journeys.services.events import after_journey_change, journey_event_record
from journeys.services.messages import visit_messages_sync
from journeys.services.waitlist import freed_slot_offer, slot_offers_taken
from journeys.services.worklist import task_open_once
from journeys.texts_builtin import TaskText, moment

if TYPE_CHECKING:
    from clinic_crm.staff.models import User
    from patients.models import Patient

OVERLAP_CONSTRAINT = "visit_doctor_no_overlap"
DEADLOCK_DETECTED = "40P01"
SAVE_ATTEMPTS = 3
S = Visit.Status

# Allowed status steps. Cancelling goes through ``visit_cancel`` (it needs a reason and
# frees the stage and handoff); completing is done by the plans module, which enforces the
# next-step rule and then calls ``visit_transition``.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.SCHEDULED: frozenset(
        {S.CONFIRMED, S.ARRIVED, S.NO_SHOW, S.CANCELLED_BY_PATIENT, S.CANCELLED_BY_CLINIC}
    ),
    S.CONFIRMED: frozenset({S.ARRIVED, S.NO_SHOW, S.CANCELLED_BY_PATIENT, S.CANCELLED_BY_CLINIC}),
    S.ARRIVED: frozenset({S.IN_PROGRESS, S.COMPLETED}),
    S.IN_PROGRESS: frozenset({S.COMPLETED}),
}


# --- small helpers ----------------------------------------------------------------------


def branch_zone(branch: Branch) -> ZoneInfo:
    return branch.zone


def local_datetime(branch: Branch, day: date, at: time) -> datetime:
    """A wall-clock time at the branch as an aware datetime."""
    return datetime.combine(day, at, tzinfo=branch_zone(branch))


def _doctor_name(doctor: User) -> str:
    return str(doctor)


def _hm(moment: datetime, zone: ZoneInfo) -> str:
    return timezone.localtime(moment, zone).strftime("%H:%M")


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


def _actor_or_none(actor: User | None) -> User | None:
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


def _plan_of(stage: Stage | None, handoff: Handoff | None) -> TreatmentPlan | None:
    if stage is not None:
        return stage.option.plan
    if handoff is not None:
        return handoff.plan
    return None


def _after_visit_change(visit: Visit) -> None:
    """Called inside the transaction of every booking, move and status change: the
    visit's reminders are planned, re-planned or suppressed in this same transaction, and
    the worklist rules for the patient run again once it commits (a booked visit closes a
    "stalled journey" task)."""
    visit_messages_sync(visit=visit)
    after_journey_change(patient_id=visit.patient_id)
    counted_change.send(sender=Visit, patient_id=visit.patient_id)


def _overlap_message(conflict: Visit, doctor: User, zone: ZoneInfo) -> str:
    return _("Dr %(doctor)s already has a visit %(start)s–%(end)s.") % {
        "doctor": _doctor_name(doctor),
        "start": _hm(conflict.starts_at, zone),
        "end": _hm(conflict.ends_at, zone),
    }


def _doctor_conflict(
    *, doctor: User, starts_at: datetime, ends_at: datetime, exclude_id: int | None = None
) -> Visit | None:
    visits = Visit.objects.filter(
        doctor=doctor, starts_at__lt=ends_at, ends_at__gt=starts_at
    ).exclude(status__in=Visit.CANCELLED)
    if exclude_id is not None:
        visits = visits.exclude(pk=exclude_id)
    return visits.order_by("starts_at").first()


def _check_slot(
    *,
    doctor: User,
    branch: Branch,
    patient: Patient,
    starts_at: datetime,
    ends_at: datetime,
    exclude_id: int | None = None,
) -> None:
    """Refuses a time that is in the past, outside the doctor's hours, on a day off, or
    taken by another visit of the doctor or the patient."""
    if timezone.is_naive(starts_at):
        raise JourneyError(_("The visit time must include a time zone."))
    zone = branch_zone(branch)
    name = _doctor_name(doctor)
    if not doctor.is_active or not doctor.has_role(Role.DOCTOR):
        raise JourneyError(
            _("%(name)s is not a doctor; visits are booked with doctors.") % {"name": name}
        )
    if starts_at < timezone.now():
        raise JourneyError(
            _("%(time)s has already passed; choose a time in the future.")
            % {"time": timezone.localtime(starts_at, zone).strftime("%d.%m.%Y %H:%M")}
        )

    local_start = timezone.localtime(starts_at, zone)
    local_end = timezone.localtime(ends_at, zone)
    day = local_start.date()
    hours = list(
        WorkingHours.objects.filter(doctor=doctor, branch=branch, weekday=day.weekday()).order_by(
            "starts"
        )
    )
    fits = local_end.date() == day and any(
        block.starts <= local_start.time() and local_end.time() <= block.ends for block in hours
    )
    if not fits:
        weekday = Weekday(day.weekday()).label
        if not hours:
            raise JourneyError(
                _("Dr %(doctor)s does not work at %(branch)s on %(weekday)s.")
                % {"doctor": name, "branch": branch, "weekday": weekday}
            )
        raise JourneyError(
            _(
                "%(start)s–%(end)s is outside the working hours of Dr %(doctor)s at "
                "%(branch)s on %(weekday)s: %(hours)s."
            )
            % {
                "start": local_start.strftime("%H:%M"),
                "end": local_end.strftime("%H:%M"),
                "doctor": name,
                "branch": branch,
                "weekday": weekday,
                "hours": ", ".join(f"{b.starts:%H:%M}–{b.ends:%H:%M}" for b in hours),
            }
        )

    exception = ScheduleException.objects.filter(
        doctor=doctor, starts_on__lte=day, ends_on__gte=day
    ).first()
    if exception is not None:
        raise JourneyError(
            _("Dr %(doctor)s is not working on %(date)s: %(reason)s.")
            % {
                "doctor": name,
                "date": day.strftime("%d.%m"),
                "reason": exception.get_kind_display().lower(),
            }
        )

    conflict = _doctor_conflict(
        doctor=doctor, starts_at=starts_at, ends_at=ends_at, exclude_id=exclude_id
    )
    if conflict is not None:
        raise JourneyError(_overlap_message(conflict, doctor, zone))

    patient_visits = Visit.objects.filter(
        patient=patient, starts_at__lt=ends_at, ends_at__gt=starts_at
    ).exclude(status__in=Visit.CANCELLED)
    if exclude_id is not None:
        patient_visits = patient_visits.exclude(pk=exclude_id)
    clash = patient_visits.select_related("doctor").first()
    if clash is not None:
        raise JourneyError(
            _("%(patient)s already has a visit %(start)s–%(end)s with Dr %(doctor)s.")
            % {
                "patient": patient,
                "start": _hm(clash.starts_at, zone),
                "end": _hm(clash.ends_at, zone),
                "doctor": _doctor_name(clash.doctor),
            }
        )


def _is_overlap_violation(error: IntegrityError) -> bool:
    diag = getattr(error.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None) == OVERLAP_CONSTRAINT


def _is_deadlock(error: OperationalError) -> bool:
    return getattr(error.__cause__, "pgcode", None) == DEADLOCK_DETECTED


def _save_refusing_overlap(visit: Visit, *, save: Callable[[], None]) -> None:
    """Runs ``save`` in a savepoint; a lost race on the exclusion constraint becomes the
    same message as the friendly check (the winner has committed by then, so it can be
    named).

    Two rows inserted at the same instant can also make PostgreSQL report a deadlock
    instead: each checks the constraint against the other's uncommitted row and waits for
    it. One of them is aborted at once; its savepoint is rolled back and the save tried
    again, which then waits for the winner and meets the constraint like any late booking.
    """
    for _attempt in range(SAVE_ATTEMPTS):
        try:
            with transaction.atomic():
                save()
            return
        except OperationalError as exc:
            if not _is_deadlock(exc):
                raise
            lost_race: Exception = exc
        except IntegrityError as exc:
            if not _is_overlap_violation(exc):
                raise
            lost_race = exc
            break
    conflict = _doctor_conflict(
        doctor=visit.doctor,
        starts_at=visit.starts_at,
        ends_at=visit.ends_at,
        exclude_id=visit.pk,
    )
    if conflict is None:
        raise JourneyError(
            _("Dr %(doctor)s was booked for that time a moment ago; choose another time.")
            % {"doctor": _doctor_name(visit.doctor)}
        ) from lost_race
    raise JourneyError(
        _overlap_message(conflict, visit.doctor, branch_zone(visit.branch))
    ) from lost_race


def _visit_data(visit: Visit) -> dict[str, str | int]:
    """What the timeline needs to show a visit; times at the branch, with their offset."""
    zone = branch_zone(visit.branch)
    return {
        "starts_at": timezone.localtime(visit.starts_at, zone).isoformat(),
        "ends_at": timezone.localtime(visit.ends_at, zone).isoformat(),
        "doctor_id": visit.doctor_id,
        "branch_id": visit.branch_id,
        "service_id": visit.service_id,
    }


def _summary(visit: Visit) -> str:
    local = timezone.localtime(visit.starts_at, branch_zone(visit.branch))
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
    _check_slot(doctor=doctor, branch=branch, patient=patient, starts_at=starts_at, ends_at=ends_at)
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
        booked_by=_actor_or_none(actor),
    )
    _save_refusing_overlap(visit, save=visit.save)
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
        actor=_actor_or_none(actor),
        obj=visit,
        details=_visit_data(visit),
    )
    _after_visit_change(visit)
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
    _check_slot(
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
    _save_refusing_overlap(
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
        actor=_actor_or_none(actor),
        obj=current,
        details={"moved": {"old": old, "new": new}},
    )
    _after_visit_change(current)
    _copy_into(visit, current)
    return visit


def _copy_into(target: Visit, source: Visit) -> None:
    """Keeps the caller's instance in step with the row."""
    target.doctor = source.doctor
    for field in ("starts_at", "ends_at", "status", "updated_at"):
        setattr(target, field, getattr(source, field))


# --- status steps -----------------------------------------------------------------------


def _check_allowed(from_status: str, to_status: str) -> None:
    if to_status not in TRANSITIONS.get(from_status, frozenset()):
        raise JourneyError(
            _("A visit that is %(from)s can't become %(to)s.")
            % {"from": S(from_status).label.lower(), "to": S(to_status).label.lower()}
        )


def _transition(
    visit: Visit,
    to_status: str,
    actor: User | None,
    *,
    extra: dict[str, object] | None = None,
    event_data: dict[str, Any] | None = None,
) -> Visit:
    """Moves ``visit`` from the status the caller saw to ``to_status``.

    The UPDATE is conditional on that status, so when two people click at once, or the
    row changed since the page was drawn, only one change lands and the other gets a
    message. ``event_data`` goes into the journey event as well. Must run inside a
    transaction.
    """
    from_status = visit.status
    _check_allowed(from_status, to_status)
    now = timezone.now()
    fields = {"status": to_status, "updated_at": now, **(extra or {})}
    if to_status == S.COMPLETED:
        fields["completed_at"] = now
    changed = Visit.objects.filter(pk=visit.pk, status=from_status).update(**fields)
    if not changed:
        latest = Visit.objects.filter(pk=visit.pk).values_list("status", flat=True).first()
        raise JourneyError(
            _("Someone changed this visit a moment ago: it is now %(status)s. Reload and check.")
            % {"status": S(latest).label.lower() if latest else _("deleted")}
        )
    for name, value in fields.items():
        setattr(visit, name, value)
    data = {"from": from_status, "to": to_status, **(event_data or {})}
    if extra and extra.get("cancel_reason"):
        data["reason"] = extra["cancel_reason"]
    journey_event_record(
        patient_id=visit.patient_id,
        kind=JourneyEvent.Kind.VISIT_STATUS,
        actor=actor,
        visit=visit,
        # The label is a lazy translation; the TextField stores it as this same str.
        summary=str(S(to_status).label),
        data=data,
    )
    audit_record(
        action=AuditAction.UPDATE, actor=_actor_or_none(actor), obj=visit, details={"status": data}
    )
    _after_visit_change(visit)
    return visit


def _visit_local_day(visit: Visit) -> date:
    return timezone.localtime(visit.starts_at, branch_zone(visit.branch)).date()


@transaction.atomic
def visit_transition(*, actor: User | None, visit: Visit, to_status: str) -> Visit:
    """One status step from the transition table, checked against the clock: arrival and
    start only on the visit's day, no-show only once the start time has passed.

    Cancelling goes through :func:`visit_cancel` (it needs a reason)."""
    if to_status in Visit.CANCELLED:
        raise JourneyError(_("Cancel a visit with a reason."))
    _check_allowed(visit.status, to_status)
    now = timezone.now()
    if to_status in (S.ARRIVED, S.IN_PROGRESS):
        today = timezone.localtime(now, branch_zone(visit.branch)).date()
        visit_day = _visit_local_day(visit)
        if visit_day != today:
            raise JourneyError(
                _("The visit is on %(date)s; arrival can be marked only on that day.")
                % {"date": visit_day.strftime("%d.%m.%Y")}
            )
    if to_status == S.NO_SHOW and visit.starts_at > now:
        raise JourneyError(
            _("The visit starts at %(time)s; a no-show can be marked only after that.")
            % {"time": _hm(visit.starts_at, branch_zone(visit.branch))}
        )
    # What a no-show gives back (the stage to book, the handoff open), so that undoing
    # it (journeys.services.visit_undo) puts back exactly what was there.
    before = {"before": _covered_state(visit)} if to_status == S.NO_SHOW else None
    visit = _transition(visit, to_status, actor, event_data=before)
    if to_status in (S.ARRIVED, S.IN_PROGRESS) and visit.stage_id is not None:
        _stage_start(actor=actor, visit=visit)
    if to_status == S.NO_SHOW:
        _back_to_booking(visit)
        _rebook_task(visit, cause="noshow", title_key=TaskText.REBOOK_NO_SHOW, risk=80)
    return visit


def _covered_state(visit: Visit) -> dict[str, dict[str, Any]]:
    """The state of the stage and the handoff that ``visit`` holds booked, as
    :func:`_back_to_booking` is about to find them."""
    state: dict[str, dict[str, Any]] = {}
    if visit.stage_id is not None:
        stage = Stage.objects.filter(pk=visit.stage_id).values(
            "status", "window_start", "window_end"
        )[0]
        state["stage"] = {
            "id": visit.stage_id,
            "status": stage["status"],
            "window_start": stage["window_start"] and stage["window_start"].isoformat(),
            "window_end": stage["window_end"] and stage["window_end"].isoformat(),
        }
    if visit.handoff_id is not None:
        handoff_state = Handoff.objects.filter(pk=visit.handoff_id).values_list("state", flat=True)
        state["handoff"] = {"id": visit.handoff_id, "state": handoff_state[0]}
    return state


def _back_to_booking(visit: Visit) -> None:
    """The visit won't happen (no-show, cancellation): its stage is to be booked again —
    due from the missed day at the latest, so the routing queue puts it first — and its
    handoff open again, unless another open visit still covers them."""
    still_booked = Visit.objects.filter(status__in=Visit.OPEN).exclude(pk=visit.pk)
    if visit.stage_id is not None and not still_booked.filter(stage_id=visit.stage_id).exists():
        day = _visit_local_day(visit)
        stage = Stage.objects.select_for_update().get(pk=visit.stage_id)
        if stage.status == Stage.Status.BOOKED:
            stage.status = Stage.Status.PLANNED
            if stage.window_start is None or stage.window_start > day:
                stage.window_start = day
            if stage.window_end is not None and stage.window_end < stage.window_start:
                stage.window_end = stage.window_start
            stage.save(update_fields=["status", "window_start", "window_end"])
    if (
        visit.handoff_id is not None
        and not still_booked.filter(handoff_id=visit.handoff_id).exists()
    ):
        # Read as the base QuerySet for its typed update(): AuditedQuerySet.update
        # (clinic_crm.audit.tracking) is not annotated; it also returns the row count.
        booked: QuerySet[Handoff] = Handoff.objects.filter(
            pk=visit.handoff_id, state=Handoff.State.BOOKED
        )
        booked.update(state=Handoff.State.OPEN)


def _rebook_task(visit: Visit, *, cause: str, title_key: str, risk: int) -> Task:
    """One task for the plan's curator (the branch's front desk without a plan) to call
    the patient and book again; its title names the missed visit's time."""
    task: Task = task_open_once(
        visit=visit,
        kind=Task.Kind.REBOOK,
        cause=cause,
        title_key=title_key,
        title_params={"when": moment(visit.starts_at)},
        # stage_id is set, so the visit has its stage (a foreign key to an existing row).
        details=cast(Stage, visit.stage).title if visit.stage_id else visit.service.name,
        risk=risk,
    )
    return task


def _stage_start(*, actor: User | None, visit: Visit) -> None:
    """The patient came for a booked stage: the stage is under way from now on, and the
    journey says so once (arrival and start of the same visit don't repeat it)."""
    # Called only for a visit with a stage (visit_transition checks stage_id first).
    stage_id = cast(int, visit.stage_id)
    started = Stage.objects.filter(pk=stage_id, status=Stage.Status.BOOKED).update(
        status=Stage.Status.IN_PROGRESS
    )
    if not started:
        return
    stage = Stage.objects.select_related("option__plan").get(pk=stage_id)
    journey_event_record(
        patient_id=visit.patient_id,
        kind=JourneyEvent.Kind.STAGE_STARTED,
        actor=actor,
        plan=stage.option.plan,
        visit=visit,
        stage=stage,
        summary=stage.title,
    )


def visit_confirm(*, actor: User | None, visit: Visit) -> Visit:
    return visit_transition(actor=actor, visit=visit, to_status=S.CONFIRMED)


def visit_mark_arrived(*, actor: User | None, visit: Visit) -> Visit:
    return visit_transition(actor=actor, visit=visit, to_status=S.ARRIVED)


def visit_start(*, actor: User | None, visit: Visit) -> Visit:
    return visit_transition(actor=actor, visit=visit, to_status=S.IN_PROGRESS)


def visit_mark_no_show(*, actor: User | None, visit: Visit) -> Visit:
    return visit_transition(actor=actor, visit=visit, to_status=S.NO_SHOW)


@transaction.atomic
def visit_cancel(
    *, actor: User | None, visit: Visit, by_patient: bool, reason: str, rebook: bool = True
) -> Visit:
    """Cancels an upcoming visit. The slot is free at once (the exclusion constraint
    ignores cancelled visits); a booked stage goes back to "planned" (due from the
    cancelled day) and a booked handoff back to "open" unless another upcoming visit
    still covers them, and the curator gets a task to rebook a stage's or a handoff's
    visit (``rebook=False`` when the caller opens its own task)."""
    reason = (reason or "").strip()
    if not reason:
        raise JourneyError(_("Say why the visit is cancelled."))
    # cancel_reason is a CharField declared with a max_length.
    if len(reason) > cast(int, Visit._meta.get_field("cancel_reason").max_length):
        raise JourneyError(_("The reason is too long; keep it under 300 characters."))
    problem = limits.text_problem(reason, limit=limits.SHORT)
    if problem:
        raise JourneyError(problem)
    if visit.status not in Visit.UPCOMING:
        raise JourneyError(
            _("Only scheduled or confirmed visits can be cancelled; this one is %(status)s.")
            % {"status": S(visit.status).label.lower()}
        )
    to_status = S.CANCELLED_BY_PATIENT if by_patient else S.CANCELLED_BY_CLINIC
    _transition(visit, to_status, actor, extra={"cancel_reason": reason})
    _back_to_booking(visit)
    if rebook and (visit.stage_id is not None or visit.handoff_id is not None):
        _rebook_task(
            visit,
            cause="cancelled",
            title_key=TaskText.REBOOK_CANCELLED,
            risk=60,
        )
    # The freed slot goes first to a patient whose stage of that specialty is overdue.
    visit.refresh_from_db()
    freed_slot_offer(visit=visit)
    return visit


@transaction.atomic
def visit_reschedule_request(*, visit: Visit, note: str = "") -> Task:
    """The patient can't come at this time and asks for another: the visit is cancelled
    (the slot goes to the waitlist at once) and a booking request is opened for the
    plan's curator, or for the front desk when there is no plan."""
    visit_cancel(
        actor=None,
        visit=visit,
        by_patient=True,
        reason=(note or "")[:200] or _("The patient asked to reschedule"),
        rebook=False,  # the booking request below is the task
    )
    task: Task = task_open_once(
        visit=visit,
        kind=Task.Kind.BOOKING_REQUEST,
        cause="reschedule",
        title_key=TaskText.BOOKING_REQUEST,
        title_params={"when": moment(visit.starts_at)},
        details=note,
        risk=60,
    )
    return task
