"""Undoing a status step marked by mistake: arrival, start or a no-show, for a short time.

Contract of :func:`visit_status_undo`:

- Who: the front desk of the visit's branch (``journeys.access.can_change_visit``), the
  role that marks these steps. Not only the person who clicked: the desk is shared, and
  the colleague beside them who sees the patient standing there must be able to put it
  right before the reminders and the rebook call go wrong. The journey records who undid
  what, so nothing is anonymous.
- What: the visit's latest status step not yet undone, when it is arrival, start or a
  no-show and the visit is still in the status it set. Steps are undone one at a time,
  newest first (start, then arrival). A completed or cancelled visit is never undone here.
- When: within ``VISIT_STATUS_UNDO_MINUTES`` of the step (default 10).
- Effect, in one transaction: the visit's previous status, and whatever the step did is
  reversed — arrival's or start's stage start (back to "booked"); a no-show's stage back
  to "booked" with its window as it was, its handoff back to "booked", its rebook task
  closed with an outcome; the reminders the step stopped are pending again and the
  outbox is synced. An undo event on the journey says what was undone and by whom; the
  event table is append-only, so the step's own event stays as it was.
- Refused with a message (and nothing written) after the window, for another role, when
  the visit changed meanwhile (the caller names the step it saw), or when the patient has
  been booked again for the stage or handoff since the no-show.
- Concurrency: the visit row is locked first, as the status steps lock it, so two undos,
  or an undo and a new step, run one after the other and the second sees the first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic_crm.audit.models import AuditAction
from clinic_crm.audit.services import audit_record
from clinic_crm.messaging.models import SuppressReason
from journeys import access
from journeys.errors import JourneyError
from journeys.models import Handoff, JourneyEvent, Stage, Task, Visit
from journeys.services.events import journey_event_record
from journeys.services.messages import visit_messages_unsuppress
from journeys.services.visits import _locked, visit_changed
from journeys.services.worklist import task_close

if TYPE_CHECKING:
    from clinic_crm.staff.models import User

S = Visit.Status
UNDOABLE = (S.ARRIVED, S.IN_PROGRESS, S.NO_SHOW)
_EVENT_KINDS = (JourneyEvent.Kind.VISIT_STATUS, JourneyEvent.Kind.STAGE_STARTED)


def undo_window() -> timedelta:
    return timedelta(minutes=int(settings.VISIT_STATUS_UNDO_MINUTES))


@dataclass(frozen=True)
class UndoOffer:
    """A status step of a visit that can still be undone."""

    step_id: int  # the journey event of the step
    status: str  # what the step set (the visit's status now)
    back_to: str  # the status the visit had before it
    marked_at: datetime
    marked_by_id: int | None
    until: datetime
    started_stage: bool = False  # the step also started the visit's stage
    # a no-show's stage and handoff as they were (from the step's event data)
    before: dict[str, Any] = field(default_factory=dict)

    def minutes_left(self, now: datetime | None = None) -> int:
        """Whole minutes left, rounded up (a button that says "0 min" is no use)."""
        seconds = (self.until - (now or timezone.now())).total_seconds()
        return max(int(-(-seconds // 60)), 0)


def _status_steps(visit: Visit) -> list[JourneyEvent]:
    """The visit's status events and stage starts, oldest first: a handful of rows."""
    return list(
        JourneyEvent.objects.filter(visit_id=visit.pk, kind__in=_EVENT_KINDS)
        .order_by("id")
        .only("id", "kind", "at", "data", "actor_id")
    )


def _last_step(events: list[JourneyEvent]) -> tuple[JourneyEvent | None, bool]:
    """The latest status step not undone yet (an undo is never itself undone), and
    whether the step started the stage (a stage start recorded before the next status
    event)."""
    statuses = [e for e in events if e.kind == JourneyEvent.Kind.VISIT_STATUS]
    undone = {e.data["undo"].get("event") for e in statuses if isinstance(e.data.get("undo"), dict)}
    step = next(
        (e for e in reversed(statuses) if "undo" not in e.data and e.pk not in undone), None
    )
    if step is None:
        return None, False
    started = False
    for event in events:
        if event.pk <= step.pk:
            continue
        if event.kind == JourneyEvent.Kind.VISIT_STATUS:
            break
        started = True  # a stage start in the step's own transaction
    return step, started


