"""Ticking visit checklists: the administrators' readiness check and the doctors'
communication standard.

Rules:

- A role ticks only the items of its own checklists (the template's audience), and a
  doctor only on visits they conduct.
- The template must be active and apply to the visit's service.
- A cancelled visit's checklists are closed.
- Ticking is idempotent: ticking a ticked item (or unticking an unticked one) changes
  nothing and writes nothing. Every real change is audited on the visit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic_crm.audit.models import AuditAction
from clinic_crm.audit.services import audit_record
from clinic_crm.staff.roles import Role
from journeys import access
from journeys.errors import JourneyError
from journeys.models import ChecklistCompletion, ChecklistItem, ChecklistTemplate, Visit

if TYPE_CHECKING:
    from clinic_crm.staff.models import User


def checklist_applies(*, template: ChecklistTemplate, service_id: int) -> bool:
    """Whether ``template`` is used for visits of this service (no services = all)."""
    service_ids = set(template.services.values_list("pk", flat=True))
    return not service_ids or service_id in service_ids


def _check_may_tick(*, actor: User, visit: Visit, template: ChecklistTemplate) -> None:
    if template.audience == ChecklistTemplate.Audience.ADMINISTRATOR:
        if not actor.has_role(Role.ADMINISTRATOR):
            raise JourneyError(_("Only administrators tick the items of this checklist."))
        if not access.can_schedule_at(actor, visit.branch_id):
            raise JourneyError(_("Only the front desk of the visit's branch ticks this checklist."))
    elif not actor.has_role(Role.DOCTOR):
        raise JourneyError(_("Only doctors tick the items of this checklist."))
    elif visit.doctor_id != actor.pk:
        raise JourneyError(_("Only the doctor who sees the patient ticks this checklist."))


@transaction.atomic
def checklist_item_toggle(
    *, actor: User, visit: Visit, item: ChecklistItem, done: bool
) -> ChecklistCompletion | None:
    """Ticks (``done=True``) or unticks ``item`` for ``visit``; returns the completion
    row when the item ends up ticked, ``None`` when it ends up unticked."""
    template = item.template
    _check_may_tick(actor=actor, visit=visit, template=template)
    if not template.is_active:
        raise JourneyError(_("This checklist is no longer in use."))
    if not checklist_applies(template=template, service_id=visit.service_id):
        raise JourneyError(
            _("The checklist “%(checklist)s” is not used for this service.")
            % {"checklist": template.name}
        )
    # Lock the visit: a tick can't land on a visit being cancelled at the same moment,
    # and two people ticking the same visit take turns (so the check below is sound).
    status = (
        Visit.objects.select_for_update(of=("self",))
        .filter(pk=visit.pk)
        .values_list("status", flat=True)
        .first()
    )
    if status is None:
        raise JourneyError(_("This visit no longer exists."))
    if status in Visit.CANCELLED:
        raise JourneyError(_("The visit is cancelled; its checklists are closed."))

    existing = ChecklistCompletion.objects.filter(visit_id=visit.pk, item=item).first()
    if done == (existing is not None):
        return existing
    if done:
        completion = ChecklistCompletion.objects.create(
            visit_id=visit.pk, item=item, checked_by=actor, checked_at=timezone.now()
        )
    else:
        # Not done and not already unticked (the check above): the row exists.
        cast(ChecklistCompletion, existing).delete()
        completion = None
    audit_record(
        action=AuditAction.UPDATE,
        actor=actor,
        obj=visit,
        details={"checklist": {"template": template.pk, "item": item.pk, "done": done}},
    )
    return completion
