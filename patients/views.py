from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from clinic_crm.audit.models import AuditAction
from clinic_crm.audit.services import audit_record
from clinic_crm.staff.access import role_required
from clinic_crm.staff.roles import Role

from . import selectors
from .models import Patient

ALL_STAFF = tuple(Role.values)


@role_required(*ALL_STAFF)
def patient_list_view(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    page = Paginator(selectors.patient_search(query=query), 50).get_page(request.GET.get("page"))
    template = "patients/patient_list_rows.html" if request.htmx else "patients/patient_list.html"
    return render(request, template, {"page": page, "q": query})


@role_required(*ALL_STAFF)
def patient_detail_view(request: HttpRequest, patient_id: int) -> HttpResponse:
    try:
        patient = selectors.patient_detail(patient_id=patient_id)
    except Patient.DoesNotExist as exc:
        raise Http404 from exc
    audit_record(action=AuditAction.READ, request=request, obj=patient)
    return render(request, "patients/patient_detail.html", {"patient": patient})
