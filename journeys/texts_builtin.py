"""The renderers of journeys' own task titles and event summaries (see journeys.texts).

Writers store a key and parameters; these functions write them in the active language.
Times are stored as ISO strings with their offset (``moment``) and shown as staff read
dates elsewhere: in the clinic's zone, with the year only when it is not this year.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from clinic_crm.staff.templatetags.when import when
from journeys import texts
from journeys.models import Handoff, JourneyEvent, Task, Visit


class TaskText:
    """The title keys journeys' writers store (``Task.title_key``)."""

    STALLED_JOURNEY = "stalled_journey"
    HANDOFF_NOT_BOOKED = "handoff_not_booked"
    RECALL_PLAN = "recall_plan"
    RECALL_VISIT = "recall_visit"
    SLOT_OFFER = "slot_offer"
    REBOOK_NO_SHOW = "rebook_no_show"
    REBOOK_CANCELLED = "rebook_cancelled"
    BOOKING_REQUEST = "booking_request"
    FEELS_UNWELL = "feels_unwell"


def moment(value: datetime) -> str:
    """A time as a task's or event's parameter: ISO 8601 with its offset."""
    return value.isoformat()


def _when(value: str) -> str:
    return when(datetime.fromisoformat(value))


def _day(value: str) -> str:
    return when(date.fromisoformat(value))


# --- task titles --------------------------------------------------------------------------


def _stalled(p: Mapping[str, Any]) -> str:
    days = int(p["days"])
    return ngettext(
        "Stopped before “%(stage)s”, %(days)s day overdue",
        "Stopped before “%(stage)s”, %(days)s days overdue",
        days,
    ) % {"stage": p["stage"], "days": days}


TASK_TITLES = {
    TaskText.STALLED_JOURNEY: _stalled,
    TaskText.HANDOFF_NOT_BOOKED: lambda p: (
        _("Book the %(specialty)s visit (handoff)") % {"specialty": p["specialty"]}
    ),
    TaskText.RECALL_PLAN: lambda p: (
        _("Invite for the check-up after “%(plan)s”") % {"plan": p["plan"]}
    ),
    TaskText.RECALL_VISIT: lambda p: (
        _("Invite for the check-up after “%(service)s”") % {"service": p["service"]}
    ),
    TaskText.SLOT_OFFER: lambda p: (
        _("Offer the freed slot %(when)s with %(doctor)s")
        % {"when": _when(p["when"]), "doctor": p["doctor"]}
    ),
    TaskText.REBOOK_NO_SHOW: lambda p: (
        _("No-show on %(when)s: call and rebook") % {"when": _when(p["when"])}
    ),
    TaskText.REBOOK_CANCELLED: lambda p: (
        _("Cancelled visit of %(when)s: rebook the stage") % {"when": _when(p["when"])}
    ),
    TaskText.BOOKING_REQUEST: lambda p: (
        _("Rebook: the patient asked to move the visit of %(when)s") % {"when": _when(p["when"])}
    ),
    TaskText.FEELS_UNWELL: lambda p: (
        _("Call the patient: feels unwell after the visit of %(when)s") % {"when": _when(p["when"])}
    ),
}


# --- journey events -----------------------------------------------------------------------


def _with_text(label: str, text: str) -> str:
    return f"{label}: {text}" if text else label


def _visit_status(event) -> str | None:
    to = event.data.get("to")
    if to not in Visit.Status.values:
        return None
    undo = event.data.get("undo")
    if isinstance(undo, dict) and undo.get("status") in Visit.Status.values:
        # An undo's "to" is the status the visit went back to; the reader wants what was
        # taken back.
        return _("Undone: %(status)s") % {"status": Visit.Status(undo["status"]).label}
    return _with_text(str(Visit.Status(to).label), event.data.get("reason", ""))


def _visit_moved(event) -> str | None:
    old, new = event.data.get("old") or {}, event.data.get("new") or {}
    if not old.get("starts_at") or not new.get("starts_at"):
        return None
    return f"{_when(old['starts_at'])} → {_when(new['starts_at'])}"


def _plan_completed(event) -> str | None:
    due = event.data.get("recall_due_on")
    if not due:
        return None
    return _("Check-up due on %(date)s") % {"date": _day(due)}


def _check_up_planned(event) -> str | None:
    # The summary of these events is the service's name (data, not words of the writer).
    due = event.data.get("recall_due_on")
    if not due:
        return None
    return _("%(service)s: check-up due on %(date)s") % {
        "service": event.summary,
        "date": _day(due),
    }


def _handoff_created(event) -> str | None:
    specialty, due = event.data.get("to_specialty"), event.data.get("due_date")
    if not specialty or not due:
        return None
    where = _("To %(specialty)s, book by %(date)s") % {"specialty": specialty, "date": _day(due)}
    return _with_text(where, event.summary)


def _handoff_updated(event) -> str | None:
    state = event.data.get("state")
    if state not in Handoff.State.values:
        return None
    return _with_text(str(Handoff.State(state).label), event.summary)


def _follow_up(event) -> str | None:
    answer = event.data.get("follow_up")
    if answer not in ("well", "unwell"):
        return None
    label = (
        _("Feels well after the visit") if answer == "well" else _("Feels unwell after the visit")
    )
    return _with_text(label, event.data.get("comment", ""))


def _task_event(event) -> str | None:
    data = event.data
    action = data.get("action")
    if action == "closed":
        text = _("Closed: %(outcome)s") % {"outcome": data.get("outcome", "")}
    elif action == "attempt":
        text = _with_text(_("Call attempt, nobody reached"), data.get("note", ""))
    elif action == "taken":
        text = _("Taken into work")
    elif action == "assigned":
        text = _("Handed over to %(name)s") % {"name": data.get("assignee_name", "")}
    else:
        return None
    kind = data.get("task_kind")
    if kind in Task.Kind.values:
        return f"{Task.Kind(kind).label} — {text}"
    return text


EVENT_TEXTS = {
    JourneyEvent.Kind.VISIT_STATUS: _visit_status,
    JourneyEvent.Kind.VISIT_MOVED: _visit_moved,
    JourneyEvent.Kind.PLAN_COMPLETED: _plan_completed,
    JourneyEvent.Kind.CHECK_UP_PLANNED: _check_up_planned,
    JourneyEvent.Kind.HANDOFF_CREATED: _handoff_created,
    JourneyEvent.Kind.HANDOFF_UPDATED: _handoff_updated,
    JourneyEvent.Kind.FEEDBACK: _follow_up,
    JourneyEvent.Kind.TASK: _task_event,
}


def register() -> None:
    for key, renderer in TASK_TITLES.items():
        texts.task_title_register(key, renderer)
    for kind, renderer in EVENT_TEXTS.items():
        texts.event_text_register(kind, renderer)
