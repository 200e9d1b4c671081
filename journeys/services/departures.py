"""When a staff member leaves: their open tasks go back to their branch.

The core's staff services send ``staff_deactivated`` inside the transaction that
deactivates a member; ``register()`` (from ``JourneysConfig.ready``) connects the
receiver. A curator's open tasks must not stay with someone who no longer logs in:
each becomes an unassigned task of its branch again (curators there take it), with a
journey event saying why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from clinic_crm.staff.signals import staff_deactivated
from journeys import texts
from journeys.models import JourneyEvent, Task
from journeys.services.events import journey_event_record

if TYPE_CHECKING:
    from clinic_crm.staff.models import User


@transaction.atomic
def tasks_release_of_deactivated(*, actor: User, user: User) -> int:
    """Unassigns ``user``'s open tasks; returns how many."""
    tasks: list[Task] = list(
        Task.objects.select_for_update(of=("self",))
        .select_related("plan", "handoff")
        .filter(assignee_id=user.pk, state__in=Task.OPEN_STATES)
        .order_by("pk")
    )
    if not tasks:
        return 0
    # Task's manager is an AuditedQuerySet, neither generic nor annotated
    # (clinic_crm/audit/tracking.py); its update() keeps QuerySet.update's contract.
    released: QuerySet[Task] = Task.objects.filter(pk__in=[task.pk for task in tasks])
    released.update(assignee=None)
    for task in tasks:
        journey_event_record(
            patient_id=task.patient_id,
            kind=JourneyEvent.Kind.TASK,
            actor=actor,
            plan=task.plan,
            handoff=task.handoff,
            data={
                "task": task.pk,
                "task_kind": task.kind,
                "action": "released",
                "reason": "assignee_deactivated",
                "previous": user.pk,
                "previous_name": str(user),
            },
        )
    return len(tasks)


def journeys_tasks_released(sender: type[User], *, user: User, actor: User, **kwargs: Any) -> int:
    return tasks_release_of_deactivated(actor=actor, user=user)


def released_text(event: texts._Event) -> str | None:
    """The timeline's words for a task given back on a deactivation (journeys.texts)."""
    if event.data.get("action") != "released":
        return None
    text = _("Back to the branch's unassigned tasks: %(name)s was deactivated") % {
        "name": event.data.get("previous_name", "")
    }
    kind = event.data.get("task_kind")
    if kind in Task.Kind.values:
        return f"{Task.Kind(kind).label} — {text}"
    return text


def register() -> None:
    staff_deactivated.connect(journeys_tasks_released, dispatch_uid="journeys_tasks_released")
    texts.event_text_register(JourneyEvent.Kind.TASK, released_text)
