"""Visit checklists: the fragment shown in the calendar's visit panel and on the doctor's
completion page (loaded lazily over HTMX, each tick swapping only its own row), and the
managers' completion rates page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from clinic_crm.audit.models import AuditAction
from clinic_crm.audit.services import audit_record
from clinic_crm.staff.access import role_required
from clinic_crm.staff.roles import Role
from journeys import access
from journeys.errors import JourneyError
from journeys.forms_checklists import ChecklistRatesFilterForm
from journeys.models import ChecklistItem, ChecklistTemplate, Visit
from journeys.selectors_checklists import (
    ChecklistLine,
    VisitChecklist,
    checklist_completion_rates,
    visit_checklists,
)
from journeys.services.checklists import checklist_item_toggle

READ_ROLES = (Role.ADMINISTRATOR, Role.DOCTOR, Role.MANAGER)
TICK_ROLES = (Role.ADMINISTRATOR, Role.DOCTOR)
Audience = ChecklistTemplate.Audience


def _visit_or_404(request: HttpRequest, visit_id: int) -> Visit:
    """The visit, if its patient is one the user may see (the access rule); else 404."""
    visit = access.visit_or_404(request.user, visit_id, Visit.objects.select_related("branch"))
    if request.method == "GET":
        audit_record(
            action=AuditAction.READ, request=request, obj=visit, details={"page": "checklists"}
        )
    return visit


def _editable(request: HttpRequest, visit: Visit, template: ChecklistTemplate) -> bool:
    """Whether to offer this user live checkboxes (the service decides for real)."""
    if visit.status in Visit.CANCELLED:
        return False
    if template.audience == Audience.ADMINISTRATOR:
        return access.can_change_visit(request.user, visit)
    return request.user.has_role(Role.DOCTOR) and visit.doctor_id == request.user.pk


def _audience(request: HttpRequest) -> str | None:
    wanted = request.GET.get("audience", "")
    return wanted if wanted in Audience.values else None


@require_GET
@role_required(*READ_ROLES)
def visit_checklists_view(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit = _visit_or_404(request, visit_id)
    checklists = visit_checklists(visit=visit, audience=_audience(request))
    return render(
        request,
        "journeys/checklist_visit_lists.html",
        {
            "visit": visit,
            "rows": [
                {"checklist": c, "editable": _editable(request, visit, c.template)}
                for c in checklists
            ],
            "closed": visit.status in Visit.CANCELLED,
        },
    )


@require_POST
@role_required(*TICK_ROLES)
def checklist_item_toggle_view(request: HttpRequest, visit_id: int, item_id: int) -> HttpResponse:
    """Ticks or unticks one item and answers with that item's row and, out of band, the
    checklist's "done of total" counter."""
    visit = _visit_or_404(request, visit_id)
    item = get_object_or_404(ChecklistItem.objects.select_related("template"), pk=item_id)
    error = ""
    try:
        checklist_item_toggle(
            actor=request.user, visit=visit, item=item, done=request.POST.get("done") == "1"
        )
    except JourneyError as exc:
        error = str(exc)
    visit.refresh_from_db(fields=["status"])
    checklist, line = _current_line(visit, item)
    in_use = line is not None
    if not in_use:  # the checklist is not (or no longer) used for this visit
        checklist = VisitChecklist(template=item.template)
        line = ChecklistLine(item=item, completion=None)
    return render(
        request,
        "journeys/checklist_visit_toggled.html",
        {
            "visit": visit,
            "checklist": checklist,
            "line": line,
            "editable": in_use and _editable(request, visit, item.template),
            "error": error,
        },
    )


def _current_line(
    visit: Visit, item: ChecklistItem
) -> tuple[VisitChecklist | None, ChecklistLine | None]:
    """The item's checklist on this visit and the item's line in it, as stored now."""
    for checklist in visit_checklists(visit=visit, audience=item.template.audience):
        if checklist.template.pk == item.template_id:
            for line in checklist.lines:
                if line.item.pk == item.pk:
                    return checklist, line
    return None, None


@require_GET
@role_required(Role.MANAGER)
def checklist_rates_view(request: HttpRequest) -> HttpResponse:
    form = ChecklistRatesFilterForm.from_query(request.GET)
    rates = []
    if form.is_valid():
        data = form.cleaned_data
        rates = checklist_completion_rates(
            date_from=data["date_from"],
            date_to=data["date_to"],
            branch_id=data["branch"].pk if data["branch"] else None,
        )
    template = "journeys/checklist_rates.html"
    if request.htmx and request.htmx.target == "checklist-rates":
        template = "journeys/checklist_rates_table.html"
    response = render(request, template, {"form": form, "rates": rates})
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response