def _offer_from(visit: Visit, events: list[JourneyEvent]) -> UndoOffer | None:
    step, started = _last_step(events)
    if step is None:
        return None
    to, back = step.data.get("to"), step.data.get("from")
    if to not in UNDOABLE or to != visit.status or back not in S.values:
        return None
    return UndoOffer(
        step_id=step.pk,
        status=to,
        back_to=back,
        marked_at=step.at,
        marked_by_id=step.actor_id,
        until=step.at + undo_window(),
        started_stage=started,
        before=step.data.get("before") or {},
    )


def visit_undo_offer(*, user: User, visit: Visit, now: datetime | None = None) -> UndoOffer | None:
    """What ``user`` may undo on ``visit`` right now (the panel's "Undo" button), or
    None. One query, and none for a visit whose status can't be undone."""
    if visit.status not in UNDOABLE or not access.can_change_visit(user, visit):
        return None
    offer = _offer_from(visit, _status_steps(visit))
    if offer is None or offer.until <= (now or timezone.now()):
        return None
    return offer


# --- the undo -----------------------------------------------------------------------------


def _refusal(visit: Visit, offer: UndoOffer | None, step_id: int | None, now: datetime) -> str:
    """Why the step the caller saw can't be undone, or ""."""
    if visit.status == S.COMPLETED:
        return _("The visit is completed; a completed visit can't be undone.")
    if offer is None:
        return _(
            "There is nothing to undo on this visit: only arrival, start and a no-show can "
            "be undone, within %(minutes)s minutes."
        ) % {"minutes": settings.VISIT_STATUS_UNDO_MINUTES}
    if step_id is not None and step_id != offer.step_id:
        return _(
            "Someone changed this visit a moment ago: it is now %(status)s. Reload and check."
        ) % {"status": visit.get_status_display().lower()}
    if offer.until <= now:
        zone = visit.branch.zone
        return _(
            "“%(status)s” was marked at %(time)s; it could be undone only until %(until)s."
        ) % {
            "status": S(offer.status).label,
            "time": timezone.localtime(offer.marked_at, zone).strftime("%H:%M"),
            "until": timezone.localtime(offer.until, zone).strftime("%H:%M"),
        }
    return ""


def _other_open_visits(visit: Visit) -> QuerySet[Visit]:
    return Visit.objects.filter(status__in=Visit.OPEN).exclude(pk=visit.pk)


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _stage_unstart(visit: Visit) -> dict[str, int | str] | None:
    """Arrival (or start) began the stage: it is booked again, unless another visit of
    the stage has the patient in the chair."""
    # Called only for a visit with a stage (visit_status_undo checks stage_id first).
    stage_id = cast(int, visit.stage_id)
    attended = Visit.objects.filter(stage_id=stage_id, status__in=Visit.ATTENDED).exclude(
        pk=visit.pk
    )
    if attended.exists():
        return None
    changed = Stage.objects.filter(pk=stage_id, status=Stage.Status.IN_PROGRESS).update(
        status=Stage.Status.BOOKED
    )
    return {"id": stage_id, "status": Stage.Status.BOOKED} if changed else None


def _stage_changed(stage: Stage) -> JourneyError:
    return JourneyError(
        _(
            "Since the no-show, stage “%(stage)s” has been booked again or changed, so the "
            "no-show stays. If the patient did come, cancel the new visit first."
        )
        % {"stage": stage.title}
    )


def _handoff_changed(handoff: Handoff) -> JourneyError:
    return JourneyError(
        _(
            "Since the no-show, the handoff to %(specialty)s has been booked again or "
            "changed, so the no-show stays. If the patient did come, cancel the new visit "
            "first."
        )
        % {"specialty": handoff.to_specialty}
    )


def _stage_rebook(visit: Visit, before: dict[str, Any] | None) -> dict[str, int | str] | None:
    """A no-show put the stage back to booking: it is booked by this visit again, with
    the window it had. Refused when another visit has been booked for it since.
    ``before`` is None for a no-show recorded before its events kept the stage's state:
    then only a stage still waiting to be booked is taken back."""
    if before is not None and before.get("status") != Stage.Status.BOOKED:
        return None  # the no-show found the stage not booked and left it so
    # Called only for a visit with a stage (visit_status_undo checks stage_id first).
    stage = Stage.objects.select_for_update().get(pk=cast(int, visit.stage_id))
    if _other_open_visits(visit).filter(stage_id=stage.pk).exists():
        raise _stage_changed(stage)
    if stage.status != Stage.Status.PLANNED:
        if before is None:
            return None
        raise _stage_changed(stage)
    stage.status = Stage.Status.BOOKED
    fields = ["status"]
    if before:
        stage.window_start = _day(before.get("window_start"))
        stage.window_end = _day(before.get("window_end"))
        fields += ["window_start", "window_end"]
    stage.save(update_fields=fields)
    return {"id": stage.pk, "status": stage.status}


