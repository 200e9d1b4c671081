"""The slot finder: every free slot of a range of days by day and doctor, and each
doctor's next available one, for the patient, stage or handoff passed along from the
routing queue; a slot opens the booking form (``journeys.views.visits``)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from clinic_crm.audit.models import AuditAction
from clinic_crm.audit.services import audit_record
from clinic_crm.staff.access import role_required
from journeys import selectors_scheduling as selectors
from journeys import selectors_slots as slot_selectors
from journeys.forms_slots import SlotSearchForm
from journeys.models import Handoff, Stage
from journeys.views.scheduling import (
    MAX_ID,
    WRITE_ROLES,
    bookable_patients,
    pick_branch,
    vary_on_htmx,
)


def _booking_for(request: HttpRequest, params) -> dict:
    """Patient, stage and handoff passed along from the routing queue (ids checked: the
    patient must be one the user may see, the stage and handoff the patient's)."""
    found: dict = {"params": {}}
    patient_id = params.get("patient", "")
    if not patient_id.isdigit() or int(patient_id) > MAX_ID:
        return found
    patient = (
        bookable_patients(request).filter(pk=int(patient_id), merged_into__isnull=True).first()
    )
    if patient is None:
        return found
    found["patient"] = patient
    found["params"]["patient"] = patient.pk
    stage_id, handoff_id = params.get("stage", ""), params.get("handoff", "")
    if stage_id.isdigit() and int(stage_id) <= MAX_ID:
        stage = (
            Stage.objects.filter(pk=int(stage_id), option__plan__patient=patient)
            .select_related("specialty", "service")
            .first()
        )
        if stage is not None:
            found["stage"] = stage
            found["params"]["stage"] = stage.pk
    if handoff_id.isdigit() and int(handoff_id) <= MAX_ID:
        handoff = (
            Handoff.objects.filter(pk=int(handoff_id), patient=patient)
            .select_related("to_specialty")
            .first()
        )
        if handoff is not None:
            found["handoff"] = handoff
            found["params"]["handoff"] = handoff.pk
    return found


@require_GET
@role_required(*WRITE_ROLES)
def slot_search_view(request: HttpRequest) -> HttpResponse:
    """The slot finder: every free slot of a range of days (two weeks by default), by day
    and doctor, and each doctor's next available one; a slot opens the booking form."""
    branch, branches = pick_branch(request)
    today = selectors.local_now(branch).date()
    params = request.GET.copy()
    params.setdefault("branch", str(branch.pk))
    params.setdefault("date", today.isoformat())
    # Coming from the routing queue: who is being booked, and for which stage or handoff.
    booking_for = _booking_for(request, params)
    if booking_for.get("patient") is not None:
        audit_record(
            action=AuditAction.READ,
            request=request,
            obj=booking_for["patient"],
            details={"page": "slot search"},
        )
    if booking_for.get("stage") and not params.get("service"):
        stage = booking_for["stage"]
        if stage.service_id:
            params["service"] = str(stage.service_id)
        params.setdefault("specialty", str(stage.specialty_id))
    # Until a service is chosen the form is only a prefilled form, not a wrong one.
    form = (
        SlotSearchForm(params, branches=branches, today=today)
        if params.get("service")
        else SlotSearchForm(initial=params.dict(), branches=branches, today=today)
    )
    found = None
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        first_day, last_day = form.days()
        starts_from, starts_before = form.day_part()
        found = slot_selectors.slot_search(
            branch=data["branch"],
            service=data["service"],
            first_day=first_day,
            last_day=last_day,
            doctor=data["doctor"],
            specialty=data["specialty"],
            starts_from=starts_from,
            starts_before=starts_before,
        )
    context = {
        "form": form,
        "found": found,
        "searched": found is not None,
        "branches": branches,
        "booking_for": booking_for,
        **(_slot_rows(form, found, booking_for["params"]) if found is not None else {}),
    }
    template = "journeys/scheduling_slots.html"
    if request.htmx and request.htmx.target == "slot-results":
        template = "journeys/scheduling_slots_results.html"
    return vary_on_htmx(render(request, template, context))


def _slot_rows(form: SlotSearchForm, found, booking_params: dict) -> dict:
    """The found slots as the template prints them: labels and booking URLs made here,
    once per slot, in the branch's time zone (a month of a specialty is thousands of
    buttons; in a template loop each URL and time format costs many times more)."""
    data = form.cleaned_data
    zone = data["branch"].zone
    book_url = (
        reverse("journeys:visit_book")
        + "?"
        + urlencode({"branch": data["branch"].pk, "service": data["service"].pk, **booking_params})
        + "&"
    )

    def button(slot) -> dict:
        local = timezone.localtime(slot.starts_at, zone)
        label = local.strftime("%H:%M")
        query = urlencode(
            {"doctor": slot.doctor.pk, "date": local.date().isoformat(), "time": label}
        )
        return {"slot": slot, "local": local, "label": label, "url": book_url + query}

    days = [
        {
            "day": day.day,
            "count": day.count,
            "working": day.working,
            "doctors": [
                {"doctor": row.doctor, "slots": [button(s) for s in row.slots]}
                for row in day.doctors
            ],
        }
        for day in found.days
    ]
    next_available = [
        {"doctor": n.doctor, "slot": button(n.slot) if n.slot else None}
        for n in found.next_available
    ]
    return {"days": days, "next_available": next_available, "zone": zone}
