"""The free slots the visit completion form offers for the next visit (an HTMX fragment
of ``visit_complete``): the chosen doctor's free times in the next stage's expected window
first, and the first free times of the other doctors of the stage's specialty. Picking
one fills the form's date, time and doctor (``static/js/app.js``, ``data-fill``)."""

from __future__ import annotations

import json

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from clinic_crm.audit.models import AuditAction
from clinic_crm.audit.services import audit_record
from clinic_crm.staff.access import role_required
from clinic_crm.staff.roles import Role
from journeys import access, selectors_slots
from journeys import selectors_scheduling as scheduling_selectors
from journeys.forms import staff_with_role
from journeys.models import Stage, Visit
from journeys.services.visit_completion import active_plan

MAX_ID = 2**63 - 1


def _pick(queryset, value):
    """The row of ``queryset`` whose id the query string names, or None."""
    value = str(value or "")
    if not value.isdigit() or int(value) > MAX_ID:
        return None
    return queryset.filter(pk=int(value)).first()


def _next_stage(visit: Visit, wanted) -> Stage | None:
    """The stage chosen in the form, else the plan's next planned stage after this visit's
    — the one the booking will be for."""
    plan = visit.stage.option.plan if visit.stage_id else active_plan(patient_id=visit.patient_id)
    if plan is None or not plan.chosen_option_id:
        return None
    # The visit's own stage is done once it is completed (as ``visit_complete`` does).
    stages = (
        Stage.objects.filter(option_id=plan.chosen_option_id, status=Stage.Status.PLANNED)
        .exclude(pk=visit.stage_id)
        .select_related("specialty")
    )
    return _pick(stages, wanted) or stages.order_by("position").first()


def _button(slot) -> dict:
    """What one offered slot prints and fills in. The form's date-and-time field reads
    wall-clock time in the current time zone, as the page shows times."""
    local = timezone.localtime(slot.starts_at)
    when = local.strftime("%d.%m.%Y %H:%M")
    return {
        "label": local.strftime("%H:%M"),
        "local": local,
        "fill": json.dumps(
            {"next_starts_at": local.strftime("%Y-%m-%dT%H:%M"), "next_doctor": str(slot.doctor.pk)}
        ),
        "chosen": _("Chosen: %(when)s, %(doctor)s") % {"when": when, "doctor": slot.doctor},
    }


@require_GET
@role_required(Role.DOCTOR)
def visit_complete_slots_view(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit = access.visit_or_404(
        request.user,
        visit_id,
        Visit.objects.select_related(
            "patient", "doctor", "service__specialty", "branch", "stage__option__plan"
        ),
    )
    if not access.can_complete_visit(request.user, visit):
        raise PermissionDenied(_("Only the visit's own doctor completes it."))
    audit_record(
        action=AuditAction.READ,
        request=request,
        obj=visit,
        details={"page": "visit completion slots"},
    )
    doctor = _pick(staff_with_role(Role.DOCTOR), request.GET.get("next_doctor")) or visit.doctor
    service = (
        _pick(scheduling_selectors.services_bookable(), request.GET.get("next_service"))
        or visit.service
    )
    stage = _next_stage(visit, request.GET.get("next_stage"))
    specialty = stage.specialty if stage is not None else service.specialty
    offers = selectors_slots.slot_offers(
        branch=visit.branch,
        service=service,
        doctor=doctor,
        specialty=specialty,
        window_start=stage.window_start if stage else None,
        window_end=stage.window_end if stage else None,
        today=timezone.localdate(),
    )
    context = {
        "visit": visit,
        "offers": offers,
        "stage": stage,
        "specialty": specialty,
        "service": service,
        "days": [
            {
                "day": day.day,
                "in_window": day.in_window,
                "slots": [_button(s) for s in day.slots],
            }
            for day in offers.days
        ],
        "colleagues": [
            {"doctor": row.doctor, "slots": [_button(s) for s in row.slots]}
            for row in offers.colleagues
        ],
    }
    return render(request, "journeys/visit_complete_slots.html", context)
