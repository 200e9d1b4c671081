"""The patient's own treatment calendar, opened from a signed link (no account)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from clinic_crm.audit.models import AuditAction
from clinic_crm.audit.services import audit_record
from clinic_crm.staff.access import public
from journeys import selectors
from journeys.models import TreatmentPlan
from journeys.patient_links import LinkExpired, LinkInvalid, calendar_patient_id
from patients.models import Patient


def _link_problem(request: HttpRequest, status: int, message: str) -> HttpResponse:
    return render(
        request, "journeys/patient_calendar_problem.html", {"message": message}, status=status
    )


@public
@never_cache
def patient_calendar_view(request: HttpRequest, token: str) -> HttpResponse:
    try:
        patient_id = calendar_patient_id(token)
    except LinkExpired:
        return _link_problem(
            request, 410, _("This link has expired. Ask the clinic for a new one.")
        )
    except LinkInvalid:
        return _link_problem(request, 404, _("This link is not valid."))
    patient = Patient.objects.filter(pk=patient_id).first()
    if patient is None or getattr(patient, "merged_into_id", None):
        return _link_problem(request, 404, _("This link is not valid."))
    language = getattr(patient, "preferred_language", "") or "ru"
    with translation.override(language):
        timeline = selectors.patient_timeline(patient=patient, kinds=["__none__"])
        plans = [
            p
            for p in timeline.plans
            if p.plan.status in (*TreatmentPlan.ACTIVE_STATUSES, TreatmentPlan.Status.COMPLETED)
        ]
        next_visit = timeline.upcoming_visits[0] if timeline.upcoming_visits else None
        audit_record(
            action=AuditAction.READ,
            request=request,
            obj=patient,
            details={"via": "patient_calendar_link"},
        )
        response = render(
            request,
            "journeys/patient_calendar.html",
            {
                "patient": patient,
                "plans": plans,
                "next_visit": next_visit,
                "upcoming": timeline.upcoming_visits[:5],
                "today": timezone.localdate(),
                "LANGUAGE_CODE": language,
            },
        )
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response