def _handoff_rebook(visit: Visit, before: dict[str, Any] | None) -> dict[str, int | str] | None:
    """A no-show reopened the handoff: it is booked by this visit again (refused, as for
    the stage, when it has been booked since)."""
    if before is not None and before.get("state") != Handoff.State.BOOKED:
        return None
    handoff: Handoff = (
        Handoff.objects.select_for_update(of=("self",))
        .select_related("to_specialty")
        .get(pk=visit.handoff_id)
    )
    if _other_open_visits(visit).filter(handoff_id=handoff.pk).exists():
        raise _handoff_changed(handoff)
    if handoff.state != Handoff.State.OPEN:
        if before is None:
            return None
        raise _handoff_changed(handoff)
    handoff.state = Handoff.State.BOOKED
    handoff.save(update_fields=["state"])
    return {"id": handoff.pk, "state": handoff.state}


def _rebook_task_close(actor: User, visit: Visit) -> int | None:
    task: Task | None = Task.objects.filter(
        cause_key=f"noshow:{visit.pk}", state__in=Task.OPEN_STATES
    ).first()
    if task is None:
        return None  # already worked and closed by a curator: their outcome stands
    task_close(
        actor=actor,
        task=task,
        outcome=_("The no-show was undone by %(who)s: the visit stands.") % {"who": actor},
    )
    return task.pk


@transaction.atomic
def visit_status_undo(*, actor: User, visit: Visit, step_id: int | None = None) -> Visit:
    """Undoes the visit's latest status step (arrival, start or no-show) and all it did.

    ``step_id`` is the journey event of the step the caller saw (the panel's button
    sends it): when the visit changed since, nothing is undone and the message says so.
    See the module's docstring for who, when and what.
    """
    current = _locked(visit)
    if not access.can_change_visit(actor, current):
        raise JourneyError(_("Only the front desk of the visit's branch can undo its status."))
    now = timezone.now()
    offer = _offer_from(current, _status_steps(current))
    problem = _refusal(current, offer, step_id, now)
    if problem or offer is None:
        raise JourneyError(problem)

    restored: dict[str, object] = {}
    if offer.started_stage and current.stage_id is not None:
        restored["stage"] = _stage_unstart(current)
    if offer.status == S.NO_SHOW:
        if current.stage_id is not None:
            restored["stage"] = _stage_rebook(current, offer.before.get("stage"))
        if current.handoff_id is not None:
            restored["handoff"] = _handoff_rebook(current, offer.before.get("handoff"))
        restored["task"] = _rebook_task_close(actor, current)

    changed = Visit.objects.filter(pk=current.pk, status=offer.status).update(
        status=offer.back_to, updated_at=now
    )
    if not changed:  # the row is locked: only a bug gets here
        raise JourneyError(_("The visit could not be changed; reload and try again."))
    current.status = offer.back_to
    current.updated_at = now
    if offer.back_to in Visit.UPCOMING:
        # The reminders the step stopped are due again (visit_messages_sync keeps those of
        # the visit's time and tells the dispatcher about them).
        restored["messages"] = visit_messages_unsuppress(
            visit=current, reason=SuppressReason.VISIT_OVER, since=offer.marked_at
        )

    data = {
        "from": offer.status,
        "to": offer.back_to,
        "undo": {
            "event": offer.step_id,
            "status": offer.status,
            "by": offer.marked_by_id,
            "at": offer.marked_at.isoformat(),
        },
        **{key: value for key, value in restored.items() if value},
    }
    journey_event_record(
        patient_id=current.patient_id,
        kind=JourneyEvent.Kind.VISIT_STATUS,
        actor=actor,
        visit=current,
        stage=current.stage,
        handoff=current.handoff,
        summary=_("Undone: %(status)s") % {"status": S(offer.status).label},
        data=data,
    )
    audit_record(action=AuditAction.UPDATE, actor=actor, obj=current, details={"status": data})
    visit_changed(current)
    visit.status, visit.updated_at = current.status, current.updated_at
    return visit
