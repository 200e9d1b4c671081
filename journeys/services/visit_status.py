"""A visit's status steps: confirmed, arrived, in progress, no-show, cancelled (by the
patient or the clinic), and a patient's request for another time. Completing is done by
``journeys.services.visit_completion``, which enforces the next-step rule and then calls
``visit_transition``. A status change is a conditional UPDATE on the status the caller
saw, so of two clicks at once exactly one wins; each appends a journey event and an audit
event in the same transaction."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any, cast

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic_crm import limits
from clinic_crm.audit.models import AuditAction
from clinic_crm.audit.services import audit_record
from journeys.errors import JourneyError
from journeys.models import (
    Handoff,
    JourneyEvent,
    Stage,
    Task,
    Visit,
)
from journeys.services.events import journey_event_record
from journeys.services.waitlist import freed_slot_offer
from journeys.services.worklist import task_open_once
from journeys.texts_builtin import TaskText, moment

if TYPE_CHECKING:
    from clinic_crm.staff.models import User
from .availability import (
    hour_minute,
)
from .visits import actor_or_none, visit_changed

S = Visit.Status

# Allowed status steps. Cancelling goes through ``visit_cancel`` (it needs a reason and
# frees the stage and handoff); completing is done by visit_completion, which enforces the
# next-step rule and then calls ``visit_transition``.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.SCHEDULED: frozenset(
        {S.CONFIRMED, S.ARRIVED, S.NO_SHOW, S.CANCELLED_BY_PATIENT, S.CANCELLED_BY_CLINIC}
    ),
    S.CONFIRMED: frozenset({S.ARRIVED, S.NO_SHOW, S.CANCELLED_BY_PATIENT, S.CANCELLED_BY_CLINIC}),
    S.ARRIVED: frozenset({S.IN_PROGRESS, S.COMPLETED}),
    S.IN_PROGRESS: frozenset({S.COMPLETED}),
}


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
        action=AuditAction.UPDATE, actor=actor_or_none(actor), obj=visit, details={"status": data}
    )
    visit_changed(visit)
    return visit


def _visit_local_day(visit: Visit) -> date:
    return timezone.localtime(visit.starts_at, visit.branch.zone).date()


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
        today = timezone.localtime(now, visit.branch.zone).date()
        visit_day = _visit_local_day(visit)
        if visit_day != today:
            raise JourneyError(
                _("The visit is on %(date)s; arrival can be marked only on that day.")
                % {"date": visit_day.strftime("%d.%m.%Y")}
            )
    if to_status == S.NO_SHOW and visit.starts_at > now:
        raise JourneyError(
            _("The visit starts at %(time)s; a no-show can be marked only after that.")
            % {"time": hour_minute(visit.starts_at, visit.branch.zone)}
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
