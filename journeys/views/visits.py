"""The calendar's visit panel and its steps over HTMX: book, move (with a look at old →
new first), cancel, and confirm / arrival / start / no-show.

Every write answers with the visit panel (or the form with its error) for the modal, and
an ``HX-Trigger: visits-changed`` header that makes the calendar grid and the slot list
on the page fetch themselves again.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinic_crm.audit.models import AuditAction
from clinic_crm.audit.services import audit_list_read, audit_record
from clinic_crm.catalogue.models import Branch
from clinic_crm.staff.access import role_required
from journeys import access
from journeys import selectors_scheduling as selectors
from journeys import selectors_slots as slot_selectors
from journeys.errors import JourneyError
from journeys.forms_scheduling import (
    BookingForm,
    CancelForm,
    MoveForm,
    StatusForm,
    end_preview,
)
from journeys.models import Visit
from journeys.services.visit_status import visit_cancel, visit_transition
from journeys.services.visit_undo import visit_undo_offer
from journeys.services.visits import visit_book, visit_move
from journeys.services.waitlist import slot_candidates
from journeys.views.scheduling import (
    MAX_ID,
    READ_ROLES,
    WRITE_ROLES,
    bookable_patients,
    can_write,
    partial,
    safe_date,
)
from patients.selectors import patient_search

PATIENT_OPTIONS = 8


class _DryRun(Exception):
    """Rolls back a move that was only tried."""


STATUS_ACTIONS = {
    "confirm": Visit.Status.CONFIRMED,
    "arrive": Visit.Status.ARRIVED,
    "start": Visit.Status.IN_PROGRESS,
    "no_show": Visit.Status.NO_SHOW,
}
STATUS_NOTICE = {
    Visit.Status.CONFIRMED: gettext_lazy("The visit is confirmed."),
    Visit.Status.ARRIVED: gettext_lazy("Arrival is marked."),
    Visit.Status.IN_PROGRESS: gettext_lazy("The visit is in progress."),
    Visit.Status.NO_SHOW: gettext_lazy("The visit is marked as a no-show."),
}


def visit_or_404(request: HttpRequest, visit_id: int, *, change: bool = False) -> Visit:
    """The visit, with what the panel shows, if its patient is one the user may see
    (else 404); with ``change``, also one the user may book and change at its branch
    (else 403)."""
    visit = access.visit_or_404(request.user, visit_id, selectors.visits_for_panel())
    if change and not access.can_change_visit(request.user, visit):
        raise PermissionDenied(_("Visits of this branch are booked by its own front desk."))
    if request.method == "GET":  # the panel and the forms name the patient
        audit_record(action=AuditAction.READ, request=request, obj=visit)
    return visit


def _panel_context(request: HttpRequest, visit: Visit, **extra) -> dict:
    zone = visit.branch.zone
    now = timezone.now()
    local_today = timezone.localtime(now, zone).date()
    visit_day = timezone.localtime(visit.starts_at, zone).date()
    upcoming = visit.status in Visit.UPCOMING
    actions = []
    writes = can_write(request.user, visit.branch_id)
    if writes:
        if visit.status == Visit.Status.SCHEDULED:
            actions.append(("confirm", _("Confirm"), "check2-circle", "outline-primary", ""))
        if upcoming and visit_day == local_today:
            early = visit.starts_at - now
            ask = ""
            if early > timedelta(minutes=settings.VISIT_EARLY_ARRIVAL_MINUTES):
                # 00:31 for a 09:00 visit is a slip of the finger, not an arrival
                ask = _("The visit is at %(time)s, %(hours)s h from now. Mark arrival anyway?") % {
                    "time": timezone.localtime(visit.starts_at, zone).strftime("%H:%M"),
                    "hours": f"{early.total_seconds() / 3600:.1f}",
                }
            actions.append(("arrive", _("Mark arrival"), "door-open", "success", ask))
        if visit.status == Visit.Status.ARRIVED:
            actions.append(("start", _("Start the visit"), "play-circle", "outline-success", ""))
        if upcoming and visit.starts_at <= now:
            actions.append(("no_show", _("Mark no-show"), "person-x", "outline-danger", ""))
    offers = []
    if writes and visit.status in Visit.CANCELLED and visit.starts_at > now:
        offers = _freed_slot_offers(visit, zone)
    return {
        "visit": visit,
        "starts": timezone.localtime(visit.starts_at, zone),
        "ends": timezone.localtime(visit.ends_at, zone),
        "actions": actions,
        "offers": offers,
        "can_complete": (
            access.can_complete_visit(request.user, visit)
            and visit.status in (Visit.Status.ARRIVED, Visit.Status.IN_PROGRESS)
        ),
        "can_move": writes and upcoming,
        "can_write": writes,
        "undo": visit_undo_offer(user=request.user, visit=visit, now=now) if writes else None,
        **extra,
    }


def _freed_slot_offers(visit: Visit, zone) -> list[dict]:
    """Who should get this freed slot — overdue stages first — each with a booking link."""
    local = timezone.localtime(visit.starts_at, zone)
    candidates = slot_candidates(
        branch_id=visit.branch_id,
        specialty=visit.service.specialty,
        starts_at=visit.starts_at,
        ends_at=visit.ends_at,
        doctor_id=visit.doctor_id,
        limit=5,
    )
    offers = []
    for candidate in candidates:
        if candidate.patient_id == visit.patient_id:
            continue
        params = {
            "branch": visit.branch_id,
            "doctor": visit.doctor_id,
            "service": visit.service_id,
            "date": local.date().isoformat(),
            "time": local.strftime("%H:%M"),
            "patient": candidate.patient_id,
        }
        if candidate.stage_id:
            params["stage"] = candidate.stage_id
        offers.append(
            {
                "candidate": candidate,
                "url": reverse("journeys:visit_book") + "?" + urlencode(params),
            }
        )
    return offers


def visit_panel(
    request: HttpRequest, visit: Visit, *, notice: str = "", error: str = "", changed: bool = False
) -> HttpResponse:
    """The visit panel as it is now, with a notice or an error from the step just taken."""
    visit = selectors.visits_for_panel().get(pk=visit.pk)
    return partial(
        request,
        "journeys/scheduling_visit_panel.html",
        _panel_context(request, visit, notice=notice, error=error),
        changed=changed,
    )


# --- booking ----------------------------------------------------------------------------


def _selected_patient(request: HttpRequest, form: BookingForm):
    value = form.data.get("patient") if form.is_bound else form.initial.get("patient")
    if not str(value or "").isdigit() or int(value) > MAX_ID:
        return None
    return patient_search(patients=bookable_patients(request)).filter(pk=int(value)).first()


def _booking_form(request: HttpRequest, data=None, *, initial=None) -> BookingForm:
    """The booking form, offering only the branches the user books at and the patients
    they may see."""
    source = data if data is not None else initial
    return BookingForm(
        data,
        initial=initial,
        branch=_branch_from(request, source),
        branches=access.branches_of(request.user),
        patients=bookable_patients(request),
    )


def _booking_form_response(request: HttpRequest, form: BookingForm) -> HttpResponse:
    selected = _selected_patient(request, form)
    if selected is not None:
        audit_record(
            action=AuditAction.READ, request=request, obj=selected, details={"page": "booking"}
        )
    return partial(
        request,
        "journeys/scheduling_book_form.html",
        {
            "form": form,
            "patients": [selected] if selected else [],
            "selected_patient": selected,
            "ends": end_preview(form),
            "zone_branch": _branch_from(request, form.data if form.is_bound else form.initial),
            "patient_q": (form.data if form.is_bound else form.initial).get("patient_q", ""),
        },
    )


def _branch_from(request: HttpRequest, data) -> Branch | None:
    value = str(data.get("branch") or "")
    if not value.isdigit() or int(value) > MAX_ID:
        return None
    return access.branches_of(request.user).filter(pk=int(value)).first()


@require_http_methods(["GET", "POST"])
@role_required(*WRITE_ROLES)
def visit_book_view(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _booking_form_response(request, _booking_form(request, initial=request.GET.dict()))

    form = _booking_form(request, request.POST)
    if form.is_valid() and not access.can_schedule_at(request.user, form.cleaned_data["branch"].pk):
        form.add_error("branch", _("Visits of this branch are booked by its own front desk."))
    if form.is_valid():
        data = form.cleaned_data
        try:
            visit = visit_book(
                actor=request.user,
                patient=data["patient"],
                doctor=data["doctor"],
                branch=data["branch"],
                service=data["service"],
                starts_at=form.starts_at(data["branch"]),
                stage=data["stage"],
                handoff=data["handoff"],
            )
        except JourneyError as exc:
            form.add_error(None, str(exc))
        else:
            return visit_panel(request, visit, notice=_("The visit is booked."), changed=True)
    return _booking_form_response(request, form)


@require_GET
@role_required(*WRITE_ROLES)
def patient_options_view(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("patient_q", "").strip()
    patients = (
        list(patient_search(query=query, patients=bookable_patients(request))[:PATIENT_OPTIONS])
        if len(query) >= 2
        else []
    )
    audit_list_read(
        request=request, page="booking patient search", patient_ids=[p.pk for p in patients]
    )
    return render(
        request,
        "journeys/scheduling_patient_options.html",
        {"patients": patients, "query": query, "selected_patient": None},
    )


# --- the visit panel and its actions -----------------------------------------------------


@require_GET
@role_required(*READ_ROLES)
def visit_detail_partial_view(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit = visit_or_404(request, visit_id)
    return partial(request, "journeys/scheduling_visit_panel.html", _panel_context(request, visit))


@require_POST
@role_required(*WRITE_ROLES)
def visit_status_view(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit = visit_or_404(request, visit_id, change=True)
    form = StatusForm(request.POST)
    if not form.is_valid():
        return visit_panel(request, visit, error=_("Unknown action."))
    to_status = STATUS_ACTIONS[form.cleaned_data["action"]]
    try:
        visit_transition(actor=request.user, visit=visit, to_status=to_status)
    except JourneyError as exc:
        return visit_panel(request, visit, error=str(exc), changed=True)
    return visit_panel(request, visit, notice=STATUS_NOTICE[to_status], changed=True)


def _move_form_response(request: HttpRequest, visit: Visit, form: MoveForm) -> HttpResponse:
    zone = visit.branch.zone
    data = form.data if form.is_bound else form.initial
    day = safe_date(data.get("date")) or timezone.localtime(visit.starts_at, zone).date()
    doctor = next(
        (d for d in form.fields["doctor"].queryset if str(d.pk) == str(data.get("doctor"))),
        visit.doctor,
    )
    slots = slot_selectors.free_slots(
        branch=visit.branch,
        service=visit.service,
        day=day,
        doctor=doctor,
        limit=60,
        ignore_visit_id=visit.pk,
    )
    return partial(
        request,
        "journeys/scheduling_move_form.html",
        {
            "visit": visit,
            "form": form,
            "slots": [
                {"time": timezone.localtime(s.starts_at, zone).strftime("%H:%M"), "slot": s}
                for s in slots
            ],
            "slot_day": day,
            "slot_doctor": doctor,
            "starts": timezone.localtime(visit.starts_at, zone),
        },
    )


@require_http_methods(["GET", "POST"])
@role_required(*WRITE_ROLES)
def visit_move_view(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit = visit_or_404(request, visit_id, change=True)
    if request.method == "GET":
        local = timezone.localtime(visit.starts_at, visit.branch.zone)
        initial = {
            "date": local.date().isoformat(),
            "time": local.strftime("%H:%M"),
            "doctor": visit.doctor_id,
        }
        initial.update({k: v for k, v in request.GET.items() if k in ("date", "doctor")})
        return _move_form_response(request, visit, MoveForm(initial=initial, branch=visit.branch))
    form = MoveForm(request.POST, branch=visit.branch)
    if form.is_valid() and request.POST.get("confirmed") != "1":
        # One look at old → new before anything changes, once the move is known to work:
        # it is tried in a savepoint that is then rolled back.
        try:
            with transaction.atomic():
                visit_move(
                    actor=request.user,
                    visit=visit,
                    starts_at=form.starts_at(visit.branch),
                    doctor=form.cleaned_data["doctor"],
                )
                raise _DryRun
        except _DryRun:
            pass
        except JourneyError as exc:
            form.add_error(None, str(exc))
            return _move_form_response(request, visit, form)
        visit.refresh_from_db()
        zone = visit.branch.zone
        return partial(
            request,
            "journeys/scheduling_move_confirm.html",
            {
                "visit": visit,
                "old_starts": timezone.localtime(visit.starts_at, zone),
                "new_starts": timezone.localtime(form.starts_at(visit.branch), zone),
                "new_doctor": form.cleaned_data["doctor"] or visit.doctor,
                "data": {k: form.data.get(k, "") for k in ("date", "time", "doctor")},
            },
        )
    if form.is_valid():
        try:
            visit_move(
                actor=request.user,
                visit=visit,
                starts_at=form.starts_at(visit.branch),
                doctor=form.cleaned_data["doctor"],
            )
        except JourneyError as exc:
            form.add_error(None, str(exc))
        else:
            return visit_panel(request, visit, notice=_("The visit is moved."), changed=True)
    return _move_form_response(request, visit, form)


@require_http_methods(["GET", "POST"])
@role_required(*WRITE_ROLES)
def visit_cancel_view(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit = visit_or_404(request, visit_id, change=True)
    form = CancelForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            visit_cancel(
                actor=request.user,
                visit=visit,
                by_patient=form.cleaned_data["by"] == CancelForm.BY_PATIENT,
                reason=form.cleaned_data["reason"],
            )
        except JourneyError as exc:
            form.add_error(None, str(exc))
        else:
            return visit_panel(request, visit, notice=_("The visit is cancelled."), changed=True)
    zone = visit.branch.zone
    return partial(
        request,
        "journeys/scheduling_cancel_form.html",
        {"visit": visit, "form": form, "starts": timezone.localtime(visit.starts_at, zone)},
    )
