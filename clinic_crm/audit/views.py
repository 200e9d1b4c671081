from django.core.paginator import InvalidPage, Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from clinic_crm.staff.access import role_required
from clinic_crm.staff.roles import Role

from .forms import AuditFilterForm
from .selectors import audit_events, audit_rows
from .services import audit_list_read


@role_required(Role.MANAGER)
def audit_list_view(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    filters = {}
    if form.is_valid():
        data = form.cleaned_data
        filters = {
            "actor_id": data["actor"].pk if data["actor"] else None,
            "action": data["action"],
            "object_type": data["object_type"],
            "patient_id": data["patient_id"],
            "date_from": data["date_from"],
            "date_to": data["date_to"],
        }
    try:
        page = Paginator(audit_events(**filters), 50).page(request.GET.get("page") or 1)
    except (InvalidPage, OverflowError) as exc:  # not a number, or past the last page
        raise Http404 from exc
    rows = audit_rows(list(page))
    patient_ids = [row.event.patient_id for row in rows if row.patient]
    if patient_ids:  # the page names these patients
        audit_list_read(request=request, page="audit log", patient_ids=patient_ids)
    query = request.GET.copy()
    query.pop("page", None)
    template = "audit/audit_list_rows.html" if request.htmx else "audit/audit_list.html"
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "query": query.urlencode(),
        "zone": timezone.get_current_timezone_name(),
    }
    return render(request, template, context)
